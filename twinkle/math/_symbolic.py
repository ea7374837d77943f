"""The sympy side of the math checker; runs as a separate process.

Started by :class:`twinkle.math.pool.WorkerPool` as ``python _symbolic.py`` (by path, so it
imports only sympy and the standard library). Pickled messages over stdin/stdout
(``multiprocessing.connection.Connection``): ``('ready', pid)`` once sympy is imported;
requests ``(a, b, mode)``, two expression trees and 'expr' (is a - b zero?) or 'eq' (is a / b
a nonzero constant?); replies ``('ok', bool)`` or ``('error', reason)``.

The parent kills the worker when a reply is late, which bounds this loop; so broad exception
handling here is deliberate, and every failure is reported back as a reason.
"""

from __future__ import annotations

import os
import sys

MAX_BITS = 1 << 23  # exact rational powers larger than this (1 MiB) are refused
EVALF_MAXN = 1000  # digits of working precision evalf may use to separate a value from 0


def _limit_memory(extra_bytes: int = 4 << 30) -> None:
    # An answer like 10^{10^{10}} asks sympy for a 33-gigabit integer; cap the address
    # space so that it fails fast with MemoryError instead of swapping the machine.
    try:
        import resource

        with open('/proc/self/status') as f:
            vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith('VmSize:')), 0)
        if vm:
            resource.setrlimit(resource.RLIMIT_AS, (vm + extra_bytes, resource.RLIM_INFINITY))
    except (ImportError, OSError, ValueError, StopIteration):
        pass


class NonFinite(ArithmeticError):
    """A part of the tree has no finite value (``1/0``, ``0^{-1}``, ``\\ln 0``)."""


def to_sympy(node, sp):
    """Builds a sympy expression from a twinkle expression tree.

    Raises:
        NonFinite: a subexpression other than a literal ``\\infty`` is infinite or undefined
            (checked at every node: sympy evaluates ``0 / zoo`` and ``1 / oo`` to 0).
    """
    value = _to_sympy(node, sp)
    if node[0] != 'const' and _non_finite(value, sp):
        raise NonFinite(node[0])
    return value


def _to_sympy(node, sp):
    tag = node[0]
    if tag == 'num':
        return sp.Rational(node[1].numerator, node[1].denominator)
    if tag == 'sym':
        return sp.Symbol(node[1])
    if tag == 'const':
        return {'pi': sp.pi, 'e': sp.E, 'i': sp.I, 'oo': sp.oo}[node[1]]
    if tag == 'neg':
        return -to_sympy(node[1], sp)
    if tag == 'add':
        return sp.Add(*[to_sympy(a, sp) for a in node[1]])
    if tag == 'mul':
        return sp.Mul(*[to_sympy(a, sp) for a in node[1]])
    if tag == 'div':
        return to_sympy(node[1], sp) / to_sympy(node[2], sp)
    if tag == 'pow':
        base, exp = to_sympy(node[1], sp), to_sympy(node[2], sp)
        _check_size(base, exp, sp)
        return sp.Pow(base, exp)
    if tag == 'fn':
        name = node[1]
        args = [to_sympy(a, sp) for a in node[2]]
        table = {
            'sqrt': sp.sqrt,
            'sin': sp.sin,
            'cos': sp.cos,
            'tan': sp.tan,
            'cot': sp.cot,
            'sec': sp.sec,
            'csc': sp.csc,
            'arcsin': sp.asin,
            'arccos': sp.acos,
            'arctan': sp.atan,
            'sinh': sp.sinh,
            'cosh': sp.cosh,
            'tanh': sp.tanh,
            'exp': sp.exp,
            'ln': sp.log,
            'abs': sp.Abs,
            'floor': sp.floor,
            'ceil': sp.ceiling,
            'fact': sp.factorial,
        }
        if name in table:
            return table[name](args[0])
        if name == 'log':
            return sp.log(*args)
        if name == 'root':
            return sp.real_root(args[0], args[1]) if args[1].is_odd else sp.root(args[0], args[1])
        if name == 'binom':
            return sp.binomial(args[0], args[1])
        if name in ('sum', 'prod'):  # body, index, lower and upper bound
            big = sp.Sum if name == 'sum' else sp.Product
            return big(args[0], (args[1], args[2], args[3]))  # decide() evaluates it
        raise ValueError(f'unknown function {name}')
    raise ValueError(f'unknown node {tag}')


def _check_size(base, exp, sp) -> None:
    """Refuses a rational power of more than ``MAX_BITS`` bits, which sympy would compute eagerly."""
    if not (base.is_Rational and exp.is_Rational) or base == 0 or abs(base) == 1:
        return
    size = max(abs(int(base.p)).bit_length(), int(base.q).bit_length())
    if abs(exp) * size > MAX_BITS:
        raise ValueError('a power too large to compute exactly')


