"""Comparing a predicted answer tree with a gold one (the "grader" stage).

Fast paths decide almost everything without sympy, in order: equal normalized strings
('exact'); structure, recursing into parts ('structural': tuples ordered, sets and solution
lists unordered and complete, intervals with openness); exact rationals ('exact'); floats
with relative tolerance ``rel_tol`` at four fixed pseudo-random points for symbols
('numeric'). What stays undecided goes to the caller's ``symbolic(a, b, mode)``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, List, Optional, Tuple

from twinkle.math.config import MathConfig
from twinkle.math.evaluate import (
    EvalError,
    EvalOverflow,
    canonical,
    children,
    closeness,
    counters,
    exact,
    expand_pm,
    free_symbols,
    node_key,
    numeric,
)

__all__ = ['compare', 'NeedSymbolic', 'SymbolicFn']

# symbolic(a, b, mode) -> True / False / None (None: timed out or failed in the worker)
SymbolicFn = Callable[[tuple, tuple, str], Optional[bool]]

# Points for the identity test: irrational-looking, different per variable so that x - y
# is not 0 by accident; two are negative so that |x| and sqrt(x^2) are not taken for x
# (evaluation is complex, so roots and logs of negatives are defined).
_POINTS = (0.6180339887, 1.3247179572, 2.2360679775, -0.7071067812, -1.6487212707)
_OFFSETS = (0.0, 0.4142135624, 0.7320508076, 0.2679491924, 0.5772156649, 0.1415926536)

_RANK = {'exact': 0, 'structural': 1, 'numeric': 2, 'symbolic': 3}


class NeedSymbolic(Exception):
    """Raised by a ``symbolic`` callback that defers the pair to a second pass."""


def _merge(a: str, b: str) -> str:
    return a if _RANK.get(a, 9) >= _RANK.get(b, 9) else b


# Points for a symbol that counts the terms of a sum or product (\\sum_{k=1}^{n}).
_COUNTS = (3, 5, 8, 4, 7)


def _env(symbols, k: int, counting: frozenset = frozenset()) -> dict:
    names = sorted(symbols)
    return {
        n: (
            _COUNTS[k % len(_COUNTS)] + j
            if n in counting
            else _POINTS[k % len(_POINTS)] + _OFFSETS[j % len(_OFFSETS)] * (1 + j // len(_OFFSETS))
        )
        for j, n in enumerate(names)
    }


def _decimal(node: tuple) -> Optional[Tuple[Fraction, int, int]]:
    """``(value, places, significant digits)`` when the tree is a (negated) decimal literal."""
    sign = 1
    while node[0] == 'neg':
        node, sign = node[1], -sign
    if node[0] == 'num' and node[2] is not None:
        return sign * node[1], node[2][0], node[2][1]
    return None


def _terminates(x: Fraction, places: int) -> bool:
    return (x * 10**places).denominator == 1


def _approx(a: tuple, b: tuple, va, vb, cfg: MathConfig) -> bool:
    """A decimal with enough digits matches a non-terminating value that rounds to it."""
    for dec_node, other, other_val in ((a, b, vb), (b, a, va)):
        d = _decimal(dec_node)
        if d is None or d[2] < cfg.approx_min_sig_digits or _decimal(other) is not None:
            continue
        value, places, _ = d
        ex = exact(other)
        if ex is not None:
            if _terminates(ex, places + 2) or abs(ex - value) * 2 * 10**places > 1:
                continue
            return True
        if other_val is None:
            try:
                other_val = numeric(other)
            except EvalError:
                continue
        if abs(other_val.imag) > 0:
            continue
        if abs(other_val.real - float(value)) <= 0.5 * 10.0 ** (-places) * (1 + 1e-9):
            return True
    return False


def _is_inf(node: tuple) -> int:
    """+1 / -1 for +-infinity, else 0."""
    c = canonical(node)
    if c == ('const', 'oo'):
        return 1
    if c == ('neg', ('const', 'oo')):
        return -1
    return 0


def compare_expr(a: tuple, b: tuple, cfg: MathConfig, symbolic: SymbolicFn) -> Tuple[Optional[bool], str]:
    """Compares two expression trees; ``(verdict, method)``, verdict None = undecided."""
    if a == b:
        return True, 'structural'
    ea, eb = exact(a), exact(b)
    if ea is not None and eb is not None:
        if ea == eb:
            return True, 'exact'
        close = _approx(a, b, None, None, cfg)
        return close, ('numeric' if close else 'exact')
    if canonical(a) == canonical(b):
        return True, 'structural'
    ia, ib = _is_inf(a), _is_inf(b)
    if ia or ib:
        return ia == ib, 'structural'
    syms = free_symbols(a) | free_symbols(b)
    if not syms:
        va, vb = _try_numeric(a), _try_numeric(b)
        if isinstance(va, EvalOverflow) != isinstance(vb, EvalOverflow) and not (
            isinstance(va, EvalError) and isinstance(vb, EvalError)
        ):
            # One side is astronomically large (10^{10^{10}}), the other a float: unequal,
            # decided without asking sympy to build the huge number.
            return False, 'numeric'
        if isinstance(va, EvalError) or isinstance(vb, EvalError):
            return _sym(a, b, 'expr', symbolic)
        c = closeness(va, vb, cfg.rel_tol)
        if c == 'eq':
            if _absorbs(a, {}) or _absorbs(b, {}):
                return _sym(a, b, 'expr', symbolic)
            return True, 'numeric'
        if _approx(a, b, va, vb, cfg):
            return True, 'numeric'
        if c == 'ne':
            return False, 'numeric'
        return _sym(a, b, 'expr', symbolic)
    eq = ne = 0
    counting = counters(a) | counters(b)
    for k in range(len(_POINTS)):
        env = _env(syms, k, counting)
        try:
            va, vb = numeric(a, env), numeric(b, env)
        except EvalError:
            continue
        c = closeness(va, vb, cfg.rel_tol)
        if c == 'eq':
            eq += 1
        elif c == 'ne':
            ne += 1
    if ne:
        return False, 'numeric'
    if eq >= 3:
        env = _env(syms, 0, counting)
        if not (_absorbs(a, env) or _absorbs(b, env)):
            return True, 'numeric'
    if not counting and _differ_somewhere(a, b, syms):
        return False, 'exact'
    return _sym(a, b, 'expr', symbolic)


# Rational points for an exact check before sympy, where floats overflowed or rounded at
# the points of _POINTS ((x^1958 + x^1957 + 2)^1959 against 1, x^2000 against x^2000 + 1):
# a point where both sides have exact values that differ shows the two unequal, as a
# float point does.
_EXACT_POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(1, 2))


def _differ_somewhere(a: tuple, b: tuple, syms) -> bool:
    names = sorted(syms)
    for k in range(len(_EXACT_POINTS)):
        env = {n: _EXACT_POINTS[(k + j) % len(_EXACT_POINTS)] for j, n in enumerate(names)}
        va, vb = exact(_at(a, env)), exact(_at(b, env))
        if va is not None and vb is not None and va != vb:
            return True
    return False


def _at(node, env: dict):
    """``node`` with its symbols replaced by the numbers in ``env``."""
    if not isinstance(node, tuple) or not node:
        return node
    if node[0] == 'sym':
        v = env.get(node[1])
        return node if v is None else ('num', v, None)
    if not isinstance(node[0], str):  # a tuple of nodes
        return tuple(_at(c, env) for c in node)
    return (node[0],) + tuple(_at(c, env) for c in node[1:])


#: A term smaller than this fraction of its sum's largest term vanishes in a float sum
#: (or hides under ``rel_tol``), and so does a nonzero exact number this small.
_NEGLIGIBLE = 1e-9


def _absorbs(node: tuple, env: dict) -> bool:
    """Whether floats may have rounded a term of ``node`` away, so a float "equal" is not trusted."""
    stack = [node]
    while stack:
        n = stack.pop()
        tag = n[0]
        if tag == 'num' and n[1] != 0 and abs(n[1]) < _NEGLIGIBLE:
            return True
        stack.extend(children(n))
        ex = exact(n) if tag in ('div', 'pow', 'mul') else None
        if ex is not None and ex != 0 and abs(ex) < _NEGLIGIBLE:
            return True
        if tag == 'add' and _has_negligible_term(n[1], env):
            return True
    return False


def _has_negligible_term(terms, env: dict) -> bool:
    mags = []
    for t in terms:
        try:
            mags.append(abs(numeric(t, env)))
        except EvalError:
            return True  # a term floats cannot evaluate: nothing to trust
    top = max(mags, default=0.0)
    return any(0 < m < _NEGLIGIBLE * top for m in mags)


def _try_numeric(node: tuple):
    try:
        return numeric(node)
    except EvalError as e:
        return e


def _sym(a: tuple, b: tuple, mode: str, symbolic: SymbolicFn) -> Tuple[Optional[bool], str]:
    v = symbolic(a, b, mode)
    if v is None:
        return None, 'timeout'
    return v, 'symbolic'


def _pct_values(node: tuple, cfg: MathConfig) -> List[tuple]:
    if node[0] == 'pct':
        e = node[1]
        if not cfg.percent_equivalence:
            return [e]
        return [e, ('div', e, ('num', Fraction(100), None))]
    return [node[1]]


def _equation_equal(g: tuple, p: tuple, cfg: MathConfig, symbolic: SymbolicFn) -> Tuple[Optional[bool], str]:
    """``l1 = r1`` vs ``l2 = r2``: same sides, or l1 - r1 a nonzero constant times l2 - r2."""
    (_, l1, r1), (_, l2, r2) = g, p
    for x, y in (((l1, r1), (l2, r2)), ((l1, r1), (r2, l2))):
        v1, m1 = compare_expr(x[0], y[0], cfg, _never)
        if v1:
            v2, m2 = compare_expr(x[1], y[1], cfg, symbolic)
            if v2:
                return True, _merge(m1, m2)
    d1 = ('add', (l1, ('neg', r1)))
    d2 = ('add', (l2, ('neg', r2)))
    syms = free_symbols(d1) | free_symbols(d2)
    if not syms:
        return False, 'numeric'
    ratios = []
    for k in range(len(_POINTS)):
        env = _env(syms, k)
        try:
            x, y = numeric(d1, env), numeric(d2, env)
        except EvalError:
            continue
        if y == 0 or x == 0:
            if x == y:
                continue
            return False, 'numeric'
        ratios.append(x / y)
    if len(ratios) >= 3:
        ok = all(closeness(r, ratios[0], cfg.rel_tol) == 'eq' for r in ratios)
        if ok:
            return True, 'numeric'
        if any(closeness(r, ratios[0], cfg.rel_tol) == 'ne' for r in ratios):
            return False, 'numeric'
    return _sym(d1, d2, 'eq', symbolic)


def _never(a, b, mode):
    return False


def _flatten_pm(node: tuple) -> tuple:
    """An expression with ``\\pm`` becomes the list of its values."""
    if node[0] in ('expr', 'pct'):
        vals = expand_pm(node[1])
        if len(vals) > 1:
            return ('list', tuple((node[0], v) for v in vals))
    if node[0] == 'eq':
        vals = expand_pm(node[2])
        if len(vals) > 1:
            return ('list', tuple(('eq', node[1], v) for v in vals))
    return node


def _single(node: tuple) -> tuple:
    if node[0] in ('list', 'set') and len(node[1]) == 1:
        return node[1][0]
    return node


def _names_value(eq: tuple, cfg: MathConfig) -> bool:
    """Whether ``lhs = rhs`` stands for ``rhs``: the left names the unknown, or the two
    sides are one value (``4 + 6 = 10``, ``C(n, 4) = n!/(4!(n-4)!)``: an identity, not a
    condition on its letters)."""
    if _var_lhs(eq):
        return True
    v, _ = compare_expr(eq[1], eq[2], cfg, _never)
    return bool(v)


def _var_lhs(eq: tuple) -> bool:
    """Whether the left side names the unknown: a bare variable (``x``, ``a_n``) or ``f(x)``."""
    lhs = eq[1]
    if lhs[0] == 'sym':
        return True
    return lhs[0] == 'mul' and len(lhs[1]) == 2 and all(f[0] == 'sym' for f in lhs[1])


def compare(gold: tuple, pred: tuple, cfg: MathConfig, symbolic: SymbolicFn) -> Tuple[bool, str]:
    """Compares two answer trees.

    Args:
        gold: the gold answer tree (``twinkle.math.latex.parse_answer``).
        pred: the predicted answer tree.
        cfg: tolerances and switches.
        symbolic: called as ``symbolic(a, b, mode)`` for what the fast paths leave
            undecided; returns True/False, or None when it timed out.

    Returns:
        ``(equal, method)``, method one of 'exact', 'structural', 'numeric',
        'symbolic', 'timeout'.

    >>> from twinkle.math.latex import parse_answer
    >>> compare(parse_answer(r'\\sqrt{18}'), parse_answer(r'3\\sqrt2'), MathConfig(), None)
    (True, 'numeric')
    >>> compare(parse_answer('[1,2)'), parse_answer('[1,2]'), MathConfig(), None)
    (False, 'structural')
    """
    v, m = _compare(gold, pred, cfg, symbolic, 0)
    return bool(v), m


def _compare(
    g: tuple, p: tuple, cfg: MathConfig, symbolic: SymbolicFn, depth: int
) -> Tuple[Optional[bool], str]:
    if depth > 8:
        return False, 'structural'
    g, p = _single(_flatten_pm(g)), _single(_flatten_pm(p))
    kg, kp = g[0], p[0]
    if kg == 'letter' or kp == 'letter':
        return (kg == kp and g[1] == p[1]), 'exact'
    if kg == 'text' or kp == 'text':
        return (kg == kp and g[1] == p[1]), 'exact'
    if kg in ('expr', 'pct') and kp in ('expr', 'pct'):
        if kg == kp:
            return compare_expr(g[1], p[1], cfg, symbolic)
        method = 'exact'
        for ge in _pct_values(g, cfg):
            for pe in _pct_values(p, cfg):
                v, m = compare_expr(ge, pe, cfg, symbolic)
                if v:
                    return True, m
                method = _merge(method, m)
        return False, method
    if kg == 'eq' and kp == 'eq':
        return _equation_equal(g, p, cfg, symbolic)
    if kg == 'eq' and kp in ('expr', 'pct'):
        return (
            _compare(('expr', g[2]), p, cfg, symbolic, depth + 1)
            if _names_value(g, cfg)
            else (False, 'structural')
        )
    if kp == 'eq' and kg in ('expr', 'pct'):
        return (
            _compare(g, ('expr', p[2]), cfg, symbolic, depth + 1)
            if _names_value(p, cfg)
            else (False, 'structural')
        )
    if kg == 'interval' or kp == 'interval':
        return _compare_interval(g, p, cfg, symbolic)
    if kg == 'union' or kp == 'union':
        # a union answers a list of intervals ("x < -2 or x > 2"), unordered and complete
        if {kg, kp} <= {'union', 'list', 'set'}:
            return _unordered(g[1], p[1], cfg, symbolic, depth)
        return False, 'structural'
    seq = ('tuple', 'list', 'set')
    if kg in seq and kp in seq:
        ordered = 'tuple' in (kg, kp) and 'set' not in (kg, kp)
        if kg == 'tuple' and kp == 'tuple' or ordered:
            if len(g[1]) != len(p[1]):
                return False, 'structural'
            method = 'structural'
            for a, b in zip(g[1], p[1]):
                v, m = _compare(a, b, cfg, symbolic, depth + 1)
                method = _merge(method, m)
                if not v:
                    return v, method
            return True, method
        return _unordered(g[1], p[1], cfg, symbolic, depth)
    return False, 'structural'


def _unordered(gs, ps, cfg, symbolic, depth) -> Tuple[Optional[bool], str]:
    gs, ps = _dedup(gs), _dedup(ps)
    if len(gs) != len(ps):
        return False, 'structural'
    used = [False] * len(ps)
    method = 'structural'
    for a in gs:
        found = False
        for j, b in enumerate(ps):
            if used[j]:
                continue
            v, m = _compare(a, b, cfg, symbolic, depth + 1)
            if v:
                used[j] = found = True
                method = _merge(method, m)
                break
            if v is None:
                method = _merge(method, m)
        if not found:
            return (None if method == 'timeout' else False), method
    return True, method


def _dedup(items) -> list:
    out, seen = [], set()
    for x in items:
        k = node_key(canonical(x[1])) if x[0] == 'expr' else node_key(x)
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def _compare_interval(g, p, cfg, symbolic) -> Tuple[Optional[bool], str]:
    def as_iv(n):
        if n[0] == 'interval':
            return n
        if n[0] == 'tuple' and len(n[1]) == 2 and all(x[0] == 'expr' for x in n[1]):
            return ('interval', n[1][0][1], n[1][1][1], False, False)
        return None

    a, b = as_iv(g), as_iv(p)
    if a is None or b is None:
        return False, 'structural'
    if a[3] != b[3] or a[4] != b[4]:
        return False, 'structural'
    method = 'structural'
    for x, y in ((a[1], b[1]), (a[2], b[2])):
        v, m = compare_expr(x, y, cfg, symbolic)
        method = _merge(method, m) if m != 'timeout' else 'timeout'
        if not v:
            return v, method
    return True, method
