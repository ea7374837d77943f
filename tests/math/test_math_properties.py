"""Differential tests with hypothesis (seeded): the fast paths against an independent
oracle (Python's fractions / integer arithmetic on the generated values)."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from twinkle.math import MathChecker

CHECKER = MathChecker()
SETTINGS = settings(max_examples=150, derandomize=True, deadline=None)


def same(gold, pred):
    return CHECKER.score([f'The answer is $\\boxed{{{pred}}}$.'], [gold])[0] == 1.0


@SETTINGS
@given(st.integers(-(10**6), 10**6), st.integers(1, 10**4), st.integers(1, 50))
def test_fraction_forms(p, q, k):
    x = Fraction(p, q)
    frac = f'\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}'
    if x < 0:
        frac = '-' + frac
    assert same(frac, f'\\frac{{{p * k}}}{{{q * k}}}')
    assert same(frac, f'{p * k}/{q * k}') == True  # noqa: E712
    y = x + Fraction(1, q * 7)
    assert same(frac, f'\\frac{{{y.numerator}}}{{{y.denominator}}}') == (x == y)


@SETTINGS
@given(st.integers(-(10**4), 10**4), st.integers(0, 6))
def test_decimal_forms(m, e):
    x = Fraction(m, 10**e)
    dec = f'{float(x):.{e}f}' if e else str(m)
    assert same(str(x).replace('/', '/'), dec)
    assert same(dec, f'{float(x * 10):.{max(e - 1, 0)}f}') == (x == x * 10)


@SETTINGS
@given(st.integers(1000, 10**12))
def test_thousands_separators(n):
    assert same(str(n), f'{n:,}')
    assert same(f'{n:,}', str(n))
    assert not same(str(n), f'{n + 1:,}')


@SETTINGS
@given(st.integers(-9, 9), st.integers(-9, 9), st.integers(-9, 9))
def test_factored_vs_expanded(a, b, d):
    expanded = f'x^2 + {a + b}x + {a * b}'.replace('+ -', '- ')
    factored = f'(x + {a})(x + {b})'.replace('+ -', '- ')
    assert same(expanded, factored)
    if d:
        wrong = f'(x + {a + d})(x + {b})'.replace('+ -', '- ')
        assert not same(expanded, wrong)


@SETTINGS
@given(st.integers(1, 60), st.integers(1, 60))
def test_tiny_powers_are_exact(a, b):
    assert same(f'2^{{-{a}}}', f'\\frac{{1}}{{2^{{{b}}}}}') == (a == b)


@SETTINGS
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=5, unique=True), st.randoms())
def test_solution_sets_unordered_and_complete(xs, rnd):
    ys = list(xs)
    rnd.shuffle(ys)
    assert same(', '.join(map(str, xs)), ', '.join(map(str, ys)))
    if len(xs) > 1:
        assert not same(', '.join(map(str, xs)), ', '.join(map(str, ys[:-1])))
