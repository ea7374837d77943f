"""The string scanner's jumps to the next unit that can leave a state, in every shape.

A scan in a state that at most eight ASCII bytes leave jumps to the next unit equal to one
of them or, where a byte >= 0x80 leaves the state too, to the next code point in the range
whose UTF-8 can leave it (a stepped state passes over the others too); a
product steps a state in lockstep instead when its exits come too often, and a one-pattern
program whose text stops it every few units moves to that lockstep. These tests give the
scanner states with zero to fourteen ASCII exits, with and without non-ASCII exits, texts of
every storage kind, and exits frequent enough to switch a state from jumps to steps
mid-batch. Verdicts are checked against Python ``re``; final states and
first-dead byte offsets against each pattern alone and against the op on the UTF-8 bytes.
"""

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinkle import _ext
from twinkle.reward.format import pad_texts

from ._string_programs import SCANNER, Pool, scan

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))

pytestmark = pytest.mark.skipif(_ext.string_scanner() is None, reason='the compiled library is not loaded')

# (pattern, flags, mode), with the ASCII bytes that leave the start state noted.
POOL = [
    (r'[\u4e00-\u9fff]', 0, 'search'),  # none: only non-ASCII lead bytes
    (r'[\U0001F300-\U0001FAFF]', 0, 'search'),  # none, one 4-byte lead
    (r'\?\s*</think>', 0, 'search'),  # one
    (r'(?:the ){2}', 0, 'search'),  # one, frequent in English
    (r'[Tt]herefore,? the answer is', 0, 'search'),  # two
    (r'[<>$]{2}|é', 0, 'search'),  # three, and non-ASCII
    (r'[abcde]x', 0, 'search'),  # five
    (r'[a-g][0-9]', re.IGNORECASE, 'search'),  # fourteen
    (r'[#%&*+=@^]!|ß', 0, 'search'),  # eight, and non-ASCII
    (r'[#%&*+=@^~]!', 0, 'search'),  # nine
    (r'(?:wait|hmm|actually)', re.IGNORECASE, 'search'),  # six
    (r'[a-z ]*', 0, 'fullmatch'),  # dies on most ASCII punctuation and every non-ASCII unit
    (r'[^<]*<[a-c]>', 0, 'fullmatch'),  # dies after '<' and a wrong letter
    (r'\S+', 0, 'match'),
    (r'x😀|你y', 0, 'search'),
    (r'[#%]!|题|！', 0, 'search'),  # two, and code points above 0x7FFF (UCS-2 storage)
]
PIECES = [
    'the ',
    'the the ',
    'Therefore, the answer is',
    'therefore the answer is',
    't',
    '<a>',
    '<z>',
    '<>',
    '$$',
    '?',
    '? </think>',
    '</think>',
    'ax',
    'e',
    'G7',
    '#!',
    '~!',
    '^',
    'Wait',
    'HMM',
    'actually',
    ' ',
    '\n',
    'é',
    'ß',
    'ÿ',
    '你',
    '你y',
    '答案',
    '题',
    '！',
    '가',
    'x😀',
    '😀',
    '\ud800',
    'x' * 30,
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=16).map(''.join)

POOLED = Pool(POOL)


def _op(texts):
    """Final states and first-dead offsets of every pattern from the op on the UTF-8 bytes."""
    data, lengths = pad_texts(texts)
    final, first_dead = POOLED.module._scan('byte', data, lengths)
    return final.numpy(), first_dead.numpy()


def _check_re(idx, texts, final):
    for i, text in enumerate(texts):
        for col, j in enumerate(idx):
            assert bool(POOLED.accept[j, final[i, col]]) == POOLED.matches(j, text), (text, POOL[j])


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(texts=st.lists(TEXT, min_size=1, max_size=24))
def test_each_pattern_alone_equals_the_op_and_re(texts):
    """The one-pattern scan (ASCII exits and the non-ASCII flag per state) on every kind."""
    idx = list(range(len(POOL)))
    final, first_dead = POOLED.alone(idx, texts)
    want_final, want_fd = _op(texts)
    assert np.array_equal(final, want_final) and np.array_equal(first_dead, want_fd)
    _check_re(idx, texts, final)


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    idx=st.lists(st.integers(0, len(POOL) - 1), min_size=2, max_size=12, unique=True),
    texts=st.lists(TEXT, min_size=1, max_size=40),
    budget=st.sampled_from([0, 70_000, 1 << 24]),
)
def test_products_equal_each_pattern_alone_and_re(idx, texts, budget):
    """Products whose states have 0-10 ASCII exits, with ASCII texts in the lanes too."""
    texts = [t * 5 for t in texts] + texts
    final, first_dead = scan(POOLED.program(idx, budget), texts, len(idx))
    want_final, want_fd = POOLED.alone(idx, texts)
    assert np.array_equal(final, want_final) and np.array_equal(first_dead, want_fd)
    _check_re(idx, texts, final)


WORDS = ['the ', 'the the ', 'to ', 'at ', 'that ', 'x ', 'ax ', 'e ', '? ', 'G7 ']


