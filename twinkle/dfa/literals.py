"""Factors a regex's every match contains: a prefilter that rules texts out without a scan.

A *factor* is a tuple of small code point sets, one per position; a text holds it where
consecutive code points fall in the sets in order (``[Tt]he`` is one factor of three
positions, the first ``{T, t}``). :func:`required_factors` returns factors such that every
string the pattern matches holds at least one of them, in any mode: a text that holds none
has no match at all, so a scan of it can be skipped. The string scanner finds every
pattern's factors in one pass over a text (csrc/cpu/dfa_strings.cpp, ``LiteralFilter``).

Each node of the parsed pattern gets four facts, each a small set of factors or None
(unknown): every match is one of ``exact``; starts with one of ``prefix``; ends with one of
``suffix``; contains one of ``need``. A concatenation's matches also hold a suffix of the
left part followed by a prefix of the right one, which is how ``\\boxed\\{`` or
``[Tt]herefore,? the answer is`` come out whole. A character becomes a position when it
matches at most :data:`_MAX_CLASS` code points under the pattern's flags (IGNORECASE ``i``
is ``{I, i, İ, ı}``, as the DFA compiler's character sets have it), none of them a
surrogate or U+FFFD, which the scanner reads a lone surrogate as.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import FrozenSet, List, Optional, Tuple

import numpy as np

from twinkle.dfa import charset
from twinkle.dfa.regex import FLAG_I, FLAG_S, INF, Branch, Group, Repeat, parse

__all__ = ['Factor', 'assertion_free', 'factor_text', 'required_factors', 'run_then_factors', 'window_start']

Factor = Tuple[FrozenSet[int], ...]

_MAX_SET = 16  # factors per set
_MAX_LEN = 32  # positions per factor (longer exact factors become a prefix and a suffix)
_MAX_CLASS = 8  # code points one position may stand for

Factors = Optional[FrozenSet[Factor]]


@dataclasses.dataclass(frozen=True)
class _Info:
    exact: Factors = None
    prefix: Factors = None
    suffix: Factors = None
    need: Factors = None


_ANY = _Info()
_EMPTY = _Info(frozenset({()}), frozenset({()}), frozenset({()}), None)


def _cross(a: Factors, b: Factors) -> Factors:
    if a is None or b is None or len(a) * len(b) > _MAX_SET:
        return None
    return frozenset(x + y for x, y in itertools.product(a, b))


def _union(sets) -> Factors:
    out = set()
    for s in sets:
        if s is None:
            return None
        out |= s
    return frozenset(out) if len(out) <= _MAX_SET else None


def _score(s: Factors) -> tuple:
    """Higher is a better prefilter: a longer shortest factor, then fewer factors."""
    if not s or () in s:
        return (0, 0)
    return (min(map(len, s)), -len(s))


def _best(*sets: Factors) -> Factors:
    best = max(sets, key=_score)
    return best if _score(best)[0] > 0 else None


def _heads(s: Factors) -> Factors:
    return s and frozenset(x[:_MAX_LEN] for x in s)


def _tails(s: Factors) -> Factors:
    return s and frozenset(x[-_MAX_LEN:] for x in s)


def _bounded(info: _Info) -> _Info:
    """Exact factors past _MAX_LEN become a prefix and a suffix (both still hold)."""
    if info.exact is None or all(len(x) <= _MAX_LEN for x in info.exact):
        return info
    pre, suf = _heads(info.exact), _tails(info.exact)
    return _Info(None, pre, suf, _best(info.need, pre, suf))


# Code points a scanned text never holds as they stand: a lone surrogate is read as U+FFFD.
_UNSURE = frozenset(range(0xD800, 0xE000)) | {0xFFFD}


def _char(mask: np.ndarray) -> _Info:
    """One character from a mask of code points: a one-position factor when it is small."""
    cps = np.flatnonzero(mask)
    if len(cps) == 0 or len(cps) > _MAX_CLASS:
        return _ANY
    pos = frozenset(cps.tolist())
    if pos & _UNSURE:
        return _ANY
    one = frozenset({(pos,)})
    return _Info(one, one, one, None)


@functools.lru_cache(maxsize=4096)
def _literal(cp: int, icase: bool) -> _Info:
    return _char(charset.literal_set(cp, icase))


@functools.lru_cache(maxsize=1024)
def _class(items: tuple, icase: bool) -> _Info:
    return _char(charset.class_set(items, False, icase))


def _concat(a: _Info, b: _Info) -> _Info:
    exact = _cross(a.exact, b.exact)
    prefix = (_cross(a.exact, b.prefix) or a.exact) if a.exact is not None else a.prefix
    suffix = (_cross(a.suffix, b.exact) or b.exact) if b.exact is not None else b.suffix
    need = _best(a.need, b.need, _cross(a.suffix, b.prefix), exact)
    return _bounded(_Info(exact, _heads(prefix), _tails(suffix), need))


def _node(node, flags: int) -> _Info:
    if isinstance(node, Group):
        return _seq(node.seq, (flags | node.add_flags) & ~node.del_flags)
    if isinstance(node, Branch):
        alts = [_seq(s, flags) for s in node.alts]
        return _Info(
            _union(a.exact for a in alts),
            _union(a.prefix for a in alts),
            _union(a.suffix for a in alts),
            _union(_best(a.exact, a.prefix, a.suffix, a.need) for a in alts),
        )
    if isinstance(node, Repeat):
        return _repeat(node, _seq(node.seq, flags))
    kind = node[0]
    icase = bool(flags & FLAG_I)
    if kind == 'lit':
        return _literal(node[1], icase)
    if kind == 'in' and not node[1]:
        return _class(tuple(node[2]), icase)
    if kind == 'at':  # an assertion matches no character
        return _EMPTY
    return _ANY  # 'notlit', a negated class, 'any'


def _repeat(node: Repeat, body: _Info) -> _Info:
    if node.max != INF and node.max <= 4 and body.exact is not None:
        # A few copies of exact factors (`,?`, `(?:ab){1,2}`): every count, exactly.
        counts, power = [], frozenset({()})
        for c in range(node.max + 1):
            if c >= node.min:
                counts.append(power)
            power = _cross(power, body.exact)
        exact = _union(counts)
        if exact is not None:
            return _bounded(_Info(exact, exact, exact, None))
    if node.min == 0:
        return _EMPTY if node.max == 0 else _ANY
    # At least `min` copies: those come first and last, and each holds the body's need.
    head = body.exact
    for _ in range(node.min - 1):
        head = _cross(head, body.exact)
    exact = head if node.max == node.min else None
    prefix = head if head is not None else body.prefix
    suffix = head if head is not None else body.suffix
    return _bounded(_Info(exact, _heads(prefix), _tails(suffix), _best(body.need, head)))


def _seq(seq: list, flags: int) -> _Info:
    info = _EMPTY
    for node in seq:
        info = _concat(info, _node(node, flags))
    return info


@functools.lru_cache(maxsize=256)
def _analysed(pattern: str, flags: int) -> Tuple[list, int, _Info]:
    """A pattern parsed and its facts found once for every query on it: its sequence, its
    flags with the inline ones, and the facts of the whole."""
    seq, global_flags = parse(pattern)
    flags |= global_flags
    return seq, flags, _seq(seq, flags)


def required_factors(pattern: str, flags: int = 0, leading: bool = False) -> Optional[List[Factor]]:
    """Factors one of which every match of ``pattern`` holds, or None when none are known (a
    pattern that can match without one, or whose factors would be too many or too wide).
    ``leading``: factors one of which every match starts with.

    >>> [factor_text(f) for f in required_factors(r'(?:the ){2}')]
    ['the the ']
    >>> [factor_text(f) for f in required_factors(r'[Tt]herefore,? the answer is')]
    ['[Tt]herefore the answer is', '[Tt]herefore, the answer is']
    >>> [factor_text(f) for f in required_factors(r'wait', 2)]  # re.IGNORECASE: 'İ' is an 'i'
    ['[Ww][Aa][Iiİı][Tt]']
    >>> required_factors(r'\\d+') is None
    True
    >>> [factor_text(f) for f in required_factors(r'<think>.*?</think>', 16)]
    ['</think>']
    >>> [factor_text(f) for f in required_factors(r'<think>.*?</think>', 16, leading=True)]
    ['<think>']
    """
    _, _, info = _analysed(pattern, int(flags))
    best = (
        _best(info.exact, info.prefix) if leading else _best(info.exact, info.prefix, info.suffix, info.need)
    )
    return sorted(best, key=factor_text) if best is not None else None


def _no_assertion(seq: list) -> bool:
    for node in seq:
        if isinstance(node, (Group, Repeat)):
            if not _no_assertion(node.seq):
                return False
        elif isinstance(node, Branch):
            if not all(map(_no_assertion, node.alts)):
                return False
        elif node[0] == 'at':
            return False
    return True


def assertion_free(pattern: str, flags: int = 0) -> bool:
    """Whether ``pattern`` holds no assertion (``^``, ``$``, ``\\A``, ``\\Z``, ``\\b``, ``\\B``):
    then whether it matches at a unit of a text does not depend on what lies before that
    unit, so a search may start anywhere.

    >>> assertion_free(r'\\d+ \\* \\d+ = \\d+'), assertion_free(r'(?:\\bwait|hmm)')
    (True, False)
    """
    return _no_assertion(_analysed(pattern, int(flags))[0])


def _char_mask(node, flags: int) -> Optional[np.ndarray]:
    """The code points one character node matches, or None for any other node."""
    if not isinstance(node, tuple):
        return None
    icase = bool(flags & FLAG_I)
    kind = node[0]
    if kind == 'lit':
        return charset.literal_set(node[1], icase)
    if kind == 'notlit':
        return charset.literal_set(node[1], icase, negate=True)
    if kind == 'in':
        return charset.class_set(node[2], node[1], icase)
    if kind == 'any':
        return charset.any_set(bool(flags & FLAG_S))
    return None


def run_then_factors(
    pattern: str, flags: int = 0
) -> Optional[Tuple[int, Tuple[Tuple[int, int], ...], List[Factor]]]:
    """For a pattern that starts with a repeat of one character class C (``\\d+ \\* \\d+``,
    ``\\w{3}ing``): ``(ascii, high, factors)`` such that every match is a run of C followed by
    a string that starts with one of ``factors``. ``ascii`` is C's ASCII members as a 128-bit
    mask; ``high`` its members above ASCII as sorted, disjoint ``(lo, hi)`` code point ranges
    (empty when it has none). None for other patterns.

    A match then starts inside the run of C that ends where a factor starts, so a scan of a
    text can start there rather than at the text's start.

    >>> ascii, high, factors = run_then_factors(r'\\d+ \\* \\d+')
    >>> ascii == sum(1 << c for c in range(ord('0'), ord('9') + 1)), high[:2]  # Unicode digits too
    (True, ((1632, 1641), (1776, 1785)))
    >>> [factor_text(f) for f in factors]
    [' * ']
    """
    seq, flags, _ = _analysed(pattern, int(flags))
    if len(seq) < 2 or not isinstance(seq[0], Repeat) or len(seq[0].seq) != 1:
        return None
    mask = _char_mask(seq[0].seq[0], flags)
    if mask is None:
        return None
    rest = _seq(seq[1:], flags)
    factors = _best(rest.exact, rest.prefix)
    if factors is None:
        return None
    ascii = int(sum(1 << int(c) for c in np.flatnonzero(mask[:128])))
    return ascii, _ranges(np.flatnonzero(mask[128:]) + 128), sorted(factors, key=factor_text)


def _ranges(points: np.ndarray) -> Tuple[Tuple[int, int], ...]:
    """Sorted code points as the (lo, hi) ranges of their consecutive runs."""
    if points.size == 0:
        return ()
    cut = np.flatnonzero(np.diff(points) != 1)
    starts = np.concatenate([points[:1], points[cut + 1]])
    ends = np.concatenate([points[cut], points[-1:]])
    return tuple(zip(starts.tolist(), ends.tolist()))


def factor_text(factor: Factor) -> str:
    """A factor written as a pattern would (a set as a bracket of its code points)."""
    return ''.join(
        chr(next(iter(p))) if len(p) == 1 else '[' + ''.join(map(chr, sorted(p))) + ']' for p in factor
    )


# Rough share of each ASCII character in model text (English prose with LaTeX and code):
# a factor is looked for through the window of three positions least likely to occur.
_SHARE = dict.fromkeys(range(128), 0.002)
_SHARE.update(
    {
        ord(c): f
        for c, f in zip(
            'etaoinsrhldcumfpgwybvkxjqz',
            (
                0.090,
                0.066,
                0.060,
                0.056,
                0.055,
                0.052,
                0.050,
                0.046,
                0.042,
                0.032,
                0.030,
                0.024,
                0.021,
                0.020,
                0.018,
                0.016,
                0.015,
                0.014,
                0.013,
                0.011,
                0.008,
                0.005,
                0.002,
                0.001,
                0.001,
                0.001,
            ),
        )
    }
)
_SHARE.update(
    {ord(' '): 0.16, ord('\n'): 0.02, ord('.'): 0.01, ord(','): 0.01, ord('\\'): 0.01, ord('$'): 0.01}
)
_SHARE.update({c: 0.008 for c in range(ord('0'), ord('9') + 1)})
_SHARE.update({c: 0.004 for c in range(ord('A'), ord('Z') + 1)})
_NON_ASCII_SHARE = 0.0005
# Letter triples far more common in English than their letters' shares make them.
_COMMON_TRIPLES = frozenset(
    'the and ing ion tio ent ati for her ter hat tha ere ate his con res ver all ons nce men ith '
    'ted ers pro thi wit are ess not ive was ect rea com eve per int est sta cti ica ist ear ain '
    'one our iti rat'.split()
)


def window_start(factor: Factor, width: int = 3) -> int:
    """The first position of the ``width`` consecutive positions of a factor least likely to
    occur together in model text (by a rough character share, times 30 for each common
    letter triple in them), the earliest on a tie.

    >>> window_start(required_factors(r'[Tt]herefore,? the answer is')[0])  # 'nsw'
    15
    >>> window_start(required_factors(r'(?i)actually')[0], 4)  # 'actu': 'ally' holds 'all'
    0
    """
    share = [sum(_SHARE.get(cp, _NON_ASCII_SHARE) for cp in pos) for pos in factor]
    low = [frozenset(chr(cp).lower() for cp in pos) for pos in factor]

    def odds(i: int) -> float:
        common = sum(
            any(''.join(t) in _COMMON_TRIPLES for t in itertools.product(*low[o : o + 3]))
            for o in range(i, i + width - 2)
        )
        return float(np.prod(share[i : i + width])) * 30.0**common

    return min(range(len(factor) - width + 1), key=odds)
