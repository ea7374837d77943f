"""Parser for the regular subset of Python's regex syntax (str patterns, CPython 3.11 rules).

Grammar and errors follow ``re`` (``{`` not starting a valid bound is a literal, ``x{,n}`` is
``x{0,n}``, "nothing to repeat"...); constructs a finite automaton cannot express raise
:class:`UnsupportedRegexError` naming the construct and position. Like ``re``, a one-literal
class becomes the literal and single-character alternatives become one class, which changes
what IGNORECASE matches (:mod:`twinkle.dfa.charset`).

Tree nodes:
    * ``('lit', cp)``, ``('notlit', cp)``, ``('in', negate, items)`` with items ``('lit', cp)``,
      ``('range', lo, hi)``, ``('cat', 'd'|'D'|'w'|'W'|'s'|'S')``; ``('any',)``;
      ``('at', kind)`` with kind in ``A Z ^ $ b B``; tuples, compared by value.
    * :class:`Group`, :class:`Repeat`, :class:`Branch`: compound nodes, compared by identity.
    * A sequence is a Python list of nodes.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

__all__ = [
    'UnsupportedRegexError',
    'RegexSyntaxError',
    'Group',
    'Repeat',
    'Branch',
    'parse',
    'FLAG_I',
    'FLAG_M',
    'FLAG_S',
    'INF',
]

FLAG_I = int(re.IGNORECASE)
FLAG_M = int(re.MULTILINE)
FLAG_S = int(re.DOTALL)
INF = -1  # Repeat.max for an unbounded repeat

_MAX_REPEAT = 100_000  # far above any format pattern; keeps the NFA expansion bounded


class UnsupportedRegexError(ValueError):
    """The pattern is valid Python regex syntax but cannot be compiled to a DFA."""


class RegexSyntaxError(ValueError):
    """The pattern is not valid Python regex syntax."""


@dataclasses.dataclass(eq=False)
class Group:
    """``( )``, ``(?: )``, ``(?P<n> )`` or a scoped-flags group ``(?i-s: )``."""

    seq: list
    add_flags: int = 0
    del_flags: int = 0


@dataclasses.dataclass(eq=False)
class Repeat:
    """``body{min,max}``; ``max`` is :data:`INF` when unbounded. Laziness is irrelevant here."""

    min: int
    max: int
    seq: list


@dataclasses.dataclass(eq=False)
class Branch:
    """Alternation ``a|b|...`` of sequences."""

    alts: list


_FLAG_LETTERS = {
    'i': FLAG_I,
    'm': FLAG_M,
    's': FLAG_S,
    'u': int(re.UNICODE),
    'a': int(re.ASCII),
    'x': int(re.VERBOSE),
    'L': int(re.LOCALE),
}
_UNSUPPORTED_FLAG_NAMES = {
    int(re.ASCII): 're.ASCII',
    int(re.VERBOSE): 're.VERBOSE',
    int(re.LOCALE): 're.LOCALE',
    int(re.DEBUG): 're.DEBUG',
}
if hasattr(re, 'TEMPLATE'):  # deprecated in 3.11, removed in 3.13
    _UNSUPPORTED_FLAG_NAMES[int(re.TEMPLATE)] = 're.TEMPLATE'
_SIMPLE_ESCAPES = {'a': 7, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11, '\\': 92}
_CATEGORY_ESCAPES = 'dDsSwW'
_HEX = '0123456789abcdefABCDEF'
_OCT = '01234567'
_DIGITS = '0123456789'
_REPEAT_CHARS = '*+?{'


def check_flags(flags: int, where: str = 'flags') -> None:
    """Raises UnsupportedRegexError naming each flag other than DOTALL, IGNORECASE, MULTILINE.

    ``re.UNICODE`` is accepted: it is the default for str patterns.

    >>> check_flags(re.DOTALL | re.IGNORECASE)
    """
    allowed = FLAG_I | FLAG_M | FLAG_S | int(re.UNICODE)
    bad = int(flags) & ~allowed
    if bad:
        names = [n for bit, n in _UNSUPPORTED_FLAG_NAMES.items() if bad & bit] or [hex(bad)]
        raise UnsupportedRegexError(
            f'{", ".join(names)} in {where} is not supported by the DFA compiler '
            '(supported: re.DOTALL, re.IGNORECASE, re.MULTILINE)'
        )


class _Parser:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.global_flags = 0
        self.group_names: set[str] = set()

    # -- low-level cursor ---------------------------------------------------------------------

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.p[j] if j < len(self.p) else None

    def get(self) -> str | None:
        c = self.peek()
        if c is not None:
            self.i += 1
        return c

    def match(self, s: str) -> bool:
        if self.p.startswith(s, self.i):
            self.i += len(s)
            return True
        return False

    def syntax(self, msg: str, pos: int | None = None):
        pos = self.i if pos is None else pos
        return RegexSyntaxError(f'{msg} at position {pos} in pattern {self.p!r}')

    def unsupported(self, what: str, pos: int):
        return UnsupportedRegexError(
            f'{what} at position {pos} is not supported by the DFA compiler (pattern {self.p!r})'
        )

    def getwhile(self, n: int, chars: str) -> str:
        out = ''
        while len(out) < n and self.peek() is not None and self.peek() in chars:
            out += self.get()
        return out

    # -- grammar ------------------------------------------------------------------------------

    def parse_sub(self, nested: int) -> list:
        items = [self.parse_seq(nested, first=not nested)]
        while self.match('|'):
            items.append(self.parse_seq(nested, first=False))
        if len(items) == 1:
            return items[0]
        out: list = []
        # Factor out a common first item, as re's parser does (it changes which alternatives end
        # up merged into one class below, which matters under IGNORECASE).
        while all(items) and all(isinstance(it[0], tuple) for it in items):
            head = items[0][0]
            if any(it[0] != head for it in items):
                break
            out.append(head)
            items = [it[1:] for it in items]
        merged: list = []
        for it in items:
            if len(it) != 1 or not isinstance(it[0], tuple):
                break
            node = it[0]
            if node[0] == 'lit':
                merged.append(node)
            elif node[0] == 'in' and not node[1]:
                merged.extend(node[2])
            else:
                break
        else:
            out.append(('in', False, tuple(_uniq(merged))))
            return out
        out.append(Branch(items))
        return out

    def parse_seq(self, nested: int, first: bool) -> list:
        seq: list = []
        while True:
            c = self.peek()
            if c is None or c in '|)':
                break
            start = self.i
            self.get()
            if c == '\\':
                seq.append(self.escape(start))
            elif c == '[':
                seq.append(self.char_class(start))
            elif c == '.':
                seq.append(('any',))
            elif c == '^':
                seq.append(('at', '^'))
            elif c == '$':
                seq.append(('at', '$'))
            elif c in _REPEAT_CHARS:
                self.repeat(seq, c, start)
            elif c == '(':
                node = self.group(start, nested, first and not seq)
                if node is not None:
                    seq.append(node)
            else:
                seq.append(('lit', ord(c)))
        return seq

    def repeat(self, seq: list, c: str, start: int) -> None:
        if c == '?':
            lo, hi = 0, 1
        elif c == '*':
            lo, hi = 0, INF
        elif c == '+':
            lo, hi = 1, INF
        else:
            if self.peek() == '}':
                seq.append(('lit', ord('{')))
                return
            here = self.i
            a = self.getwhile(len(self.p), _DIGITS)
            if self.match(','):
                b = self.getwhile(len(self.p), _DIGITS)
            else:
                b = a
            if not self.match('}'):
                # Not a bound: '{' is a literal and the rest is parsed again.
                self.i = here
                seq.append(('lit', ord('{')))
                return
            lo = int(a) if a else 0
            hi = int(b) if b else INF
            if lo > _MAX_REPEAT or hi > _MAX_REPEAT:
                raise self.unsupported(f'repeat count above {_MAX_REPEAT}', start)
            if hi != INF and hi < lo:
                raise self.syntax('min repeat greater than max repeat', start)
        if not seq or (isinstance(seq[-1], tuple) and seq[-1][0] == 'at'):
            raise self.syntax('nothing to repeat', start)
        if isinstance(seq[-1], Repeat):
            raise self.syntax('multiple repeat', start)
        if self.match('?'):
            pass  # lazy: same set of matched strings
        elif self.match('+'):
            raise self.unsupported('possessive quantifier ' + self.p[start : self.i], start)
        body = seq.pop()
        if isinstance(body, Group) and not body.add_flags and not body.del_flags:
            body_seq = body.seq
        else:
            body_seq = [body]
        seq.append(Repeat(lo, hi, body_seq))

    def group(self, start: int, nested: int, first: bool):
        add = dele = 0
        if self.match('?'):
            c = self.get()
            if c is None:
                raise self.syntax('unexpected end of pattern')
            if c == 'P':
                if self.match('<'):
                    end = self.p.find('>', self.i)
                    if end < 0:
                        raise self.syntax('missing >, unterminated name', self.i)
                    name = self.p[self.i : end]
                    if not name:
                        raise self.syntax('missing group name', self.i)
                    if not name.isidentifier():
                        raise self.syntax(f'bad character in group name {name!r}', self.i)
                    if name in self.group_names:
                        raise self.syntax(f'redefinition of group name {name!r}', self.i)
                    self.group_names.add(name)
                    self.i = end + 1
                elif self.match('='):
                    end = self.p.find(')', self.i)
                    name = self.p[self.i : end] if end >= 0 else self.p[self.i :]
                    raise self.unsupported(f'named backreference (?P={name})', start)
                else:
                    raise self.syntax(f'unknown extension ?P{self.peek() or ""}', start)
            elif c == ':':
                pass
            elif c == '#':
                end = self.p.find(')', self.i)
                if end < 0:
                    raise self.syntax('missing ), unterminated comment', start)
                self.i = end + 1
                return None
            elif c in '=!':
                raise self.unsupported('lookahead assertion (?' + c, start)
            elif c == '<':
                d = self.get()
                if d in ('=', '!'):
                    raise self.unsupported('lookbehind assertion (?<' + d, start)
                raise self.syntax(f'unknown extension ?<{d or ""}', start)
            elif c == '(':
                raise self.unsupported('conditional group (?(...)', start)
            elif c == '>':
                raise self.unsupported('atomic group (?>...)', start)
            elif c in _FLAG_LETTERS or c == '-':
                self.i -= 1
                flags = self.inline_flags(start)
                if flags is None:
                    if not first:
                        raise self.syntax('global flags not at the start of the expression', start)
                    return None
                add, dele = flags
            else:
                raise self.syntax(f'unknown extension ?{c}', start)
        seq = self.parse_sub(nested + 1)
        if not self.match(')'):
            raise self.syntax('missing ), unterminated subpattern', start)
        return Group(seq, add, dele)

    def inline_flags(self, start: int):
        add = dele = 0
        while self.peek() is not None and self.peek() in _FLAG_LETTERS:
            add |= _FLAG_LETTERS[self.get()]
        if self.match(')'):
            check_flags(add, f'inline flags at position {start}')
            self.global_flags |= add
            return None
        if self.match('-'):
            while self.peek() is not None and self.peek() in _FLAG_LETTERS:
                dele |= _FLAG_LETTERS[self.get()]
            if not dele:
                raise self.syntax('missing flag', self.i)
        if not self.match(':'):
            raise self.syntax('missing -, : or )', self.i)
        check_flags(add | dele, f'inline flags at position {start}')
        if add & dele:
            raise self.syntax('bad inline flags: flag turned on and off', start)
        return add, dele

    def number_escape(self, start: int, c: str) -> int:
        """Escapes with a numeric value (\\x \\u \\U \\N \\0 and octal); returns a code point."""
        if c == 'x':
            h = self.getwhile(2, _HEX)
            if len(h) != 2:
                raise self.syntax(f'incomplete escape \\x{h}', start)
            return int(h, 16)
        if c == 'u':
            h = self.getwhile(4, _HEX)
            if len(h) != 4:
                raise self.syntax(f'incomplete escape \\u{h}', start)
            return int(h, 16)
        if c == 'U':
            h = self.getwhile(8, _HEX)
            if len(h) != 8:
                raise self.syntax(f'incomplete escape \\U{h}', start)
            v = int(h, 16)
            if v > 0x10FFFF:
                raise self.syntax(f'bad escape \\U{h}', start)
            return v
        if c == 'N':
            if not self.match('{'):
                raise self.syntax('missing {', self.i)
            end = self.p.find('}', self.i)
            if end < 0:
                raise self.syntax('missing }, unterminated name', self.i)
            name = self.p[self.i : end]
            self.i = end + 1
            try:
                return ord(unicodedata.lookup(name))
            except (KeyError, TypeError):
                raise self.syntax(f'undefined character name {name!r}', start) from None
        raise AssertionError(c)

    def escape(self, start: int):
        c = self.get()
        if c is None:
            raise self.syntax('bad escape (end of pattern)', start)
        if c in _CATEGORY_ESCAPES:
            return ('in', False, (('cat', c),))
        if c == 'A':
            return ('at', 'A')
        if c == 'Z':
            return ('at', 'Z')
        if c in 'bB':
            return ('at', c)
        if c in _SIMPLE_ESCAPES:
            return ('lit', _SIMPLE_ESCAPES[c])
        if c in 'xuUN':
            return ('lit', self.number_escape(start, c))
        if c == '0':
            return ('lit', int('0' + self.getwhile(2, _OCT), 8))
        if c in _DIGITS:
            digits = c
            if self.peek() is not None and self.peek() in _DIGITS:
                digits += self.get()
                if (
                    digits[0] in _OCT
                    and digits[1] in _OCT
                    and self.peek() is not None
                    and self.peek() in _OCT
                ):
                    digits += self.get()
                    v = int(digits, 8)
                    if v > 0o377:
                        raise self.syntax(f'octal escape value \\{digits} outside of range 0-0o377', start)
                    return ('lit', v)
            raise self.unsupported(f'backreference \\{digits}', start)
        if c.isascii() and c.isalpha():
            raise self.syntax(f'bad escape \\{c}', start)
        return ('lit', ord(c))

    def class_escape(self, start: int):
        c = self.get()
        if c is None:
            raise self.syntax('bad escape (end of pattern)', start)
        if c == 'b':
            return ('lit', 8)
        if c in _SIMPLE_ESCAPES:
            return ('lit', _SIMPLE_ESCAPES[c])
        if c in _CATEGORY_ESCAPES:
            return ('cat', c)
        if c in 'xuUN':
            return ('lit', self.number_escape(start, c))
        if c in _OCT:
            digits = c + self.getwhile(2, _OCT)
            v = int(digits, 8)
            if v > 0o377:
                raise self.syntax(f'octal escape value \\{digits} outside of range 0-0o377', start)
            return ('lit', v)
        if c in _DIGITS or (c.isascii() and c.isalpha()):
            raise self.syntax(f'bad escape \\{c}', start)
        return ('lit', ord(c))

    def char_class(self, start: int):
        items: list = []
        negate = self.match('^')
        while True:
            here = self.i
            c = self.get()
            if c is None:
                raise self.syntax('unterminated character set', start)
            if c == ']' and items:
                break
            item = self.class_escape(here) if c == '\\' else ('lit', ord(c))
            if self.match('-'):
                here2 = self.i
                d = self.get()
                if d is None:
                    raise self.syntax('unterminated character set', start)
                if d == ']':
                    items.append(item)
                    items.append(('lit', ord('-')))
                    break
                item2 = self.class_escape(here2) if d == '\\' else ('lit', ord(d))
                if item[0] != 'lit' or item2[0] != 'lit' or item2[1] < item[1]:
                    raise self.syntax(f'bad character range {self.p[here : self.i]}', here)
                items.append(('range', item[1], item2[1]))
            else:
                items.append(item)
        items = _uniq(items)
        if len(items) == 1 and items[0][0] == 'lit':
            return ('notlit' if negate else 'lit', items[0][1])
        return ('in', negate, tuple(items))


def _uniq(items) -> list:
    return list(dict.fromkeys(items))


def parse(pattern: str) -> tuple[list, int]:
    """Parses ``pattern`` into a sequence of nodes.

    Args:
        pattern: a Python regex (str).

    Returns:
        ``(seq, global_flags)``: the tree and the flags set by leading ``(?flags)`` groups.

    Raises:
        UnsupportedRegexError: for backreferences, lookaround, conditionals, atomic groups,
            possessive quantifiers and unsupported inline flags.
        RegexSyntaxError: for malformed patterns; the message gives the position.

    >>> seq, flags = parse("(?s)a|b")
    >>> seq, flags == FLAG_S
    ([('in', False, (('lit', 97), ('lit', 98)))], True)
    """
    if not isinstance(pattern, str):
        raise TypeError('compile_regex takes str patterns (bytes patterns are not supported)')
    p = _Parser(pattern)
    seq = p.parse_sub(0)
    if p.peek() is not None:
        raise p.syntax('unbalanced parenthesis')
    return seq, p.global_flags
