"""Code-point sets with the exact meaning Python's ``re`` gives them (str patterns, Unicode).

Sets are numpy bool masks over all 0x110000 code points. Nothing about Unicode is hard-coded:
``\\d``, ``\\w``, ``\\s`` come from running ``re`` over every code point once per process, and
IGNORECASE uses ``re``'s own tables (``_sre.unicode_tolower``, ``_sre.unicode_iscased``,
``re._casefix._EXTRA_CASES``), so the compiled DFA agrees with ``re`` on every input,
CPython 3.11's quirks included:

* a cased literal ``x`` matches ``ch`` iff ``lower(ch)`` is ``lower(x)`` or one of its extra
  case equivalents (``s``/``ſ``, ``k``/KELVIN SIGN);
* a class with a cased member tests ``lower(ch)`` against its lowered members, except members
  whose lowercase is outside the BMP: literals kept verbatim, ranges checked as ``lo <=
  lower(ch) <= hi or lo <= upper(lower(ch)) <= hi`` (so ``[\\U00010400x]`` does not match
  U+10400, as in CPython).
"""

from __future__ import annotations

import functools
import re

import numpy as np

__all__ = ['NUM_CPS', 'category', 'literal_set', 'class_set', 'any_set', 'to_intervals', 'is_cased']

NUM_CPS = 0x110000


@functools.cache
def _all_text() -> str:
    return ''.join(map(chr, range(NUM_CPS)))


def _cps_of(text: str) -> np.ndarray:
    return np.frombuffer(text.encode('utf-32-le', 'surrogatepass'), dtype='<u4').astype(np.int64)


@functools.cache
def category(name: str) -> np.ndarray:
    """Mask of ``\\d`` (``'d'``), ``\\w`` (``'w'``) or ``\\s`` (``'s'``) as Python's ``re`` sees it.

    >>> bool(category('d')[ord('٣')]), bool(category('w')[ord('_')])
    (True, True)
    """
    if name not in ('d', 'w', 's'):
        raise KeyError(name)
    members = ''.join(re.findall('\\' + name, _all_text()))
    mask = np.zeros(NUM_CPS, dtype=bool)
    mask[_cps_of(members)] = True
    mask.setflags(write=False)
    return mask


@functools.cache
def _lower() -> np.ndarray:
    import _sre

    return np.fromiter(map(_sre.unicode_tolower, range(NUM_CPS)), dtype=np.int64, count=NUM_CPS)


@functools.cache
def _iscased() -> np.ndarray:
    import _sre

    return np.fromiter(map(_sre.unicode_iscased, range(NUM_CPS)), dtype=bool, count=NUM_CPS)


@functools.cache
def _upper() -> np.ndarray:
    """CPython's simple uppercase mapping, which Python does not expose."""
    # str.upper where it gives one character, else the character that lowercases back to this one
    # (U+1FB3 -> U+1FBC), else the identity (U+00DF).
    lower, cased = _lower(), np.flatnonzero(_iscased())
    up = np.arange(NUM_CPS, dtype=np.int64)
    back: dict[int, list[int]] = {}
    for cp in cased.tolist():
        if lower[cp] != cp:
            back.setdefault(int(lower[cp]), []).append(cp)
    for cp in cased.tolist():
        u = chr(cp).upper()
        if len(u) == 1:
            up[cp] = ord(u)
        elif len(back.get(cp, ())) == 1:
            up[cp] = back[cp][0]
    return up


@functools.cache
def _fixes() -> dict[int, tuple[int, ...]]:
    from re._casefix import _EXTRA_CASES

    return dict(_EXTRA_CASES)


def is_cased(cp: int) -> bool:
    """Whether IGNORECASE can change what the literal ``cp`` matches (``_sre.unicode_iscased``)."""
    import _sre

    return bool(_sre.unicode_iscased(cp))


def _mask_of(points) -> np.ndarray:
    mask = np.zeros(NUM_CPS, dtype=bool)
    mask[np.asarray(list(points), dtype=np.int64)] = True
    return mask


