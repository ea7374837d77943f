"""Seeded fuzzing of the math checker against an exact oracle, and under worker kills.

Two suites, both marked slow (run by ``bash run.sh test`` with a modest budget; raise it
locally with ``TWINKLE_DIFF_EXAMPLES``, e.g. 5000):

- **Exactness.** Random constant expressions over integers (sums, products, quotients,
  small and huge powers, square roots of squares) are rendered as LaTeX, and their value
  is computed here with ``fractions.Fraction`` on the test's own tree: an oracle that
  shares no code with twinkle. Each is compared with itself rewritten, with itself
  nudged by a tiny or huge-relative amount, and with an undefined value. The checker
  must never say 1.0 where the values differ or either is undefined; where they are
  equal it may only say 1.0 or, for a huge number it refuses to build, 0.0.
- **Faults.** Batches needing sympy are scored while a thread SIGKILLs the workers at
  random moments; every verdict is then either the clean verdict or a 'timeout'
  (never an exception, a hang, or another verdict), and scoring the same batch again
  without faults, with the same checker, gives exactly the clean verdicts.
"""

import os
import random
import signal
import threading
import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinkle.math import MathChecker, MathConfig
from twinkle.math.pool import shared_pool

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '150'))
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

pytestmark = pytest.mark.slow


class Undefined(Exception):
    pass


# --- the test's own expression trees: (latex, exact value or Undefined) ----------------


def _num(draw):
    n = draw(st.one_of(st.integers(0, 12), st.integers(0, 10**30)))
    return str(n), Fraction(n)


def _lift(fn, *vals):
    """``fn`` of exact values; Undefined if any is undefined, None if any is too big."""
    if any(v is Undefined for v in vals):
        return Undefined
    if any(v is None for v in vals):
        return None
    return fn(*vals)


def _power(a: Fraction, e: int):
    if a == 0 and e < 0:
        return Undefined
    if abs(e) * max(a.numerator.bit_length(), a.denominator.bit_length()) > 300000:
        return None  # too big for the oracle too
    return a**e


@st.composite
def expr(draw, depth=0):
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return _num(draw)
    kind = draw(st.sampled_from(['add', 'sub', 'mul', 'frac', 'pow', 'hugepow', 'sqrt', 'neg']))
    a_tex, a = draw(expr(depth + 1))
    if kind == 'neg':
        return f'-({a_tex})', _lift(lambda x: -x, a)
    if kind == 'sqrt':
        # the square root of a perfect square: exact, written as a root
        return rf'\sqrt{{({a_tex})^{{2}}}}', _lift(abs, a)
    if kind in ('pow', 'hugepow'):
        e = draw(st.integers(-6, 6)) if kind == 'pow' else draw(st.integers(-40000, 40000))
        return rf'({a_tex})^{{{e}}}', _lift(lambda x: _power(x, e), a)
    b_tex, b = draw(expr(depth + 1))
    ops = {
        'add': lambda x, y: x + y,
        'sub': lambda x, y: x - y,
        'mul': lambda x, y: x * y,
        'frac': lambda x, y: Undefined if y == 0 else x / y,
    }
    tex = {
        'add': f'({a_tex})+({b_tex})',
        'sub': f'({a_tex})-({b_tex})',
        'mul': rf'({a_tex})\cdot({b_tex})',
        'frac': rf'\frac{{{a_tex}}}{{{b_tex}}}',
    }[kind]
    return tex, _lift(ops[kind], a, b)


def _tiny(draw):
    k = draw(st.integers(1, 30000))
    return rf'2^{{-{k}}}', Fraction(1, 2**k)


@st.composite
def pairs(draw):
    """(gold latex, answer latex, gold value, answer value)."""
    g_tex, g = draw(expr())
    how = draw(st.sampled_from(['same', 'rewritten', 'nudged', 'scaled', 'undefined']))
    if how == 'same':
        return g_tex, g_tex, g, g
    if how == 'rewritten':
        return g_tex, rf'\frac{{2\cdot({g_tex})}}{{2}}', g, g
    if how == 'nudged':
        d_tex, d = _tiny(draw)
        sign = draw(st.sampled_from(['+', '-']))
        v = _lift(lambda x, y: x + y if sign == '+' else x - y, g, d)
        return g_tex, f'({g_tex}){sign}{d_tex}', g, v
    if how == 'scaled':
        k = draw(st.integers(1, 200))
        v = _lift(lambda x: x * (1 + Fraction(1, 10**k)), g)
        return g_tex, rf'({g_tex})\cdot(1+10^{{-{k}}})', g, v
    return g_tex, rf'({g_tex})+\frac{{1}}{{0}}', g, Undefined


