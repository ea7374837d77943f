"""Bad input, timeouts (the worker kill), and thread safety.

The timeout test uses a genuinely slow input: ``(10^7)!`` has 65 million digits and
sympy computes it eagerly, taking minutes. With a 2 s deadline, the call must return in
a few seconds with reason 'timeout', the worker must be gone, and a new worker must
answer the next question.
"""

import math
import os
import threading
import time

import pytest

from twinkle.math import MathChecker, MathConfig
from twinkle.math.pool import shared_pool
from twinkle.reward.math import MathReward

BAD = [
    # (completion, gold, expected reward, expected method)
    (None, '1', 0.0, 'no_answer'),
    (42, '1', 0.0, 'no_answer'),
    ([{'type': 'image'}], '1', 0.0, 'no_answer'),
    (r'\boxed{1}', None, math.nan, 'unparsable_gold'),
    (r'\boxed{1}', '', math.nan, 'unparsable_gold'),
    (r'\boxed{1}', '   ', math.nan, 'unparsable_gold'),
    (r'\boxed{' + '{' * 1000 + '1' + '}' * 1000 + '}', '1', 0.0, 'unparsable'),
    ('{' * 1000 + r'\boxed{1}' + '}' * 1000, '1', 1.0, 'exact'),
    (r'\boxed{\frac{1}{', '1', 0.0, 'no_answer'),
    (r'\boxed{\frac{1}{2}}}}}', r'\frac12', 1.0, 'structural'),
    (r'\boxed{\sqrt[}', '1', 0.0, 'unparsable'),
    (r'\boxed{10^{10^{10}}}', '5', 0.0, 'numeric'),
    (r'\boxed{\begin{pmatrix}1 & 2}', '1', 0.0, 'unparsable'),
    ('\\boxed{\x00\uffff}', '1', 0.0, 'unparsable'),
]


@pytest.mark.parametrize('completion,gold,reward,method', BAD)
def test_bad_input(completion, gold, reward, method):
    traj = {'messages': [{'role': 'assistant', 'content': completion}]}
    t0 = time.perf_counter()
    rewards, details = MathReward()([traj], [gold], return_details=True)
    assert time.perf_counter() - t0 < 5.0
    if math.isnan(reward):
        assert math.isnan(rewards[0])
    else:
        assert rewards[0] == reward
    assert details[0].method == method


def test_one_megabyte_completion():
    text = 'We add numbers. ' * 65536 + r'So the answer is $\boxed{17}$.'
    t0 = time.perf_counter()
    assert MathReward()([text, text[:-20]], ['17', '17']) == [1.0, 0.0]
    assert time.perf_counter() - t0 < 5.0


def test_huge_power_of_ten_is_decided_or_times_out():
    reward = MathReward(sympy_deadline_s=2.0)
    t0 = time.perf_counter()
    r, d = reward([r'\boxed{10^{10^{10}}}'], [r'10^{10^{10}}+1'], return_details=True)
    assert r == [0.0]
    assert d[0].method in ('timeout', 'symbolic', 'numeric')
    assert time.perf_counter() - t0 < 30.0  # deadline + a worker start


@pytest.mark.parametrize(
    'answer,gold,equal',
    [
        ('(x^{1958} + x^{1957} + 2)^{1959}', '1', False),  # floats overflow at every point
        ('x^{2000}', 'x^{2000} + 1', False),  # floats round the 1 away where they do not overflow
        ('(x + 1)^{2000}', '(1 + x)^{2000}', True),
    ],
)
def test_huge_powers_of_a_variable_are_decided_without_sympy(answer, gold, equal):
    from twinkle.math.grader import compare
    from twinkle.math.latex import parse_answer

    def no_sympy(a, b, mode):
        raise AssertionError('sympy was asked')

    assert compare(parse_answer(gold), parse_answer(answer), MathConfig(), no_sympy)[0] is equal


def test_timeout_kills_the_worker_and_recovers():
    cfg = MathConfig(sympy_deadline_s=2.0, num_workers=1, cache_size=0)
    checker = MathChecker(cfg)
    pool = shared_pool(1)
    # Warm a worker so that start-up time is not part of the measurement.
    assert checker.score([r'\boxed{2^{2^{20}}}'], [r'4^{2^{19}}']) == [1.0]
    kills = pool.kills
    t0 = time.perf_counter()
    v = checker.check([r'\boxed{(10^{7})!}'], [r'(10^{7})! + 1'])[0]
    elapsed = time.perf_counter() - t0
    assert (v.reward, v.method) == (0.0, 'timeout')
    assert elapsed < 2.0 + 10.0, elapsed  # would take minutes without the kill
    assert pool.kills == kills + 1
    with pytest.raises(ProcessLookupError):
        os.kill(pool.last_killed_pid, 0)  # the overrunning worker is gone
    # A fresh worker answers the next symbolic question.
    v2 = checker.check([r'\boxed{2^{2^{20}}}'], [r'4^{2^{19}}'])[0]
    assert (v2.reward, v2.method) == (1.0, 'symbolic')


def test_timeouts_from_a_thread():
    # signal.alarm cannot work off the main thread; the worker kill does.
    out = []
    checker = MathChecker(MathConfig(sympy_deadline_s=1.5, cache_size=0))
    t = threading.Thread(
        target=lambda: out.append(checker.check([r'\boxed{(10^{7})!}'], [r'(10^{7})!+2'])[0])
    )
    t.start()
    t.join(60)
    assert not t.is_alive()
    assert out[0].method == 'timeout'