def literal_set(cp: int, ignorecase: bool = False, negate: bool = False) -> np.ndarray:
    """Mask of the code points a literal (``x``) or negated literal (``[^x]``) matches.

    >>> int(literal_set(ord('k'), ignorecase=True).sum())  # k, K and KELVIN SIGN
    3
    """
    if not ignorecase or not _iscased()[cp]:
        mask = _mask_of([cp])
    else:
        lo = int(_lower()[cp])
        targets = (lo,) + _fixes().get(lo, ())
        mask = np.isin(_lower(), np.asarray(targets, dtype=np.int64))
    return ~mask if negate else mask


def _category_item(name: str) -> np.ndarray:
    base = category(name.lower())
    return ~base if name.isupper() else base


def class_set(items, negate: bool = False, ignorecase: bool = False) -> np.ndarray:
    """Mask of a character class ``[...]``.

    Args:
        items: sequence of ``('lit', cp)``, ``('range', lo, hi)`` or ``('cat', name)`` with name
            one of ``d D w W s S``.
        negate: whether the class starts with ``^``.
        ignorecase: whether IGNORECASE applies to the class.

    >>> m = class_set([('range', ord('a'), ord('c')), ('cat', 'd')])
    >>> bool(m[ord('b')]), bool(m[ord('7')]), bool(m[ord('z')])
    (True, True, False)
    """
    if not ignorecase:
        mask = np.zeros(NUM_CPS, dtype=bool)
        for item in items:
            if item[0] == 'lit':
                mask[item[1]] = True
            elif item[0] == 'range':
                mask[item[1] : item[2] + 1] = True
            else:
                mask |= _category_item(item[1])
        return ~mask if negate else mask

    # Emulation of CPython's charset optimizer (re._compiler._optimize_charset) under
    # IGNORECASE: a BMP table of lowered members ("charmap") plus a "tail" of items that the
    # table could not hold; see the module docstring for why the quirks matter.
    lower, iscased, fixes = _lower(), _iscased(), _fixes()
    charmap = np.zeros(NUM_CPS, dtype=bool)
    tail_lits: list[int] = []
    tail_ranges: list[tuple[int, int]] = []
    cats: list[str] = []
    hascased = False
    for item in items:
        if item[0] == 'lit':
            cp = item[1]
            lo = int(lower[cp])
            if lo > 0xFFFF:
                hascased = True
                tail_lits.append(cp)
                continue
            charmap[lo] = True
            for k in fixes.get(lo, ()):
                charmap[k] = True
            hascased = hascased or bool(iscased[cp])
        elif item[0] == 'range':
            a, b = item[1], item[2]
            lows = lower[a : b + 1]
            big = np.flatnonzero(lows > 0xFFFF)
            done = lows if len(big) == 0 else lows[: big[0]]
            charmap[done] = True
            for lo in np.intersect1d(done, np.fromiter(fixes, dtype=np.int64)).tolist():
                charmap[list(fixes[lo])] = True
            if len(big):
                hascased = True
                tail_ranges.append((a, b))
            elif not hascased:
                hascased = bool(iscased[a : b + 1].any())
        else:
            cats.append(item[1])
    y = lower if hascased else np.arange(NUM_CPS, dtype=np.int64)
    mask = charmap[y]
    for cp in tail_lits:
        mask |= y == cp
    if tail_ranges:
        uy = _upper()[y]
        for a, b in tail_ranges:
            mask |= ((y >= a) & (y <= b)) | ((uy >= a) & (uy <= b))
    for name in cats:
        mask |= _category_item(name)[y]
    return ~mask if negate else mask


def any_set(dotall: bool) -> np.ndarray:
    """Mask of ``.``: everything, or everything but ``'\\n'`` without DOTALL."""
    mask = np.ones(NUM_CPS, dtype=bool)
    if not dotall:
        mask[10] = False
    return mask


def to_intervals(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open runs ``[starts[i], ends[i])`` of True values in ``mask``."""
    change = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    edges = np.concatenate([[0], change, [len(mask)]])
    # Runs alternate between values; keep those whose first element is True.
    starts, ends = edges[:-1], edges[1:]
    on = mask[starts]
    return starts[on], ends[on]
