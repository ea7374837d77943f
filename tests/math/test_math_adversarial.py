"""Answers a policy could learn to game the verifier with, and faults of the sympy workers.

Each group is a table of answers against a spread of golds; every pair asserts the
reward a human grader gives. Infinite and undefined values (``1/0``, ``\\infty + 1``)
equal only the same infinity; exact numbers (huge, tiny, next to each other) are never
compared through floats that round them together.
"""

import math
import os
import signal
import textwrap
import threading
import time

import pytest

from twinkle.integrations import verl
from twinkle.math import MathChecker, MathConfig
from twinkle.math import pool as pool_mod
from twinkle.math.pool import WorkerPool, shared_pool
from twinkle.reward.math import GSM8KReward, MathReward

# Answers with no finite value: each must score 0.0 against every finite gold.
UNDEFINED = [
    r'1/0',
    r'\frac{1}{0}',
    r'0^{-1}',
    r'\frac{5}{0}',
    r'-\frac{1}{0}',
    r'\infty',
    r'-\infty',
    r'\infty+1',
    r'2\infty',
    r'\infty^2',
    r'e^{\infty}',
    r'\ln 0',
    r'\log(0)',
    r'\tan(\pi/2)',
    r'\frac{0}{0}',
    r'\infty - \infty',
    r'0 \cdot \infty',
    r'\frac{\infty}{\infty}',
    r'x/0',
    r'\frac{x}{0}',
    r'(1/0, 1/0)',
    r'\sqrt{1/0}',
    r'5 + 1/0',
]
FINITE_GOLDS = [
    '5',
    '0',
    '-3',
    r'\frac{1}{2}',
    '0.25',
    r'\sqrt{2}',
    r'\pi',
    'x=3',
    '2x+1',
    r'e^{2}',
    '10^{20}',
    '(1, 2)',
]

# The routes an answer can take to the checker.
ROUTES = [
    r'So the answer is $\boxed{{{}}}$.',
    'Work...\n#### {}',
    '<think>hm</think><answer>{}</answer>',
    'The answer is {}.',
]


def _completions(answer):
    return [route.format(answer) for route in ROUTES]


@pytest.fixture(scope='module')
def checker():
    return MathChecker(MathConfig(sympy_deadline_s=10.0))


@pytest.mark.parametrize('gold', FINITE_GOLDS)
def test_undefined_answers_never_match_a_finite_gold(checker, gold):
    comps = [c for a in UNDEFINED for c in _completions(a)]
    verdicts = checker.check(comps, [gold] * len(comps))
    wrong = [(c, v.method) for c, v in zip(comps, verdicts) if v.reward == 1.0]
    assert not wrong


@pytest.mark.parametrize(
    'answer,gold,reward',
    [
        # the same infinity, written as a human would accept it
        (r'\infty', r'\infty', 1.0),
        (r'-\infty', r'-\infty', 1.0),
        (r'+\infty', r'\infty', 1.0),
        # a different infinity, none at all, or an infinite expression (an infinite answer
        # is written as the infinity itself)
        (r'\infty+1', r'\infty', 0.0),
        (r'e^{\infty}', r'\infty', 0.0),
        (r'-\infty', r'\infty', 0.0),
        (r'\infty', r'-\infty', 0.0),
        (r'1/0', r'\infty', 0.0),  # complex infinity is not +infinity
        (r'\frac{0}{0}', r'\infty', 0.0),
        ('5', r'\infty', 0.0),
        (r'10^{100}', r'\infty', 0.0),
        (r'(-\infty, 2)', r'(-\infty, 2)', 1.0),
        (r'(-\infty, 2)', r'(-\infty, 3)', 0.0),
        (r'(-\infty, 1/0)', r'(-\infty, 3)', 0.0),
    ],
)
def test_infinity_equals_only_itself(checker, answer, gold, reward):
    (v,) = checker.check([rf'\boxed{{{answer}}}'], [gold])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'answer,gold',
    [
        # huge exact numbers next to each other
        (r'2^{19000}+1', r'2^{19000}'),
        (r'2^{19000}', r'2^{19000}+1'),
        (r'2^{30000}-1', r'2^{30000}'),
        (r'3^{20000}', r'3^{20000}+3'),
        (r'10^{400}+1', r'10^{400}'),
        (r'100!+1', r'100!'),
        # tiny exact numbers next to each other, or next to 0
        (r'\frac{1}{2^{20000}}', r'\frac{1}{2^{20001}}'),
        (r'1/2^{20000}', r'1/2^{20001}'),
        (r'2^{-20000}', r'2^{-20001}'),
        (r'2^{-20001}', '0'),
        (r'10^{-10^{10}}', '0'),
        (r'10^{-400}', '0'),
        (r'e^{-1000}', '0'),
        (r'e^{-10^{6}}', r'e^{-10^{6}-1}'),
        # an irrational value off by an amount no float can see
        (r'\sqrt{10^{400}+1}', r'10^{200}'),
        (r'\pi + 10^{-60}', r'\pi'),
        (r'\pi(1+10^{-60})', r'\pi'),
        (r'\sqrt{2}+10^{-30}', r'\sqrt{2}'),
    ],
)
def test_different_exact_numbers_are_not_equal(checker, answer, gold):
    (v,) = checker.check([rf'\boxed{{{answer}}}'], [gold])
    assert v.reward == 0.0, v


