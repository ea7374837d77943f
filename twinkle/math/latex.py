"""A small LaTeX parser for final answers: normalized text -> answer tree.

Hand-written recursive descent, so it needs no ANTLR runtime or extra dependency, has a
depth bound (deep nesting is a ParseError, never a RecursionError) and builds plain tuples
that hash, pickle and evaluate without sympy (sympy objects are built only in the workers).

Expression nodes (tuples; first item is the tag):

- ``('num', Fraction, dec)``: a literal; ``dec`` is None for integers, else
  ``(decimal_places, significant_digits)`` of a decimal literal.
- ``('sym', name)``; ``('const', 'pi' | 'e' | 'i' | 'oo')``.
- ``('add', terms)``, ``('mul', factors)``, ``('neg', x)``, ``('div', a, b)``,
  ``('pow', a, b)``, ``('pm', a, b)`` (``a \\pm b``), ``('fn', name, args)``.

Answer nodes: ``('expr', e)``, ``('pct', e)``, ``('eq', lhs, rhs)``, ``('tuple', items)``,
``('list', items)`` (a bare comma list: unordered), ``('set', items)``,
``('interval', lo, hi, lo_closed, hi_closed)``, ``('union', intervals)``,
``('letter', 'C')``, ``('text', 'monday')``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import List, Optional, Tuple

from twinkle.math.normalize import normalize

__all__ = ['ParseError', 'parse_expr', 'parse_answer', 'MAX_DEPTH']

MAX_DEPTH = 120  # nesting bound of the recursive descent
MAX_TOKENS = 4000  # longer answers are not parsed

_TOKEN = re.compile(r'\s+|(\d+(?:\.\d*)?|\.\d+)|(\\[a-zA-Z]+|\\.)|([a-zA-Z])|(.)', re.S)

_GREEK = {
    'alpha',
    'beta',
    'gamma',
    'delta',
    'epsilon',
    'varepsilon',
    'zeta',
    'eta',
    'theta',
    'vartheta',
    'iota',
    'kappa',
    'lambda',
    'mu',
    'nu',
    'xi',
    'rho',
    'sigma',
    'tau',
    'upsilon',
    'phi',
    'varphi',
    'chi',
    'psi',
    'omega',
    'Gamma',
    'Delta',
    'Theta',
    'Lambda',
    'Xi',
    'Sigma',
    'Phi',
    'Psi',
    'Omega',
    'ell',
}
_FUNCS = {
    'sin',
    'cos',
    'tan',
    'cot',
    'sec',
    'csc',
    'arcsin',
    'arccos',
    'arctan',
    'sinh',
    'cosh',
    'tanh',
    'ln',
    'log',
    'exp',
}
_CONSTS = {
    'pi': ('const', 'pi'),
    'infty': ('const', 'oo'),
    'infinity': ('const', 'oo'),
    'imath': ('const', 'i'),
    'e': ('const', 'e'),
}
_MUL_OPS = {'*', '\\cdot', '\\times', '\\ast'}
_DIV_OPS = {'/', '\\div'}
_ATOM_CMDS = (
    {
        '\\frac',
        '\\sqrt',
        '\\binom',
        '\\lfloor',
        '\\lceil',
        '\\lvert',
        '\\vert',
        '\\exp',
        '\\lbrack',
        '\\sum',
        '\\prod',
    }
    | {'\\' + f for f in _FUNCS}
    | {'\\' + g for g in _GREEK}
    | {'\\' + c for c in _CONSTS}
)
_IGNORED_CMDS = {'\\,', '\\;', '\\!', '\\:', '\\ ', '\\quad', '\\qquad'}


class ParseError(ValueError):
    """The text is not an answer this parser understands."""


def _tokenize(s: str) -> List[Tuple[str, str]]:
    toks = []
    for m in _TOKEN.finditer(s):
        num, cmd, letter, other = m.groups()
        if num is not None:
            toks.append(('num', num))
        elif cmd is not None:
            if cmd not in _IGNORED_CMDS:
                toks.append(('cmd', cmd))
        elif letter is not None:
            toks.append(('let', letter))
        elif other is not None:
            toks.append(('op', other))
        if len(toks) > MAX_TOKENS:
            raise ParseError('answer too long')
    return toks


def decimal_fraction(text: str) -> Fraction:
    """``'12.25'`` -> ``Fraction(49, 4)``, without ``Fraction(str)``'s slow regex.

    >>> decimal_fraction('-0.50'), decimal_fraction('3.')
    (Fraction(-1, 2), Fraction(3, 1))
    """
    sign = -1 if text.startswith('-') else 1
    intpart, _, frac = text.lstrip('+-').partition('.')
    return Fraction(sign * int((intpart or '0') + frac), 10 ** len(frac))


def _num(text: str) -> tuple:
    if '.' in text:
        intpart, _, frac = text.partition('.')
        digits = (intpart + frac).lstrip('0')
        return ('num', decimal_fraction(text), (len(frac), max(len(digits), 1)))
    return ('num', Fraction(int(text)), None)


class _Parser:
    """Recursive descent over the token list; ``depth`` bounds the recursion."""

    def __init__(self, s: str):
        self.toks = _tokenize(s)
        self.i = 0
        self.depth = 0
        self.abs_depth = 0
        self._last_frac = False  # the factor just parsed came from \frac (mixed numbers)
        self._last_plain = False  # ... and was a plain integer literal

    # -- token helpers -------------------------------------------------------------
    def peek(self, k: int = 0) -> Tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ('eof', '')

    def next(self) -> Tuple[str, str]:
        t = self.peek()
        self.i += 1
        return t

    def expect(self, value: str) -> None:
        t = self.next()
        if t[1] != value:
            raise ParseError(f'expected {value!r}, got {t[1]!r}')

    def at(self, *values: str) -> bool:
        return self.peek()[1] in values and self.peek()[0] != 'num'

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError('answer nested too deeply')

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> tuple:
        e = self.expr()
        if self.peek()[0] != 'eof':
            raise ParseError(f'unexpected {self.peek()[1]!r}')
        return e

    def expr(self) -> tuple:
        self.enter()
        terms = [self.term()]
        while True:
            t = self.peek()
            if t == ('op', '+'):
                self.next()
                terms.append(self.term())
            elif t == ('op', '-'):
                self.next()
                terms.append(('neg', self.term()))
            elif t in (('cmd', '\\pm'), ('cmd', '\\mp')):
                self.next()
                rhs = self.term()
                left = terms[0] if len(terms) == 1 else ('add', tuple(terms))
                terms = [('pm', left, rhs if t[1] == '\\pm' else ('neg', rhs))]
            else:
                break
        self.depth -= 1
        return terms[0] if len(terms) == 1 else ('add', tuple(terms))

    def term(self) -> tuple:
        self.enter()
        factors = [self.unary()]
        while True:
            t = self.peek()
            if t[1] in _MUL_OPS and t[0] != 'num':
                self.next()
                factors.append(self.unary())
            elif t[1] in _DIV_OPS and t[0] != 'num':
                self.next()
                den = self.unary()
                num = factors[0] if len(factors) == 1 else ('mul', tuple(factors))
                factors = [('div', num, den)]
            elif self._starts_atom(t):
                was_int = factors[-1][0] == 'num' and factors[-1][2] is None and self._last_plain
                nxt = self.unary()
                if (
                    was_int
                    and self._last_frac
                    and nxt[0] == 'div'
                    and nxt[1][0] == 'num'
                    and nxt[2][0] == 'num'
                    and nxt[1][2] is None
                    and nxt[2][2] is None
                    and 0 < nxt[1][1] < nxt[2][1]
                ):
                    # 2\frac{1}{2} is the mixed number 5/2 (the MATH dataset convention).
                    factors[-1] = ('num', factors[-1][1] + nxt[1][1] / nxt[2][1], None)
                else:
                    factors.append(nxt)
            else:
                break
        self.depth -= 1
        return factors[0] if len(factors) == 1 else ('mul', tuple(factors))

    def _starts_atom(self, t: Tuple[str, str]) -> bool:
        kind, v = t
        if kind in ('num', 'let'):
            return True
        if kind == 'cmd':
            return v in _ATOM_CMDS
        if kind == 'op':
            return v in '({[' or (v == '|' and self.abs_depth == 0)
        return False

    @staticmethod
    def _is_function(t: Tuple[str, str]) -> bool:
        return t[0] == 'cmd' and t[1][1:] in _FUNCS

    def unary(self) -> tuple:
        t = self.peek()
        if t == ('op', '-'):
            self.next()
            self.enter()
            x = ('neg', self.unary())
            self.depth -= 1
            return x
        if t == ('op', '+'):
            self.next()
            return self.unary()
        if t in (('cmd', '\\pm'), ('cmd', '\\mp')):
            self.next()
            x = self.unary()
            return ('pm', ('num', Fraction(0), None), x if t[1] == '\\pm' else ('neg', x))
        return self.power()

    def power(self) -> tuple:
        self.enter()
        self._last_frac = False
        self._last_plain = False
        base = self.postfix()
        frac, plain = self._last_frac, self._last_plain
        if self.peek() == ('op', '^'):
            self.next()
            exp = self.script_arg()
            base = ('pow', base, exp)
            frac = plain = False
            base = self.postfix_ops(base)
        self._last_frac, self._last_plain = frac, plain
        self.depth -= 1
        return base

    def script_arg(self, single_digit: bool = False) -> tuple:
        """The argument of ``^`` or ``_``: a braced group or one token; an unbraced number is taken
        whole (``x^10``), except ``\\log_28`` (base 2 of 8).
        """
        t = self.peek()
        if t == ('op', '{'):
            return self.group()
        if t == ('op', '-'):
            self.next()
            return ('neg', self.script_arg(single_digit))
        if t[0] == 'num':
            return self.number(single_digit)
        return self.atom()

    def number(self, single_digit: bool) -> tuple:
        """The number token at the cursor; with ``single_digit`` only its first digit, the
        rest pushed back (``\\frac12`` is 1/2, ``x^23`` is x^2 times 3)."""
        t = self.next()
        if single_digit and len(t[1]) > 1 and t[1][0].isdigit():
            self.toks.insert(self.i, ('num', t[1][1:]))
            return _num(t[1][0])
        return _num(t[1])

    def postfix(self) -> tuple:
        x = self.atom()
        return self.postfix_ops(x)

    def postfix_ops(self, x: tuple) -> tuple:
        while True:
            t = self.peek()
            if t == ('op', '!'):
                self.next()
                x = ('fn', 'fact', (x,))
                self._last_plain = False
            elif t == ('op', "'"):
                raise ParseError('derivative notation')
            else:
                return x

    def group(self) -> tuple:
        self.expect('{')
        if self.peek() == ('op', '}'):
            raise ParseError('empty group')
        e = self.expr()
        self.expect('}')
        return e

    def arg(self, single_digit: bool = False) -> tuple:
        """A command argument: ``{...}``, ``(...)`` as plain text writes it
        (``\\sqrt(5)``), or one token (``\\frac12``)."""
        t = self.peek()
        if t == ('op', '{'):
            return self.group()
        if t == ('op', '('):
            self.next()
            e = self.expr()
            self.expect(')')
            return e
        if t[0] == 'num':
            return self.number(single_digit)
        if t[0] == 'let':
            self.next()
            return ('sym', t[1])
        if t[0] == 'cmd':
            return self.atom()
        raise ParseError(f'bad argument {t[1]!r}')

    def atom(self) -> tuple:
        self.enter()
        x = self._atom()
        self.depth -= 1
        return x

    def _atom(self) -> tuple:
        kind, v = self.next()
        if kind == 'num':
            x = _num(v)
            if self.peek() == ('op', '_'):
                self.next()
                base = self.script_arg()
                if base[0] != 'num' or base[2] is not None or not 2 <= base[1] <= 36 or '.' in v:
                    raise ParseError('bad number base')
                try:
                    return ('num', Fraction(int(v, int(base[1]))), None)
                except ValueError:
                    raise ParseError(f'{v} is not a base-{base[1]} numeral') from None
            self._last_plain = x[2] is None
            return x
        if kind == 'let':
            if v == 'i':
                return ('const', 'i')
            if v == 'e':
                return ('const', 'e')
            name = v
            if self.peek() == ('op', '_'):
                self.next()
                sub = self.script_arg()
                name = f'{v}_{_key(sub)}'
            return ('sym', name)
        if kind == 'op':
            if v == '(':
                e = self.expr()
                self.expect(')')
                return e
            if v == '[':
                e = self.expr()
                self.expect(']')
                return e
            if v == '{':
                if self.peek() == ('op', '}'):
                    raise ParseError('empty group')
                e = self.expr()
                self.expect('}')
                return e
            if v == '|' and self.abs_depth == 0:
                self.abs_depth += 1
                e = self.expr()
                self.abs_depth -= 1
                self.expect('|')
                return ('fn', 'abs', (e,))
            raise ParseError(f'unexpected {v!r}')
        if kind == 'cmd':
            name = v[1:]
            if name == 'frac':
                num = self.arg(single_digit=True)
                den = self.arg(single_digit=True)
                self._last_frac = True
                return ('div', num, den)
            if name == 'sqrt':
                if self.peek() == ('op', '['):
                    self.next()
                    n = self.expr()
                    self.expect(']')
                    return ('fn', 'root', (self.arg(single_digit=True), n))
                return ('fn', 'sqrt', (self.arg(single_digit=True),))
            if name == 'binom':
                n = self.arg(single_digit=True)
                return ('fn', 'binom', (n, self.arg(single_digit=True)))
            if name in ('lfloor', 'lceil'):
                e = self.expr()
                self.expect('\\r' + name[1:])
                return ('fn', name[1:], (e,))
            if name in ('lvert', 'vert'):
                e = self.expr()
                self.expect('\\rvert' if name == 'lvert' else '\\vert')
                return ('fn', 'abs', (e,))
            if name in ('sum', 'prod'):
                return self.big_operator(name)
            if name in _CONSTS:
                return _CONSTS[name]
            if name in _GREEK:
                return ('sym', name)
            if name in _FUNCS:
                return self.function(name)
            raise ParseError(f'unsupported command {v}')
        raise ParseError('unexpected end of answer')

    def big_operator(self, name: str) -> tuple:
        """``\\sum_{k=a}^{b} body`` / ``\\prod...`` over the following term: expanded when the bounds
        are integers with at most ``_MAX_TERMS`` terms, else ``('fn', 'sum' | 'prod', (body, k, lo, hi))``.
        """
        self.expect('_')
        self.expect('{')
        var = self.next()
        if var[0] != 'let' and not (var[0] == 'cmd' and var[1][1:] in _GREEK):
            raise ParseError(f'\\{name} needs an index variable, got {var[1]!r}')
        self.expect('=')
        lo = self.expr()
        self.expect('}')
        self.expect('^')
        hi = self.script_arg()
        body = self.term()
        index = ('sym', var[1].lstrip('\\'))
        if index[1] in ('i', 'e'):  # an index named i or e is no constant in its body
            body = _substitute(body, ('const', index[1]), index)
        if lo[0] == 'num' and hi[0] == 'num' and lo[1].denominator == hi[1].denominator == 1:
            count = int(hi[1] - lo[1]) + 1
            if count > _MAX_TERMS:
                raise ParseError(f'\\{name} with {count} terms')
            items = tuple(
                _substitute(body, index, ('num', Fraction(k), None))
                for k in range(int(lo[1]), int(hi[1]) + 1)
            )
            if not items:
                return ('num', Fraction(0 if name == 'sum' else 1), None)
            return items[0] if len(items) == 1 else ('add' if name == 'sum' else 'mul', items)
        return ('fn', name, (body, index, lo, hi))

    def function(self, name: str) -> tuple:
        power = None
        base = None
        if self.peek() == ('op', '^'):
            self.next()
            power = self.script_arg()
            if power == ('neg', ('num', Fraction(1), None)):
                if name not in ('sin', 'cos', 'tan'):
                    raise ParseError(f'inverse-function notation for {name}')
                name, power = 'arc' + name, None  # \tan^{-1} is arctan
        if name == 'log' and self.peek() == ('op', '_'):
            self.next()
            base = self.script_arg(single_digit=True)
        t = self.peek()
        if t == ('op', '('):
            self.next()
            a = self.expr()
            self.expect(')')
        elif t == ('op', '{'):
            a = self.group()
        else:
            # Without brackets the argument runs to the next operator or function, as
            # usually read: \cos 3\theta is cos(3 theta), \sin x \cos x is sin(x) cos(x).
            factors = [self.power()]
            while self._starts_atom(self.peek()) and not self._is_function(self.peek()):
                factors.append(self.power())
            a = factors[0] if len(factors) == 1 else ('mul', tuple(factors))
        args = (a,) if base is None else (a, base)
        f = ('fn', name, args)
        if power is not None:
            f = ('pow', f, power)
        return f


_MAX_TERMS = 1000  # a sum or product with integer bounds is expanded up to this many terms


def _substitute(node, name: tuple, value: tuple):
    """``node`` with every ``name`` (a ``('sym', k)`` node) replaced by ``value``."""
    if node == name:
        return value
    if isinstance(node, tuple):
        return tuple(_substitute(x, name, value) for x in node)
    return node


def _key(node: tuple) -> str:
    if node[0] == 'num':
        return str(node[1])
    if node[0] in ('sym', 'const'):
        return node[1]
    return repr(node)


@lru_cache(maxsize=16384)  # bounded: keys are answers of up to max_answer_chars
def parse_expr(s: str) -> tuple:
    """Parses a normalized LaTeX expression into an expression tree.

    Args:
        s: output of :func:`twinkle.math.normalize.normalize` (no ``=``, no lists).

    Returns:
        A tuple tree (see the module docstring).

    Raises:
        ParseError: the text is not an expression this parser accepts.

    >>> parse_expr(r'\\frac12')
    ('div', ('num', Fraction(1, 1), None), ('num', Fraction(2, 1), None))
    >>> parse_expr('2^{10}')[0]
    'pow'
    """
    if not s:
        raise ParseError('empty expression')
    return _Parser(s).parse()


# --------------------------------------------------------------------------------------
# Structure: lists, sets, tuples, intervals, equations, inequalities, letters, text.
# --------------------------------------------------------------------------------------
_MC = re.compile(r'^\(?([A-J])\)?(?:$|[.:)]|\s)')
_CMP = re.compile(r'\\le|\\ge|\\lt|\\gt|<|>')
_MATRIX = re.compile(r'\\begin\{([pbBvV]?matrix|array)\}(?:\{[^}]*\})?(.*?)\\end\{\1\}', re.S)
_FUNC_WORDS = _FUNCS | {'sqrt', 'frac', 'infty', 'pi', 'binom', 'cdot', 'times', 'and', 'or'}


# A word of three letters or more, or a lone "or" in any case: "0 or 7" (normalized "0or7")
# is a list of two answers, not the product 0·o·r·7, which equals a gold 0; an "OR" the
# split (lower case only) leaves is refused.
_LONE_OR = re.compile(r'(?<![a-zA-Z\\])or(?![a-zA-Z])', re.I)
_WORD3 = re.compile(r'[a-zA-Z]{3}|' + _LONE_OR.pattern, re.I)
_STRUCT_CHARS = re.compile(
    r'[,;:=<>%&\[\]]|\\[{}]|\\(?:le|ge|lt|gt|ne|cup|begin|emptyset|varnothing|O)(?![a-zA-Z])'
)


def _split_top(s: str, seps: Tuple[str, ...] = (',', ';')) -> List[str]:
    """Splits at separators outside any bracket; ``\\{ \\}`` count as brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(s):
        c = s[i]
        if c == '\\':
            if s.startswith('\\{', i):
                depth += 1
            elif s.startswith('\\}', i):
                depth -= 1
            i += 2
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
        elif depth == 0 and c in seps:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


