"""Code-point sets agree with Python's ``re`` on every code point.

The masks are gathered from ``re`` (``\\d \\w \\s``) or computed from ``re``'s case tables; these
tests re-derive them independently, by scanning a string of all code points with ``re`` for each
atom, and compare the full 0x110000-entry masks.
"""

import functools
import re

import numpy as np
import pytest

from twinkle.dfa import charset as cs
from twinkle.dfa.regex import parse

NUM = cs.NUM_CPS


@functools.cache
def _all_chars() -> str:
    return ''.join(map(chr, range(NUM)))


def _re_mask(pattern: str, flags: int, text: str | None = None) -> np.ndarray:
    """Which code points of ``text`` (default: all) ``pattern`` matches, as a full mask."""
    text = _all_chars() if text is None else text
    hits = ''.join(re.findall(pattern, text, flags))
    mask = np.zeros(NUM, dtype=bool)
    mask[np.frombuffer(hits.encode('utf-32-le', 'surrogatepass'), dtype='<u4')] = True
    return mask


def _atom_mask(pattern: str, flags: int) -> np.ndarray:
    (node,), _ = parse(pattern)
    ic = bool(flags & re.IGNORECASE)
    if node[0] == 'lit':
        return cs.literal_set(node[1], ic)
    if node[0] == 'notlit':
        return cs.literal_set(node[1], ic, negate=True)
    if node[0] == 'in':
        return cs.class_set(node[2], node[1], ic)
    assert node == ('any',)
    return cs.any_set(bool(flags & re.DOTALL))


ATOMS = [
    # categories, inside and outside classes
    r'\d',
    r'\D',
    r'\w',
    r'\W',
    r'\s',
    r'\S',
    r'[\d\s]',
    r'[^\w]',
    r'[\S\d]',
    # dot
    '.',
    # literals and classes whose IGNORECASE behaviour has special cases in CPython
    'a',
    'k',
    'K',
    's',
    'i',
    'I',
    '\u0130',
    '\u0131',
    'ß',
    '\u1e9e',
    'σ',
    'ς',
    'Ω',
    '\u2126',
    'ǅ',
    '\U00010400',
    '\U00010428',
    '[kK]',
    '[^k]',
    '[a-z]',
    '[^a-z]',
    '[A-Za-z0-9_]',
    '[\u0100-\u017f]',
    '[\\wA]',
    '[\\dA]',
    '[\\sK]',
    '[^\\sK]',
    '[\U00010400x]',
    '[^\U00010400x]',
    '[\U00010400-\U00010401]',
    '[a-\U00010428]',
    '[\u1f80-\U00010400]',
    '[\U0001e900-\U0001e921a]',
    '[\\x00-\\U0010ffff]',
    '[ᾳ]',
    '[ﬅ]',
    '[İı]',
    '[σς]',
    # ranges reaching past the BMP are checked through CPython's simple uppercase mapping
    '[\u1fbc-\U00010400]',
    '[\u1f88-\U00010400]',
    '[\u0100-\U00010400]',
    '[\u00e0-\U00010428]',
]


@pytest.mark.parametrize('flags', [0, re.IGNORECASE])
@pytest.mark.parametrize('atom', ATOMS)
def test_atom_masks_match_re_on_every_code_point(atom, flags):
    assert (_atom_mask(atom, flags) == _re_mask(atom, flags)).all()


def test_dotall_dot_matches_everything():
    assert (_atom_mask('.', re.DOTALL) == _re_mask('.', re.DOTALL)).all()


def test_categories_are_the_unicode_ones():
    d, w, s = cs.category('d'), cs.category('w'), cs.category('s')
    assert d[ord('٣')] and not d[ord('²')] and not d[ord('a')]
    assert w[ord('_')] and w[ord('é')] and w[ord('日')] and not w[ord('-')]
    assert s[0x85] and s[0x1C] and s[0x3000] and not s[0x200B]
    assert d.sum() == sum(1 for c in map(chr, range(NUM)) if c.isdecimal())


def test_ignorecase_literal_sets_for_every_cased_code_point():
    # A literal c matches x under IGNORECASE only when both are cased (or x == c): scan, for
    # every cased c, the string of all cased characters with re, and compare with our set.
    cased = np.flatnonzero(cs._iscased())
    cased_text = ''.join(map(chr, cased.tolist()))
    for cp in cased.tolist():
        ours = cs.literal_set(cp, ignorecase=True)
        theirs = _re_mask(re.escape(chr(cp)), re.IGNORECASE, cased_text)
        theirs[cp] = True
        assert (ours[cased] == theirs[cased]).all(), hex(cp)
        assert not (ours & ~cs._iscased()).any() or ours.sum() == 1, hex(cp)


@pytest.mark.parametrize('cp', [0x41, 0x130, 0x3A3, 0x1E9E, 0x212A, 0x10400, 0x1E900, 0x3B9])
def test_ignorecase_literal_full_scan(cp):
    assert (cs.literal_set(cp, ignorecase=True) == _re_mask(re.escape(chr(cp)), re.I)).all()


def test_uncased_literals_match_only_themselves():
    uncased = np.flatnonzero(~cs._iscased())
    rng = np.random.default_rng(0)
    for cp in rng.choice(uncased, 40, replace=False).tolist():
        if 0xD800 <= cp < 0xE000:
            continue
        ours = cs.literal_set(cp, ignorecase=True)
        assert ours.sum() == 1 and ours[cp]
        assert (ours == _re_mask(re.escape(chr(cp)), re.I)).all(), hex(cp)