@pytest.mark.parametrize(
    'answer,gold',
    [
        # the same exact numbers, written differently
        (r'2^{19000}', r'4^{9500}'),
        (r'2^{-20000}', r'\frac{1}{2^{20000}}'),
        (r'\frac{2^{20001}}{2}', r'2^{20000}'),
        (r'\sqrt{2}+\sqrt{3}', r'\sqrt{5+2\sqrt{6}}'),
        (r'\sin^2(\pi/7)+\cos^2(\pi/7)', '1'),
        (r'10^{400}', r'100^{200}'),
    ],
)
def test_equal_exact_numbers_stay_equal(checker, answer, gold):
    (v,) = checker.check([rf'\boxed{{{answer}}}'], [gold])
    assert v.reward == 1.0, v


def test_undefined_answers_through_every_reward():
    """MathReward, GSM8KReward and the verl adapter share the guard."""
    golds = ['5', r'\frac{1}{2}', 'x=3']
    answers = [r'1/0', r'0^{-1}', r'\infty+1', r'e^{\infty}']
    for reward in (MathReward(), GSM8KReward()):
        trajs, gts = [], []
        for g in golds:
            for a in answers:
                for c in _completions(a):
                    trajs.append({'messages': [{'role': 'assistant', 'content': c}]})
                    gts.append(g)
        assert max(reward(trajs, gts)) == 0.0
    for g in golds:
        for a in answers:
            for c in _completions(a):
                out = verl.compute_score('math', c, g)
                score = out['score'] if isinstance(out, dict) else out
                assert score == 0.0, (c, g, out)


# --- the gold -----------------------------------------------------------------------


@pytest.mark.parametrize('gold', [math.nan, math.inf, -math.inf, 'nan', 'inf'])
def test_a_non_finite_float_gold_abstains(gold):
    reward = MathReward()
    traj = {'messages': [{'role': 'assistant', 'content': r'\boxed{5}'}]}
    (r,), (v,) = reward([traj], [gold], return_details=True)
    assert math.isnan(r) and v.method == 'unparsable_gold' and 'finite' in v.reason


# --- worker faults --------------------------------------------------------------------

# Needs sympy: too large for the float path, so only a worker decides it.
NEEDS_SYMPY = ([r'\boxed{2^{2^{20}}}'], [r'4^{2^{19}}'])


