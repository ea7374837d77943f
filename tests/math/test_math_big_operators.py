"""Sums and products (``\\sum_{k=1}^{n}``, ``\\prod``) in golds and answers.

Integer bounds expand at parse time (exact arithmetic decides); a symbolic bound stays a
node that the numeric test evaluates at integer points of its bound, and that sympy (in
the worker) evaluates with the counting symbols taken as non-negative integers.
"""

from fractions import Fraction

import pytest
import sympy

from twinkle.math import MathChecker
from twinkle.math._symbolic import decide
from twinkle.math.evaluate import EvalError, counters, numeric
from twinkle.math.latex import ParseError, parse_answer, parse_expr

CHECKER = MathChecker()


@pytest.mark.parametrize(
    'completion,gold,reward',
    [
        (r'\boxed{55}', r'\sum_{k=1}^{10} k', 1.0),
        (r'\boxed{385}', r'\sum_{k=1}^{10} k^2', 1.0),
        (r'\boxed{120}', r'\prod_{k=1}^{5} k', 1.0),
        (r'\boxed{\frac{n(n+1)}{2}}', r'\sum_{k=1}^{n} k', 1.0),
        (r'\boxed{\frac{n(n+1)(2n+1)}{6}}', r'\sum_{k=1}^{n} k^2', 1.0),
        (r'\boxed{2^n}', r'\sum_{i=0}^{n} \binom{n}{i}', 1.0),
        (r'\boxed{n!}', r'\prod_{k=1}^{n} k', 1.0),
        (r'\boxed{\sum_{j=1}^{n} j}', r'\sum_{k=1}^{n} k', 1.0),  # the index name is bound
        (r'\boxed{0}', r'\sum_{k=1}^{0} k', 1.0),  # an empty sum
        (r'\boxed{56}', r'\sum_{k=1}^{10} k', 0.0),
        (r'\boxed{\frac{n(n-1)}{2}}', r'\sum_{k=1}^{n} k', 0.0),
        (r'\boxed{2^{n+1}}', r'\sum_{i=0}^{n} \binom{n}{i}', 0.0),
        (r'\boxed{(n+1)!}', r'\prod_{k=1}^{n} k', 0.0),
    ],
)
def test_sums_and_products(completion, gold, reward):
    (v,) = CHECKER.check([completion], [gold])
    assert v.reward == reward, v


def test_parse_forms():
    assert parse_expr(r'\sum_{k=1}^{3} k') == ('add', tuple(('num', Fraction(k), None) for k in (1, 2, 3)))
    assert parse_expr(r'\prod_{k=1}^{0} k') == ('num', Fraction(1), None)
    node = parse_expr(r'\sum_{i=0}^{n} \binom{n}{i}')
    assert node[:2] == ('fn', 'sum') and node[2][1] == ('sym', 'i')  # i is the index here
    assert counters(node) == {'i', 'n'}
    # the body is the term after the operator: "+ 1" is outside
    assert parse_expr(r'\sum_{k=1}^{2} k + 1')[0] == 'add'
    with pytest.raises(ParseError, match='index variable'):
        parse_expr(r'\sum_{1=1}^{2} k')
    with pytest.raises(ParseError, match='terms'):
        parse_expr(r'\sum_{k=1}^{100000} k')
    assert parse_answer(r'x = \sum_{k=1}^{n} k')[0] == 'eq'


def test_numeric_needs_integer_bounds():
    node = parse_expr(r'\sum_{k=1}^{n} k')
    assert numeric(node, {'n': 4, 'k': 0}) == 10
    with pytest.raises(EvalError):
        numeric(node, {'n': 2.5, 'k': 0})


@pytest.mark.parametrize(
    'a,b,equal',
    [
        (r'\sum_{k=1}^{n} k', r'\frac{n(n+1)}{2}', True),
        (r'\sum_{k=0}^{n} \binom{n}{k}', r'2^n', True),
        (r'\prod_{k=1}^{n} k', r'n!', True),
        (r'\sum_{k=1}^{n} k', r'\frac{n(n-1)}{2}', False),
    ],
)
def test_sympy_decides_symbolic_bounds(a, b, equal):
    assert decide(parse_expr(a), parse_expr(b), 'expr', sympy) is equal