def test_many_threads_at_once():
    from tests.math.labelled_cases import load_cases

    cases = load_cases()
    comps = [c['completion'] for c in cases]
    golds = [c['gold'] for c in cases]
    expected = MathChecker().score(comps, golds)
    shared = MathReward()
    results, errors = {}, []

    def work(k):
        try:
            # each thread scores a rotated copy, so cache entries are written concurrently
            rot = comps[k:] + comps[:k], golds[k:] + golds[:k]
            results[k] = (shared.score_texts(*rot), k)
        except BaseException as e:  # noqa: BLE001 - reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k * 37,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    for k, (got, _) in results.items():
        assert got == expected[k:] + expected[:k]


ADVERSARIAL = [
    # inputs that make naive regexes or recursion blow up; each must be decided quickly
    'Therefore, ' + '\\(' * 20000 + '.',
    '\\boxed{' + '1 ' * 5000 + 'ab1}',
    '$' * 50000,
    '\\boxed{' + 'x^' * 3000 + '2}',
    '\\boxed{' + '\\sqrt' * 3000 + '{2}}',
    '\\boxed{' + '\\frac{1}{' * 500 + '2' + '}' * 500 + '}',
    '\\boxed{2' + '!' * 3000 + '}',
    '\\boxed{' + '9' * 5000 + '}',
    '\\boxed{9^{9^{9^{9}}}}',
    '\\boxed{(10^{100})!}',
    'The answer is ' + 'x' * 100000,
    '\\boxed{' + '1+' * 900 + '1}',
    '1,' * 20000,
    '\\boxed{' + '\\{' * 1000 + '1' + '\\}' * 1000 + '}',
    '\\boxed{' + '|' * 999 + '}',
    # a marker's words that fail to end as words: a regex whose words may run together
    # backtracks through every way to split them
    'The answer is 5 ' + 'word ' * 40 + 'x=',
    'The answer is 5 ' + 'a' * 5000 + '%(',
    'The number of ways is ' + 'word ' * 100 + '(' * 50 + ')' * 49,
]


@pytest.mark.parametrize('completion', ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_inputs_are_decided(completion):
    t0 = time.perf_counter()
    v = MathChecker().check([completion], ['5'])[0]
    assert v.reward == 0.0
    assert time.perf_counter() - t0 < 5.0  # a hang guard, not a speed target


def test_random_latex_soup_never_raises():
    import random

    rnd = random.Random(1234)
    alphabet = list('0123456789 ,.$\\{}()[]^_-+=<>abxyz%!|&') + [
        '\\frac',
        '\\sqrt',
        '\\left',
        '\\right',
        '\\text{',
        '\\boxed{',
        ' and ',
        ' or ',
        '\\pm',
        '\\cup',
        '\\le',
        '\\(',
        '$$',
        '\\infty',
        '\\begin{pmatrix}',
        '\\\\',
        'answer is ',
    ]
    checker = MathChecker(MathConfig(sympy_deadline_s=1.0))
    comps, golds = [], []
    for n in (20, 200, 2000):
        for _ in range(60):
            s = ''.join(rnd.choice(alphabet) for _ in range(n))
            comps += [s, '\\boxed{' + s + '}', 'The answer is ' + s]
            golds += [s[:50]] * 3
    t0 = time.perf_counter()
    verdicts = checker.check(comps, golds)
    assert time.perf_counter() - t0 < 120.0
    for v in verdicts:
        assert v.reward in (0.0, 1.0) or math.isnan(v.reward)


def test_sympy_error_text_reaches_the_verdict(monkeypatch):
    """A sympy failure scores 0.0 ("not shown equal") and says why in Verdict.reason."""
    import twinkle.math.checker as checker_mod

    class FailingPool:
        def run_timed(self, a, b, mode, deadline):
            return 'error', 'RecursionError: maximum recursion depth exceeded', 0.01

    monkeypatch.setattr(checker_mod, 'shared_pool', lambda n: FailingPool())
    # Too large for the numeric path: only sympy can decide it.
    pair = ([r'\boxed{2^{2^{20}}}'], [r'4^{2^{19}}'])
    (v,) = MathChecker(MathConfig(cache_size=0)).check(*pair)
    assert v.reward == 0.0 and v.method == 'symbolic'
    assert v.reason == 'sympy error: RecursionError: maximum recursion depth exceeded'
    # The same pair with a working pool is decided equal, with no reason.
    monkeypatch.undo()
    (v,) = MathChecker(MathConfig(cache_size=0)).check(*pair)
    assert v.reward == 1.0 and v.method == 'symbolic' and v.reason == ''


def test_random_sentences_are_decided():
    """Word-level soup in the places the sentence rules read (a final statement, a marker's
    clause): every answer is decided within the hang guard (regexes over runs of words
    can backtrack exponentially where the character soup above never reaches)."""
    import random

    rnd = random.Random(4321)
    words = (
        'the answer is there are at least most only one two ways or and of number interval '
        'expression for any all which given by factorial approximately not no such pairs '
        'word a ab n k x Therefore Thus So Final Answer: In 5 12 -3 3.5 = ( ) [ ] , . ! ? % $ '
        '\\( \\) \\frac{1}{2} sqrt(2) n! (x, y) mod ≡ : ; - + * / ^'
    ).split()
    checker = MathChecker(MathConfig(sympy_deadline_s=1.0))
    for _ in range(150):
        body = ' '.join(rnd.choice(words) for _ in range(rnd.choice((8, 30, 120))))
        tail = ' '.join([rnd.choice(words)] * rnd.randint(20, 60)) + ' ' + rnd.choice(words)
        for comp in (body + ' ' + tail, 'The answer is 5 ' + tail, 'Final Answer: ' + body + ' ' + tail):
            t0 = time.perf_counter()
            (v,) = checker.check([comp], ['5'])
            assert time.perf_counter() - t0 < 5.0, comp  # a hang guard, not a speed target
            assert v.reward in (0.0, 1.0) or math.isnan(v.reward)