def _split_words(s: str) -> List[str]:
    """Splits at the words 'and'/'or' outside brackets."""
    out, depth, start = [], 0, 0
    for m in re.finditer(r'[()\[\]{}]|(?<![a-zA-Z\\])(?:and|or)(?![a-zA-Z])', s):
        tok = m.group(0)
        if tok in '([{':
            depth += 1
        elif tok in ')]}':
            depth -= 1
        elif depth == 0:
            out.append(s[start : m.start()])
            start = m.end()
    out.append(s[start:])
    return [p for p in out]


def _wrapped(s: str) -> Optional[Tuple[str, str, str]]:
    """``(open, inner, close)`` when one bracket pair spans all of ``s``."""
    if len(s) < 2 or s[0] not in '([' or s[-1] not in ')]':
        return None
    depth = 0
    for i, c in enumerate(s):
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
            if depth == 0 and i != len(s) - 1:
                return None
    return (s[0], s[1:-1], s[-1]) if depth == 0 else None


def _is_text(s: str) -> bool:
    bare = re.sub(r'\\(?:begin|end)\{[^}]*\}', ' ', s)
    bare = re.sub(r'\\[a-zA-Z]+', ' ', bare)
    words = re.findall(r'[a-zA-Z]{3,}', bare)
    return any(w.lower() not in _FUNC_WORDS for w in words)


