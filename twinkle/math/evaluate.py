"""Exact and floating evaluation of expression trees, without sympy.

``exact`` returns a ``fractions.Fraction`` for a rational constant expression and None
for anything else (symbols, pi, a non-square root); it refuses work that would blow up
(``10^{10^{10}}``: more than ``MAX_BITS`` bits) rather than compute it. ``numeric``
evaluates to a Python ``complex`` at a point and raises :class:`EvalError` on overflow,
a domain error or an unknown function. Neither ever calls sympy.
"""

from __future__ import annotations

import cmath
import math
from fractions import Fraction
from typing import Dict, FrozenSet, List, Optional

__all__ = [
    'EvalError',
    'EvalOverflow',
    'EvalUnderflow',
    'exact',
    'numeric',
    'free_symbols',
    'counters',
    'canonical',
    'node_key',
    'expand_pm',
    'closeness',
    'children',
    'MAX_BITS',
]

MAX_BITS = 20000  # exact results larger than this many bits are not computed


class EvalError(ArithmeticError):
    """The tree cannot be evaluated here (overflow, domain error, unknown function)."""


class EvalOverflow(EvalError):
    """The value is too large for a float (e.g. ``10^{10^{10}}``)."""


class EvalUnderflow(EvalError):
    """A float result lost its digits to underflow (e.g. ``10^{-10^{10}}``, ``e^{-1000}``)."""


def _int_root(n: int, k: int) -> Optional[int]:
    if n < 0:
        if k % 2 == 0:
            return None
        r = _int_root(-n, k)
        return None if r is None else -r
    if n.bit_length() > MAX_BITS:
        return None
    r = round(n ** (1.0 / k)) if n.bit_length() < 1000 else int(math.isqrt(n) if k == 2 else 0)
    for c in (r - 1, r, r + 1):
        if c >= 0 and c**k == n:
            return c
    if k == 2:
        c = math.isqrt(n)
        if c * c == n:
            return c
    return None


def _rat_root(x: Fraction, k: int) -> Optional[Fraction]:
    if k <= 0 or k > 64:
        return None
    p, q = _int_root(x.numerator, k), _int_root(x.denominator, k)
    return None if p is None or q is None else Fraction(p, q)


def _bits(x: Fraction) -> int:
    return max(x.numerator.bit_length(), x.denominator.bit_length())


def exact(node: tuple) -> Optional[Fraction]:
    """The exact rational value of a constant tree, or None.

    >>> from twinkle.math.latex import parse_expr
    >>> exact(parse_expr(r'\\sqrt{\\frac{9}{4}} + 5!'))
    Fraction(243, 2)
    >>> exact(parse_expr(r'\\sqrt{2}')) is None
    True
    >>> exact(parse_expr('10^{10^{10}}')) is None
    True
    """
    try:
        return _exact(node)
    except (ZeroDivisionError, OverflowError, ValueError, RecursionError):
        return None


def _exact(node: tuple) -> Optional[Fraction]:
    tag = node[0]
    if tag == 'num':
        return node[1]
    if tag == 'neg':
        v = _exact(node[1])
        return None if v is None else -v
    if tag in ('add', 'mul'):
        acc = Fraction(0 if tag == 'add' else 1)
        for a in node[1]:
            v = _exact(a)
            if v is None:
                return None
            acc = acc + v if tag == 'add' else acc * v
            if _bits(acc) > MAX_BITS:
                return None
        return acc
    if tag == 'div':
        a, b = _exact(node[1]), _exact(node[2])
        if a is None or b is None or b == 0:
            return None
        return a / b
    if tag == 'pow':
        b, e = _exact(node[1]), _exact(node[2])
        if b is None or e is None:
            return None
        if e.denominator == 1:
            n = int(e)
            if b == 0:
                return None if n < 0 else Fraction(1 if n == 0 else 0)
            if abs(b) == 1:
                return b**n
            if abs(n) * max(_bits(b), 1) > MAX_BITS:
                return None
            return b**n
        if b < 0:
            return None
        r = _rat_root(b, e.denominator)
        if r is None:
            return None
        if abs(e.numerator) * max(_bits(r), 1) > MAX_BITS:
            return None
        return r**e.numerator if r != 0 or e.numerator > 0 else None
    if tag == 'fn':
        name, args = node[1], node[2]
        vals = [_exact(a) for a in args]
        if any(v is None for v in vals):
            return None
        if name == 'sqrt':
            return None if vals[0] < 0 else _rat_root(vals[0], 2)
        if name == 'root':
            k = vals[1]
            if k.denominator != 1:
                return None
            return _rat_root(vals[0], int(k))
        if name == 'fact':
            n = vals[0]
            if n.denominator != 1 or n < 0 or n > 2000:
                return None
            return Fraction(math.factorial(int(n)))
        if name == 'binom':
            n, k = vals
            if n.denominator != 1 or k.denominator != 1 or not 0 <= n <= 5000:
                return None
            return Fraction(math.comb(int(n), int(k)) if k >= 0 else 0)
        if name == 'abs':
            return abs(vals[0])
        if name == 'floor':
            return Fraction(math.floor(vals[0]))
        if name == 'ceil':
            return Fraction(math.ceil(vals[0]))
        return None
    return None