@pytest.fixture(scope='module')
def checker():
    return MathChecker(MathConfig(sympy_deadline_s=5.0, num_workers=2))


def test_fuzz_exactness_against_fractions(checker):
    @SETTINGS
    @given(st.lists(pairs(), min_size=1, max_size=8))
    def run(batch):
        golds = [g for g, _, _, _ in batch]
        comps = [rf'The answer is $\boxed{{{a}}}$.' for _, a, _, _ in batch]
        for (g_tex, a_tex, g, a), v in zip(batch, checker.check(comps, golds)):
            if v.reward == 1.0:
                # 1.0 only for two defined, equal values (or the identical string)
                assert g_tex == a_tex or (
                    g is not Undefined and a is not Undefined and (g is None or a is None or g == a)
                ), (g_tex, a_tex, v)
                assert g_tex == a_tex or not (g is Undefined or a is Undefined), (g_tex, a_tex, v)
            if g is not None and a is not None and g is not Undefined and a is not Undefined and g != a:
                assert v.reward == 0.0, (g_tex, a_tex, v)
            if (
                g is not None
                and g is not Undefined
                and a is not None
                and a is not Undefined
                and g == a
                and v.method != 'timeout'
            ):
                # equal exact values are found equal unless a part was refused as too big
                assert v.reward == 1.0 or 'sympy error' in v.reason, (g_tex, a_tex, v)

    run()


# --- worker kills -------------------------------------------------------------------------

# Pairs that only sympy decides, some slow enough (under a second) to be killed mid-item.
SYMPY_PAIRS = [
    (r'\boxed{2^{2^{20}}}', r'4^{2^{19}}'),
    (r'\boxed{2^{2^{20}}+1}', r'4^{2^{19}}'),
    (r'\boxed{(10^{4})!}', r'(10^{4})!'),
    (r'\boxed{(3\cdot 10^{4})!}', r'(3\cdot 10^{4})!+1'),
    (r'\boxed{(5\cdot 10^{4})!}', r'(5\cdot 10^{4})!'),
    (r'\boxed{\sqrt{2}+\sqrt{3}}', r'\sqrt{5+2\sqrt{6}}'),
    (r'\boxed{\sqrt{10^{400}+1}}', r'10^{200}'),
    (r'\boxed{(2^{2^{20}}, 3)}', r'(4^{2^{19}}, 3)'),
]


def _killer(pool, stop: threading.Event, rnd: random.Random, kills: list) -> None:
    while not stop.is_set():
        time.sleep(rnd.uniform(0.05, 0.6))
        workers = [w for w in list(pool._idle.queue)] + list(getattr(pool, '_busy', ()))
        pids = [w.proc.pid for w in workers]
        pids += _child_pids()
        if pids:
            pid = rnd.choice(pids)
            try:
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
            except ProcessLookupError:
                pass


def _child_pids() -> list:
    """The sympy workers among this process's children (busy ones are not in the pool's
    idle queue)."""
    out = []
    me = os.getpid()
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                stat = f.read()
            with open(f'/proc/{d}/cmdline', 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        if ppid == me and b'_symbolic.py' in cmd:
            out.append(int(d))
    return out


def test_fuzz_killed_workers_then_rescoring():
    rounds = max(2, EXAMPLES // 50)
    rnd = random.Random(1234)
    clean_checker = MathChecker(MathConfig(sympy_deadline_s=30.0, num_workers=3, cache_size=0))
    comps = [c for c, _ in SYMPY_PAIRS]
    golds = [g for _, g in SYMPY_PAIRS]
    clean = [(v.reward, v.method) for v in clean_checker.check(comps, golds)]
    assert all(m != 'timeout' for _, m in clean)
    pool = shared_pool(3)
    total_kills = 0
    for _ in range(rounds):
        order = list(range(len(comps)))
        rnd.shuffle(order)
        checker = MathChecker(MathConfig(sympy_deadline_s=30.0, num_workers=3))
        stop, kills = threading.Event(), []
        t = threading.Thread(target=_killer, args=(pool, stop, rnd, kills))
        t.start()
        try:
            got = checker.check([comps[i] for i in order], [golds[i] for i in order])
        finally:
            stop.set()
            t.join()
        total_kills += len(kills)
        for i, v in zip(order, got):
            assert (v.reward, v.method) == clean[i] or v.method == 'timeout', (comps[i], v)
        # No fault outlives its call: the same checker, no kills, gives the clean verdicts.
        again = checker.check(comps, golds)
        assert [(v.reward, v.method) for v in again] == clean
    assert total_kills > 0  # the faults did happen