def _non_finite(x, sp) -> bool:
    return bool(x.has(sp.oo, -sp.oo, sp.zoo, sp.nan))


def _is_zero(s, sp) -> bool:
    """Whether the simplified difference ``s`` is zero, exactly where it can be decided."""
    # Rationals compare exactly. Another number is nonzero when strict evalf (up to EVALF_MAXN
    # digits) separates it from zero; otherwise an algebraic one is zero iff its minimal polynomial
    # is x, and a transcendental one is taken as zero.
    if s == 0:
        return True
    if s.is_Rational:
        return False
    if not s.is_number:
        return False
    try:
        v = s.evalf(30, strict=True, maxn=EVALF_MAXN)
    except sp.PrecisionExhausted:
        if s.is_algebraic:
            x = sp.Dummy('x')
            return sp.minimal_polynomial(s, x) == x
        return True
    return bool(v == 0)


def _counters(node) -> set:
    """Names of the index and bound symbols of the sums and products in a tree (no twinkle import here)."""
    out, stack = set(), [node]
    while stack:
        n = stack.pop()
        if not isinstance(n, tuple) or not n or not isinstance(n[0], str):
            continue
        if n[0] == 'sym':
            continue
        big = n[0] == 'fn' and n[1] in ('sum', 'prod')
        for part in n[2][1:] if big else ():
            out |= _symbols(part)
        for x in n[1:]:
            stack.extend(x if isinstance(x, tuple) and x and isinstance(x[0], tuple) else [x])
    return out


def _symbols(node) -> set:
    if not isinstance(node, tuple) or not node:
        return set()
    if node[0] == 'sym':
        return {node[1]}
    out = set()
    for x in node[1:]:
        for y in x if isinstance(x, tuple) and x and isinstance(x[0], tuple) else [x]:
            out |= _symbols(y)
    return out


def decide(a, b, mode, sp) -> bool:
    """Whether two trees are equal ('expr') or two equations equivalent ('eq').

    An infinite or undefined part (``1/0``, ``\\infty + 1``) makes the pair "not shown equal";
    nothing non-finite is compared through a difference or ratio (``zoo - 5`` is ``zoo``).
    """
    try:
        x, y = to_sympy(a, sp), to_sympy(b, sp)
    except NonFinite:
        return False
    counters = _counters(a) | _counters(b)
    if counters:
        # \sum_{k=1}^{n}: k and n count terms, so they are non-negative integers on both
        # sides (without that, sympy keeps a Piecewise for other n).
        rep = {sp.Symbol(n): sp.Symbol(n, integer=True, nonnegative=True) for n in counters}
        try:
            x, y = x.subs(rep).doit(), y.subs(rep).doit()
        except (ValueError, TypeError, NotImplementedError):
            return False
        if _non_finite(x, sp) or _non_finite(y, sp):
            return False
    if _non_finite(x, sp) or _non_finite(y, sp):
        return bool(x in (sp.oo, -sp.oo) and x == y)
    if mode == 'eq':
        if y == 0:
            return x == 0
        q = sp.simplify(x / y)
        return bool(q.is_number and not _non_finite(q, sp) and not _is_zero(q, sp))
    d = x - y
    if d == 0 or d.is_zero is True:
        return True
    s = sp.simplify(d)
    if _non_finite(s, sp):
        return False
    return _is_zero(s, sp)


def _exit_with_parent(parent: int) -> None:
    # A worker busy in sympy does not notice its pipe closing; if the parent dies
    # (killed, crashed), this thread ends the worker within a second.
    import threading
    import time

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    from multiprocessing.connection import Connection

    _exit_with_parent(os.getppid())
    # Private copies of the pipes; fd 1 is pointed at stderr so stray prints cannot
    # corrupt the protocol stream.
    rfd, wfd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    conn_in = Connection(rfd, writable=False)
    conn_out = Connection(wfd, readable=False)
    import sympy as sp

    _limit_memory()
    conn_out.send(('ready', os.getpid()))
    while True:
        try:
            msg = conn_in.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        try:
            reply = ('ok', decide(*msg, sp=sp))
        except MemoryError:
            reply = ('error', 'memory')
        except RecursionError:
            reply = ('error', 'recursion')
        except Exception as e:  # bounded by the parent's kill; reported, not hidden
            reply = ('error', f'{type(e).__name__}: {e}'[:200])
        try:
            conn_out.send(reply)
        except (OSError, BrokenPipeError):
            return


if __name__ == '__main__':
    sys.setrecursionlimit(5000)
    main()