def _parse_matrix(body: str) -> tuple:
    rows = [r for r in re.split(r'\\\\', body) if r.strip()]
    cells = [tuple(_parse_item(c.strip(), 0) for c in r.split('&')) for r in rows]
    if not cells:
        raise ParseError('empty matrix')
    if all(len(r) == 1 for r in cells):  # column vector
        return ('tuple', tuple(r[0] for r in cells))
    if len(cells) == 1:  # row vector
        return ('tuple', cells[0])
    return ('tuple', tuple(('tuple', r) for r in cells))


def _endpoint(s: str) -> tuple:
    return parse_expr(s)


def _parse_inequality(s: str) -> Optional[tuple]:
    """``x > 3``, ``1 \\le x < 5``, ``-2<x`` -> an interval on one variable, else None."""
    parts = _CMP.split(s)
    ops = _CMP.findall(s)
    if not ops or len(parts) > 3:
        return None
    exprs = [p.strip() for p in parts]
    if any(not p for p in exprs):
        raise ParseError('incomplete inequality')
    var_idx = [i for i, p in enumerate(exprs) if re.fullmatch(r'[a-zA-Z]', p)]
    if len(var_idx) != 1:
        return None
    v = var_idx[0]
    less = [o in ('<', '\\le', '\\lt') for o in ops]
    closed = [o in ('\\le', '\\ge') for o in ops]
    inf, ninf = ('const', 'oo'), ('neg', ('const', 'oo'))
    lo, hi, lo_c, hi_c = ninf, inf, False, False
    if len(parts) == 2:
        other = parse_expr(exprs[1 - v])
        # "x < a" (v=0, less) or "a > x" (v=1, not less): x is below a.
        below = less[0] if v == 0 else not less[0]
        if below:
            hi, hi_c = other, closed[0]
        else:
            lo, lo_c = other, closed[0]
    else:
        if v != 1 or less[0] != less[1]:
            return None
        a, b = parse_expr(exprs[0]), parse_expr(exprs[2])
        if less[0]:
            lo, lo_c, hi, hi_c = a, closed[0], b, closed[1]
        else:
            lo, lo_c, hi, hi_c = b, closed[1], a, closed[0]
    return ('interval', lo, hi, lo_c, hi_c)