_CONST = {'pi': math.pi, 'e': math.e, 'i': 1j}
_FN = {
    'sin': cmath.sin,
    'cos': cmath.cos,
    'tan': cmath.tan,
    'sinh': cmath.sinh,
    'cosh': cmath.cosh,
    'tanh': cmath.tanh,
    'arcsin': cmath.asin,
    'arccos': cmath.acos,
    'arctan': cmath.atan,
    'exp': cmath.exp,
    'ln': cmath.log,
    'sqrt': cmath.sqrt,
    'cot': lambda z: 1 / cmath.tan(z),
    'sec': lambda z: 1 / cmath.cos(z),
    'csc': lambda z: 1 / cmath.sin(z),
    'abs': abs,
}


def _real(z: complex) -> float:
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)):
        raise EvalError('not real')
    return z.real


def numeric(node: tuple, env: Optional[Dict[str, complex]] = None) -> complex:
    """Floating value of a tree at a point.

    Args:
        node: an expression tree.
        env: values for the free symbols.

    Raises:
        EvalError: overflow, a domain error, infinity, or an unbound symbol.

    >>> from twinkle.math.latex import parse_expr
    >>> round(numeric(parse_expr(r'3\\sqrt2')).real, 6)
    4.242641
    >>> numeric(parse_expr('x^2'), {'x': 3})
    (9+0j)
    """
    try:
        v = _num(node, env or {})
    except OverflowError as e:
        raise EvalOverflow(str(e)) from None
    except (ZeroDivisionError, ValueError, TypeError, RecursionError) as e:
        raise EvalError(str(e)) from None
    if not (math.isfinite(v.real) and math.isfinite(v.imag)):
        if math.isnan(v.real) or math.isnan(v.imag):
            raise EvalError('not a number')
        raise EvalOverflow('not finite')
    return v


def _num(node: tuple, env: Dict[str, complex]) -> complex:
    tag = node[0]
    if tag == 'num':
        return complex(float(node[1]))
    if tag == 'const':
        if node[1] == 'oo':
            raise EvalError('infinity')
        return complex(_CONST[node[1]])
    if tag == 'sym':
        if node[1] not in env:
            raise EvalError(f'unbound {node[1]}')
        return complex(env[node[1]])
    if tag == 'neg':
        v = -_num(node[1], env)
        return complex(v.real + 0.0, v.imag + 0.0)  # no -0.0: sqrt(-1) must be +i
    if tag == 'add':
        return sum((_num(a, env) for a in node[1]), 0j)
    if tag == 'mul':
        acc = 1 + 0j
        for a in node[1]:
            v = _num(a, env)
            acc = _no_underflow(acc * v, acc, v)
        return acc
    if tag == 'div':
        x, y = _num(node[1], env), _num(node[2], env)
        return _no_underflow(x / y, x)
    if tag == 'pow':
        b, e = _num(node[1], env), _num(node[2], env)
        return _no_underflow(_pow(b, e), b)
    if tag == 'fn':
        if node[1] in ('sum', 'prod'):
            return _big(node, env)
        return _fn(node[1], [_num(a, env) for a in node[2]])
    if tag == 'pm':
        raise EvalError('\\pm has two values')
    raise EvalError(f'unknown node {tag}')