def _frequent(seed, n_texts, tail, words=WORDS):
    """Texts whose states' exits come every few units (and so switch to steps), some dying."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_texts):
        body = ''.join(rng.choice(words, size=300))
        cut = int(rng.integers(0, len(body)))
        out.append(body[:cut] + tail[i % len(tail)] + body[cut:])
    return out


@pytest.mark.parametrize('tail', [[''], ['5', '<', ''], ['é', '你', '😀', ''], ['<b>', '\n', 'ß!']])
def test_states_switched_from_jumps_to_steps_keep_results(tail):
    """Frequent exits switch states to lockstep steps while other texts are in flight, in an
    engine kept across calls: deaths on the entries into those states are still recorded."""
    idx = [11, 3, 12, 2, 6, 7]
    prog = POOLED.program(idx)
    for seed in range(3):
        texts = _frequent(seed, 48, tail)
        got = scan(prog, texts, len(idx))
        want = POOLED.alone(idx, texts)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        _check_re(idx, texts, got[0])


def test_a_state_with_no_ascii_exit_ends_an_ascii_scan():
    """A CJK class: an ASCII text cannot leave the start state, a CJK character can."""
    texts = ['a' * 10_000, 'a' * 10_000 + '你', '你' + 'a' * 100, 'é' * 50 + '答']
    final, first_dead = POOLED.alone([0], texts)
    assert [bool(POOLED.accept[0, s]) for s in final[:, 0]] == [False, True, True, True]
    assert first_dead[:, 0].tolist() == [-1] * 4


@pytest.mark.parametrize('j', [3, 4, 10])
def test_one_pattern_that_stops_every_few_units_moves_to_the_lanes(j):
    """A one-pattern program whose text leaves its states every few units scans later
    calls in the lanes (after 2**18 units of evidence), with the same results."""
    prog = POOLED.program([j])
    # No match before the tail (a match early would end the scans: no evidence to move).
    words = ['the x ', 'to ', 'at ', 'that ', 'ax ', '? ']
    texts = _frequent(7, 400, ['Therefore, the answer is 5', 'wait', '你', '😀', 'the the ', ''], words)
    assert sum(map(len, texts)) > 1 << 18
    for _ in range(3):  # the first call gathers the evidence, the later ones use the lanes
        got = scan(prog, texts, 1)
        want = _op(texts)
        assert np.array_equal(got[0][:, 0], want[0][:, j]) and np.array_equal(got[1][:, 0], want[1][:, j])
        _check_re([j], texts, got[0])


# (pool index, an exit that does not match, the piece that matches): states with one exit
# (one search for it) and with 3-8 exits (one pass for the set).
SWEEP = [(2, '?', '?</think>'), (5, '<', '<>'), (5, '$', 'é'), (6, 'a', 'ax'), (8, '#', '#!'), (8, '^', 'ß')]


@pytest.mark.parametrize('storage', ['', 'ÿ', '你', '😀'])
def test_exits_at_every_offset_of_a_search_block(storage):
    """An exit that does not match at q, then the match at every p > q, in 80 filler units
    (plus a non-ASCII unit at the end that sets the storage kind and matches nothing): the
    vector searches (16 and 32 units a step, from wherever the scan stands) see an exit in
    every position of a block and the tail after the last whole one, in every storage kind."""
    for j, near, piece in SWEEP:
        texts = []
        for q in (0, 1, 15, 31, 32, 40):
            for p in range(q + 1, 80):
                body = list('z' * 80)
                body[q] = near
                texts.append(''.join(body[:p]) + piece + ''.join(body[p:]) + storage)
            texts.append('z' * q + near + 'z' * (80 - q) + storage)  # no match at all
        final, first_dead = POOLED.alone([j], texts)
        assert np.array_equal(first_dead, _op(texts)[1][:, [j]])
        _check_re([j], texts, final)
        idx = [j] + [x for x in (2, 6, 9) if x != j][:2]  # the same texts through a product
        got = scan(POOLED.program(idx), texts, len(idx))
        want = POOLED.alone(idx, texts)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        _check_re(idx, texts, got[0])


# Patterns whose states are left by a few code points above ASCII (and no ASCII unit but
# the filler's neighbours): a scan jumps over every other non-ASCII unit. Each range's
# bounds are where UTF-8 lead bytes change (0x7FF / 0x800, 0xFFFF / 0x10000), and U+FFFD
# is also what a lone surrogate reads as.
RANGED = Pool(
    [
        (r'é', 0, 'search'),  # lead 0xC3: U+00C0-U+00FF
        (r'[\u4e00-\u9fff]', 0, 'search'),  # leads 0xE4-0xE9
        (r'\ufffd', 0, 'search'),  # every byte >= 0x80 (an invalid byte reads as U+FFFD)
        (r'[\uf000-\uffff]', 0, 'search'),  # lead 0xEF, and every lone surrogate
        (r'\x80', 0, 'search'),  # lead 0xC2: U+0080-U+00BF
        (r'\U00010000', 0, 'search'),  # lead 0xF0: U+10000 and up
        (r'[\U0001F300-\U0001FAFF]', 0, 'search'),  # lead 0xF0: none in narrower storage
        (r'\u07ff|\u0800', 0, 'search'),  # leads 0xDF and 0xE0
        (r'\U00010000|\uffff', 0, 'search'),  # leads 0xF0 and 0xEF
        (r'\U0010ffff', 0, 'search'),  # lead 0xF4
        (r'[<>]{2}|\u00ff', 0, 'search'),  # two ASCII exits and lead 0xC3
        # Thirteen ASCII exits (a state that is stepped, not jumped) and lead 0xC3.
        (r'[a-m]\d|\u00e9', 0, 'search'),
    ]
)
# Code points on both sides of each lead byte's bounds, in every storage kind.
BOUNDS = (
    '\x80\xbf\xc0\xe9\xff\u0100\u07ff\u0800\u0fff\u1000\u4dff\u4e00\u9fff\ua000\ud7ff'
    '\ud800\udbff\udc00\udfff\ue000\uefff\uf000\ufffd\uffff'
    '\U00010000\U0001f2ff\U0001f300\U0003ffff\U00040000\U0010fffe\U0010ffff'
)


def _ranged_texts(seed):
    """For each code point of BOUNDS, texts of 80 filler units that hold it at offsets
    across a search block, after other code points (each text's storage kind is its widest
    unit's), and the same with the filler itself non-ASCII."""
    rng = np.random.default_rng(seed)
    texts = []
    for cp in BOUNDS:
        for q in (0, 1, 15, 16, 31, 32, 47, 63, 79):
            others = ''.join(rng.choice(list(BOUNDS), size=3))
            body = list('z' * 80)
            body[q] = cp
            texts.append(others + ''.join(body))
            texts.append(''.join(body) + others)
            texts.append(''.join('你' if u == 'z' else u for u in body))
            texts.append(''.join('\xe9' if u == 'z' else u for u in body))
            # Runs of CJK between ASCII units, an exit of none of the patterns but one.
            texts.append(''.join('中' if k % 7 else 'z' for k in range(q)) + cp + '文z' * 20)
    return texts


@pytest.mark.parametrize('seed', [0, 1])
def test_non_ascii_exits_by_code_point_range(seed):
    """Each pattern alone and in products: only the code points whose UTF-8 bytes leave a
    state stop the scan there; results equal the op's on the UTF-8 bytes and ``re``'s
    verdicts, lone surrogates matching U+FFFD as the encoded path reads them."""
    texts = _ranged_texts(seed)
    data, lengths = pad_texts(texts)
    want_final, want_fd = RANGED.module._scan('byte', data, lengths)
    idx = list(range(len(RANGED.specs)))
    final, first_dead = RANGED.alone(idx, texts)
    assert np.array_equal(final, want_final.numpy()) and np.array_equal(first_dead, want_fd.numpy())
    for i, text in enumerate(texts):
        for j in idx:
            assert bool(RANGED.accept[j, final[i, j]]) == RANGED.matches(j, text), (text, RANGED.specs[j])
    for group in ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [3, 6, 9], [11, 1], [11, 6, 3], idx):
        got = scan(RANGED.program(group), texts, len(group))
        assert np.array_equal(got[0], final[:, group]) and np.array_equal(got[1], first_dead[:, group])