def _parse_item(s: str, depth: int) -> tuple:
    if depth > 8:
        raise ParseError('answer nested too deeply')
    s = s.strip()
    if not s:
        raise ParseError('empty item')
    if s.endswith('%'):
        inner = _parse_item(s[:-1], depth + 1)
        if inner[0] != 'expr':
            raise ParseError('percent of a non-number')
        return ('pct', inner[1])
    m = _MATRIX.fullmatch(s)
    if m:
        return _parse_matrix(m.group(2))
    if s in ('\\emptyset', '\\varnothing', '\\{\\}', '\\O'):
        return ('set', ())
    if s.startswith('\\{') and s.endswith('\\}'):
        inner = s[2:-2]
        return ('set', tuple(_parse_item(p, depth + 1) for p in _split_top(inner)))
    if '\\cup' in s:
        pieces = s.split('\\cup')
        ivs = tuple(_parse_item(p, depth + 1) for p in pieces)
        if not all(iv[0] in ('interval', 'set', 'tuple') for iv in ivs):
            raise ParseError('union of non-intervals')
        return ('union', tuple(_as_interval(iv) for iv in ivs))
    w = _wrapped(s)
    if w is not None:
        o, inner, c = w
        items = _split_top(inner)
        if len(items) == 2 and (o != '(' or c != ')' or '\\infty' in inner):
            return ('interval', _endpoint(items[0]), _endpoint(items[1]), o == '[', c == ']')
        if len(items) >= 2:
            return ('tuple', tuple(_parse_item(p, depth + 1) for p in items))
    if _CMP.search(s):
        iv = _parse_inequality(s)
        if iv is None:
            raise ParseError('unsupported inequality')
        return iv
    if ':' in s:
        sides = _split_top(s, (':',))
        if len(sides) == 2 and all(p.strip() for p in sides):
            # a ratio a:b is the number a/b
            return ('expr', ('div', parse_expr(sides[0].strip()), parse_expr(sides[1].strip())))
        raise ParseError('unsupported use of ":"')
    if '=' in s:
        sides = [p for p in _split_top(s, ('=',))]
        if len(sides) >= 2 and all(p.strip() for p in sides):
            # A chain "x = 2 + 1 = 3" commits to its last side.
            return ('eq', parse_expr(sides[0].strip()), parse_expr(sides[-1].strip()))
        if len(sides) >= 2:  # (an '=' inside braces, \sum_{k=1}, is no equation)
            raise ParseError('incomplete equation')
    return ('expr', parse_expr(s))