def _big(node: tuple, env: Dict[str, complex]) -> complex:
    """A sum or product at a point whose bounds are integers (at most 1,000 terms)."""
    body, index, lo, hi = node[2]
    ends = []
    for bound in (lo, hi):
        v = _num(bound, env)
        if v.imag != 0 or abs(v.real - round(v.real)) > 1e-9:
            raise EvalError('a sum or product bound that is not an integer')
        ends.append(int(round(v.real)))
    if ends[1] - ends[0] + 1 > 1000:
        raise EvalError('a sum or product of more than 1000 terms')
    acc = 0j if node[1] == 'sum' else 1 + 0j
    inner = dict(env)
    for k in range(ends[0], ends[1] + 1):
        inner[index[1]] = complex(k)
        v = _num(body, inner)
        acc = acc + v if node[1] == 'sum' else _no_underflow(acc * v, acc, v)
    return acc


def counters(node: tuple) -> FrozenSet[str]:
    """Names of the index and bound symbols of the sums and products in a tree: they
    count terms, so they take non-negative integer values.

    >>> from twinkle.math.latex import parse_expr
    >>> sorted(counters(parse_expr(r'x + \\sum_{k=1}^{n} k')))
    ['k', 'n']
    """
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple) and n and n[0] == 'fn' and n[1] in ('sum', 'prod'):
            for part in n[2][1:]:
                out |= free_symbols(part)
        stack.extend(children(n))
    return frozenset(out)


#: Smallest magnitude a float result may have and still be trusted: below it (and at an
#: exact 0 from nonzero operands) the value has lost digits to underflow, and two
#: different exact numbers (``2^{-20000}``, ``2^{-20001}``) would look equal.
TINY = 1e-280


def _no_underflow(v: complex, *operands: complex) -> complex:
    if abs(v) < TINY and (v != 0 or all(x != 0 for x in operands)):
        raise EvalUnderflow('underflow')
    return v


def _pow(b: complex, e: complex) -> complex:
    if e.imag == 0 and e.real == int(e.real) and abs(e.real) < 4096:
        n = int(e.real)
        if b == 0 and n < 0:
            raise ZeroDivisionError('0 to a negative power')
        return b**n
    if b.imag == 0 and b.real > 0 and e.imag == 0:
        return complex(b.real**e.real)
    if b.imag == 0 and b.real < 0 and e.imag == 0:
        # real odd roots of negatives: (-8)^(1/3) = -2, as a reader means it
        f = e.real
        for q in (3, 5, 7, 9):
            p = f * q
            if abs(p - round(p)) < 1e-12 and round(p) % 2 != 0:
                return complex(-((-b.real) ** f))
    return cmath.exp(e * cmath.log(b))


def _fn(name: str, vals: List[complex]) -> complex:
    if name in _FN:
        v = complex(_FN[name](vals[0]))
        return _no_underflow(v, *vals) if name == 'exp' else v
    if name == 'log':
        if len(vals) == 2:
            return cmath.log(vals[0]) / cmath.log(vals[1])
        return cmath.log(vals[0])  # log without a base: natural log, as sympy reads it
    if name == 'root':
        x, k = vals
        if x.imag == 0 and x.real < 0 and k.imag == 0 and int(k.real) % 2 == 1:
            return complex(-((-x.real) ** (1 / k.real)))
        return x ** (1 / k)
    if name == 'fact':
        x = _real(vals[0])
        if x > 170:
            raise OverflowError('factorial')
        return complex(math.gamma(x + 1))
    if name == 'binom':
        n, k = _real(vals[0]), _real(vals[1])
        if n > 170:
            raise OverflowError('binomial')
        return complex(math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1)))
    if name == 'floor':
        return complex(math.floor(_real(vals[0])))
    if name == 'ceil':
        return complex(math.ceil(_real(vals[0])))
    raise EvalError(f'unknown function {name}')


def free_symbols(node: tuple) -> FrozenSet[str]:
    """Names of the symbols in a tree.

    >>> sorted(free_symbols(('add', (('sym', 'x'), ('sym', 'y')))))
    ['x', 'y']
    """
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple) and n and n[0] == 'sym':
            out.add(n[1])
        stack.extend(children(n))
    return frozenset(out)