def test_a_lone_surrogate_stops_a_state_that_lead_byte_0xef_leaves():
    """Tables built by hand: a state that only the byte 0xEF leaves (the compiler's never is:
    it reads an invalid byte as U+FFFD, so every state that U+FFFD leaves is left by every
    byte >= 0x80). A lone surrogate reads as U+FFFD (EF BF BD), so it must stop the scan."""
    cls = np.zeros((1, 257), np.int32)
    cls[0, 0xEF], cls[0, 0xBF], cls[0, 0xBD] = 1, 2, 3
    # States: 0 the start, 1 after EF, 2 after EF BF, 3 after EF BF BD (a sink).
    tables = np.array([[[0, 1, 0, 0], [0, 1, 2, 0], [0, 1, 0, 3], [3, 3, 3, 3]]], np.int32)
    prog = SCANNER.byte_program(cls, tables, np.zeros(1, np.int32), np.full(1, -1, np.int32))
    texts = []
    for piece in (
        '\ud800',
        '\udbff',
        '\udc00',
        '\udfff',
        '\ufffd',
        '\uffff',
        '\ud7ff',
        '\ue000',
        '\U00010000',
    ):
        for q in (0, 1, 31, 32, 70):
            for filler in ('z', '你', '\U0001f600'):
                texts.append(filler * q + piece + filler * (80 - q))
    final, first_dead = scan(prog, texts, 1)
    want = ['\ufffd' in re.sub('[\ud800-\udfff]', '\ufffd', t) for t in texts]
    assert (final[:, 0] == 3).tolist() == want
    assert (first_dead[:, 0] == -1).all()