def _as_interval(node: tuple) -> tuple:
    if node[0] == 'interval':
        return node
    if node[0] == 'tuple' and len(node[1]) == 2 and all(x[0] == 'expr' for x in node[1]):
        return ('interval', node[1][0][1], node[1][1][1], False, False)
    if node[0] == 'set':
        return node
    raise ParseError('not an interval')


@lru_cache(maxsize=16384)  # bounded: keys are answers of up to max_answer_chars
def parse_answer(text: str, already_normalized: bool = False) -> tuple:
    """Parses an extracted answer into an answer tree.

    Args:
        text: the extracted answer (raw or normalized).
        already_normalized: skip :func:`normalize`.

    Returns:
        An answer node: ``('expr', e)``, ``('set', items)``, ``('interval', ...)``...

    Raises:
        ParseError: not an answer this parser understands.

    >>> parse_answer(r'\\left[1, 2\\right)')[0]
    'interval'
    >>> parse_answer(r'x = 3')[0]
    'eq'
    >>> parse_answer(r'\\text{(C)}')
    ('letter', 'C')
    >>> parse_answer(r'\\{1, 2\\}')[0]
    'set'
    """
    s = text if already_normalized else normalize(text)
    if not s:
        raise ParseError('empty answer')
    m = _MC.match(s)
    if m and (len(s) <= 3 or s.startswith('(')):
        return ('letter', m.group(1))
    has_word = _WORD3.search(s) is not None  # text needs a word of 3+ letters; lists need "or"
    if has_word and _is_text(s) and not _MATRIX.search(s):
        return ('text', re.sub(r'[^a-z0-9]+', ' ', s.lower()).strip())
    if not has_word and not _STRUCT_CHARS.search(s):
        return ('expr', parse_expr(s))  # fast path: a plain expression
    items = [q for p in _split_words(s) for q in _split_top(p)]
    if any(_LONE_OR.search(p) for p in items):  # "0 (or 7)": an "or" the split left inside brackets
        raise ParseError('"or" inside brackets')
    if len(items) > 1:
        if any(not p.strip() for p in items):
            raise ParseError('empty list item')
        return ('list', tuple(_parse_item(p, 1) for p in items))
    return _parse_item(s, 0)