def children(node) -> tuple:
    """The subtrees of an expression node (none for leaves and non-nodes).

    >>> children(('add', (('num', Fraction(1), None), ('sym', 'x'))))[1]
    ('sym', 'x')
    """
    if not isinstance(node, tuple) or not node:
        return ()
    tag = node[0]
    if tag in ('add', 'mul'):
        return tuple(node[1])
    if tag == 'fn':
        return tuple(node[2])
    if tag == 'neg':
        return (node[1],)
    if tag in ('div', 'pow', 'pm'):
        return node[1:3]
    return ()


def node_key(node) -> str:
    """A cheap total order key for trees (``repr`` of a Fraction is slow).

    >>> node_key(('num', Fraction(1, 2), None))
    'n1/2'
    """
    if not isinstance(node, tuple) or not node:  # () is the empty set's element list
        return str(node)
    tag = node[0]
    if tag == 'num':
        v = node[1]
        return f'n{v.numerator}/{v.denominator}'
    if tag in ('sym', 'const'):
        return tag[0] + node[1]
    parts = [tag]
    for x in node[1:]:
        if isinstance(x, tuple) and x and not isinstance(x[0], str):
            parts.append('(' + ','.join(node_key(y) for y in x) + ')')
        else:
            parts.append(node_key(x))
    return '[' + ' '.join(parts) + ']'


def canonical(node: tuple) -> tuple:
    """A normal form for structural equality: flattened, commutative args sorted.

    >>> from twinkle.math.latex import parse_expr
    >>> canonical(parse_expr('x+2y')) == canonical(parse_expr('y*2+x'))
    True
    """
    tag = node[0]
    if tag in ('add', 'mul'):
        flat: List[tuple] = []
        for a in node[1]:
            c = canonical(a)
            if c[0] == tag:
                flat.extend(c[1])
            else:
                flat.append(c)
        flat.sort(key=node_key)
        return (tag, tuple(flat))
    if tag == 'neg':
        c = canonical(node[1])
        return c[1] if c[0] == 'neg' else ('neg', c)
    if tag in ('div', 'pow', 'pm'):
        return (tag, canonical(node[1]), canonical(node[2]))
    if tag == 'fn':
        return ('fn', node[1], tuple(canonical(a) for a in node[2]))
    if tag == 'num':
        return ('num', node[1], None)
    return node


def expand_pm(node: tuple, limit: int = 8) -> List[tuple]:
    """The trees obtained by reading each ``\\pm`` as + and as -.

    >>> from twinkle.math.latex import parse_expr
    >>> len(expand_pm(parse_expr(r'1 \\pm \\sqrt{2}')))
    2
    """
    tag = node[0]
    if tag == 'pm':
        out = []
        for a in expand_pm(node[1], limit):
            for b in expand_pm(node[2], limit):
                out.append(('add', (a, b)))
                out.append(('add', (a, ('neg', b))))
        return out[:limit]
    if tag in ('add', 'mul'):
        combos: List[tuple] = [()]
        for a in node[1]:
            combos = [c + (x,) for c in combos for x in expand_pm(a, limit)][:limit]
        return [(tag, c) for c in combos]
    if tag == 'neg':
        return [('neg', x) for x in expand_pm(node[1], limit)]
    if tag in ('div', 'pow'):
        return [(tag, a, b) for a in expand_pm(node[1], limit) for b in expand_pm(node[2], limit)][:limit]
    if tag == 'fn':
        combos = [()]
        for a in node[2]:
            combos = [c + (x,) for c in combos for x in expand_pm(a, limit)][:limit]
        return [('fn', node[1], c) for c in combos]
    return [node]


def closeness(a: complex, b: complex, rel_tol: float) -> str:
    """'eq', 'ne' or 'unsure' for two floating values.

    Relative, never absolute: 2**-60 and 2**-61 are 'ne'. A value within 1e-9 of an
    exact zero is 'unsure' (it may be rounding noise of ``\\sqrt2^2 - 2``).

    >>> closeness(0.5, 0.05, 1e-9)
    'ne'
    >>> closeness(2 ** -60, 2 ** -61, 1e-9)
    'ne'
    """
    d = abs(a - b)
    scale = max(abs(a), abs(b))
    if d == 0:
        return 'eq'
    if a == 0 or b == 0:
        return 'unsure' if scale < 1e-9 else 'ne'
    if d <= rel_tol * scale:
        return 'eq'
    if d > 1e-6 * scale:
        return 'ne'
    return 'unsure'