def _dying_script(tmp_path, delay: float) -> str:
    """A worker that is SIGKILLed while 'importing' (as an OOM kill would do)."""
    path = tmp_path / 'dies_while_starting.py'
    path.write_text(
        textwrap.dedent(f"""
        import os, signal, time
        time.sleep({delay})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    )
    return str(path)


def test_a_worker_killed_while_starting_is_replaced(tmp_path, monkeypatch):
    pool = WorkerPool(num_workers=1, start_timeout=30.0)
    one = ('num', __import__('fractions').Fraction(1), None)
    monkeypatch.setattr(pool_mod, '_SCRIPT', _dying_script(tmp_path, 0.05))
    status, reason = pool.run(one, one, 'expr', deadline=5.0)
    assert status == 'died' and 'while starting' in reason
    assert pool._alive == 0  # the slot is free again
    monkeypatch.undo()
    # The next call starts a healthy worker instead of waiting forever for the slot.
    result = {}
    t = threading.Thread(target=lambda: result.update(r=pool.run(one, one, 'expr', 30.0)))
    t.start()
    t.join(timeout=120)
    assert not t.is_alive(), 'the pool hangs after a worker died while starting'
    assert result['r'] == ('ok', True)
    pool.close()


def test_a_start_failure_is_not_cached(tmp_path, monkeypatch):
    checker = MathChecker(MathConfig(num_workers=3))  # its own shared pool
    monkeypatch.setattr(pool_mod, '_SCRIPT', _dying_script(tmp_path, 0.05))
    shared_pool(3).close()  # no warm worker: the next comparison starts one
    (v,) = checker.check(*NEEDS_SYMPY)
    assert (v.reward, v.method) == (0.0, 'timeout') and 'died while starting' in v.reason
    monkeypatch.undo()
    (v,) = checker.check(*NEEDS_SYMPY)  # decided afresh, not read from the cache
    assert (v.reward, v.method) == (1.0, 'symbolic')


def test_a_worker_killed_between_items_is_replaced():
    checker = MathChecker(MathConfig(num_workers=4, cache_size=0))
    assert checker.score(*NEEDS_SYMPY) == [1.0]
    pool = shared_pool(4)
    os.kill(pool._idle.queue[0].proc.pid, signal.SIGKILL)
    (v,) = checker.check(*NEEDS_SYMPY)
    assert (v.reward, v.method) == (1.0, 'symbolic')


def test_a_worker_killed_mid_item_is_retried_and_not_cached():
    """The item is decided afresh in a new worker; nothing of the fault is cached."""
    checker = MathChecker(MathConfig(num_workers=5, sympy_deadline_s=120.0))
    assert checker.score(*NEEDS_SYMPY) == [1.0]
    pool = shared_pool(5)
    deaths = pool.deaths
    worker = pool._idle.queue[0]
    # (2 * 10^5)! takes sympy seconds: kill the worker once it has taken the item.
    pair = ([r'\boxed{(2 \cdot 10^{5})!}'], [r'(2 \cdot 10^{5})! + 1'])
    out = []
    t = threading.Thread(target=lambda: out.append(checker.check(*pair)[0]))
    t.start()
    while worker in pool._idle.queue and t.is_alive():
        time.sleep(0.01)
    time.sleep(0.2)
    os.kill(worker.proc.pid, signal.SIGKILL)
    t.join(timeout=300)
    assert pool.deaths == deaths + 1
    assert (out[0].reward, out[0].method, out[0].reason) == (0.0, 'symbolic', '')


def test_transient_faults_are_never_cached(monkeypatch):
    import twinkle.math.checker as checker_mod

    class DeadPool:
        def run_timed(self, a, b, mode, deadline):
            return 'died', 'worker died: EOFError', 0.1

    checker = MathChecker()
    monkeypatch.setattr(checker_mod, 'shared_pool', lambda n: DeadPool())
    (v,) = checker.check(*NEEDS_SYMPY)
    assert (v.reward, v.method, v.reason) == (0.0, 'timeout', 'worker died: EOFError')
    monkeypatch.undo()
    (v,) = MathChecker().check(*NEEDS_SYMPY)
    assert (v.reward, v.method) == (1.0, 'symbolic')
    (v,) = checker.check(*NEEDS_SYMPY)
    assert (v.reward, v.method) == (1.0, 'symbolic')


# --- the deadline is per sample --------------------------------------------------------

# Each part takes sympy minutes ((10^7)! has 65 million digits): only the kill ends it.
SLOW = [r'(10^{7})!', r'(10^{7}+1)!', r'(10^{7}+2)!']


def test_the_deadline_bounds_a_whole_sample():
    """A set of three parts, each needing sympy, spends one deadline, not up to nine."""
    checker = MathChecker(MathConfig(sympy_deadline_s=1.0, num_workers=6, cache_size=0))
    pool = shared_pool(6)
    kills = pool.kills
    gold = r'\{' + ', '.join(SLOW) + r'\}'
    pred = r'\{' + ', '.join(s + '+1' for s in SLOW) + r'\}'
    (v,) = checker.check([rf'\boxed{{{pred}}}'], [gold])
    assert (v.reward, v.method, v.reason) == (0.0, 'timeout', 'sympy deadline passed')
    assert pool.kills == kills + 1


def test_a_batch_spends_at_most_one_deadline_per_sample():
    checker = MathChecker(MathConfig(sympy_deadline_s=1.0, num_workers=6, cache_size=0))
    pool = shared_pool(6)
    kills = pool.kills
    comps = [rf'\boxed{{({s}+1, {s}+2)}}' for s in SLOW]
    golds = [f'({s}, {s})' for s in SLOW]
    verdicts = checker.check(comps, golds)
    assert [v.method for v in verdicts] == ['timeout'] * 3
    assert pool.kills == kills + 3
