"""The compiled string scanner against the encoded path and against Python ``re``.

The scanner reads each str where it lies (1, 2 or 4 bytes per code point) and generates
the UTF-8 bytes as it goes. Each hypothesis example (fixed seed) draws a batch of texts of
every storage kind (ASCII, Latin-1, BMP, astral, lone surrogates) and checks, for K
patterns at once: the final states and first-dead byte offsets equal the ``dfa_scan`` op's
on :func:`pad_texts` output, and every verdict equals ``re.<mode>`` on the text (a lone
surrogate read as U+FFFD, as the encoded path reads it).
"""

import math
import os
import pickle
import re
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from twinkle import _ext
from twinkle.reward.format import FormatReward, TagCountReward, _DfaReward, _row_fractions, pad_texts

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))

pytestmark = pytest.mark.skipif(_ext.string_scanner() is None, reason='the compiled library is not loaded')

# (pattern, flags, mode); None is the strict default format.
PATTERNS = [
    (None, 0, 'fullmatch'),
    (r'<think>.*?</think>', re.DOTALL, 'search'),
    (r'<answer>.*?</answer>', re.DOTALL, 'search'),
    (r'(?s)<think>.*</think>\s*<answer>\d+</answer>\s*', 0, 'fullmatch'),
    (r'[^<>]*', 0, 'fullmatch'),
    (r'\w+', 0, 'search'),
    (r'(?i)<ANSWER>', 0, 'search'),
    (r'.{3,9}', re.DOTALL, 'fullmatch'),
    (r'\ufffd', 0, 'search'),
    (r'[\u4e00-\u9fff]+', 0, 'search'),
    (r'é+|ß', 0, 'search'),  # Latin-1 exits: a state left by non-ASCII bytes
    (r'😀<', 0, 'search'),  # an astral code point, then an ASCII exit
    (r'a\Zb', 0, 'search'),  # matches nothing: dead before the first byte
    (r'\S+', 0, 'match'),
]
STRICT = r'<think>.*?</think>\s*<answer>.*?</answer>\s*'
PIECES = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '<',
    '>',
    ' ',
    '\n',
    'abc',
    '42',
    'é',
    'ß',
    'ÿ',
    '\x80',
    '你好',
    '答案',
    '😀',
    '👍🏽',
    '\ufffd',
    '\ud800',
    '\udfff',
    'x' * 40,
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=10).map(''.join)


def _module():
    specs = [('think_answer',) if p is None else ('regex', p, f, m) for p, f, m in PATTERNS]
    return _DfaReward(specs)


MODULE = _module()


def _oracle(pattern, flags, mode, text):
    text = re.sub('[\ud800-\udfff]', '\ufffd', text)
    if pattern is None:
        tags = ('<think>', '</think>', '<answer>', '</answer>')
        return bool(re.fullmatch(STRICT, text, re.DOTALL)) and all(text.count(t) == 1 for t in tags)
    return bool(getattr(re, mode)(pattern, text, flags))


@seed(20261130)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=24))
def test_strings_equal_encoded_path_and_re(texts):
    final, first_dead = MODULE._scan_strings(list(texts))
    data, lengths = pad_texts(texts)
    want_final, want_fd = MODULE._scan('byte', data, lengths)
    assert np.array_equal(final, want_final.numpy())
    assert np.array_equal(first_dead, want_fd.numpy())
    accepted, _ = MODULE.scan_texts(texts)
    for i, text in enumerate(texts):
        for j, (p, f, m) in enumerate(PATTERNS):
            assert (accepted[i, j].item() == 1.0) == _oracle(p, f, m, text), (text, p)


@pytest.mark.parametrize(
    'text',
    [
        '',  # empty
        'plain ascii <think>x</think>',  # kind 1, ASCII: scanned as its own bytes
        'latin-1 é ÿ <answer>1</answer>',  # kind 1, not ASCII
        'bmp 你好 <answer>2</answer>',  # kind 2
        'astral 😀 <answer>3</answer>',  # kind 4
        'lone \ud800 surrogate <',  # read as U+FFFD
        '<think>' + '你' * 5000 + '</think>',  # long runs skipped by the exit search
    ],
)
def test_each_storage_kind(text):
    final, first_dead = MODULE._scan_strings([text])
    data, lengths = pad_texts([text])
    want_final, want_fd = MODULE._scan('byte', data, lengths)
    assert final.tolist() == want_final.tolist() and first_dead.tolist() == want_fd.tolist()


def test_score_matches_the_op_path_on_a_large_batch():
    rng = np.random.default_rng(0)
    parts = np.array(PIECES, dtype=object)
    texts = [''.join(rng.choice(parts, size=rng.integers(0, 60))) for _ in range(3000)]
    reward = FormatReward([r'<think>.*?</think>', r'<answer>.*?</answer>'], mode='search', flags=re.DOTALL)
    data, lengths = pad_texts(texts)
    final, _ = reward._scan('byte', data, lengths)
    want = reward._accepted('byte', final)[:, 0].tolist()
    assert reward(texts) == want  # the parallel scan over many rows


def test_non_text_items_and_types():
    reward = FormatReward(r'\d', mode='search')
    traj = [{'messages': [{'role': 'assistant', 'content': None}]}, 'x1', 'x']
    out = reward(traj)
    assert math.isnan(out[0]) and out[1:] == [1.0, 0.0]
    scanner = _ext.string_scanner()
    prog = reward._strings()[1]
    final = np.empty((1, 1), np.int32)
    fd = np.empty((1, 1), np.int64)
    with pytest.raises(TypeError, match=r'texts\[0\] must be str, got bytes'):
        scanner.scan_strings(prog, [b'x'], final, fd)
    with pytest.raises(ValueError, match='outputs must have shape'):
        scanner.scan_strings(prog, ['a', 'b'], final, fd)
    with pytest.raises(ValueError, match='first_dead'):
        scanner.scan_strings(prog, ['a'], final, np.empty((1, 1), np.int32))
    with pytest.raises(ValueError, match='V >= 256'):
        scanner.byte_program(
            np.zeros((1, 10), np.int32),
            np.zeros((1, 1, 1), np.int32),
            np.zeros(1, np.int32),
            np.zeros(1, np.int32),
        )


def test_reward_pickles_and_copies_without_the_program():
    reward = TagCountReward()
    assert reward(['<think></think>']) == [0.5]  # builds the program
    again = pickle.loads(pickle.dumps(reward))
    assert '_string_program' not in again.__dict__ and '_host_accept' not in again.__dict__
    assert again(['<think></think><answer></answer>']) == [1.0]
    moved = reward.to(torch.float64)  # buffers keep their dtypes; the program is unaffected
    assert moved(['<answer>']) == [0.25]
    assert moved.half()(['<answer>', '<think></think><answer></answer>']) == [0.25, 1.0]


def test_first_invalid_position_uses_the_scanner():
    reward = FormatReward()
    texts = ['<think>', '<thinx>', 'x', '你<', '😀']
    assert reward.first_invalid_position(texts) == [-1, 5, 0, 0, 0]


# ---- the batch of bare strings and its verdicts --------------------------------------------


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    k=st.sampled_from([1, 2, 3, 4, 7, 64, 300]),
    b=st.integers(0, 40),
    seed_=st.integers(0, 2**32 - 1),
)
def test_row_fractions_equal_numpy_means(k, b, seed_):
    accepted = np.random.default_rng(seed_).random((b, k)) < 0.5
    want = (accepted.sum(axis=1, dtype=np.float64) / k).tolist()
    for scanner in (_ext.string_scanner(), None):  # the library's gather from the table, numpy's take
        with mock.patch.object(_ext, 'loaded_scanner', lambda s=scanner: s):
            got = _row_fractions(accepted)
            assert got == want and all(type(x) is float for x in got)
            assert _row_fractions(np.asfortranarray(accepted)) == want  # any layout


class _Str(str):
    pass


def test_all_str_is_an_exact_list_of_str():
    all_str = _ext.string_scanner().all_str
    assert all_str([]) and all_str(['a', '', 'é😀'])
    for no in (('a',), ['a', b'b'], ['a', None], ['a', _Str('b')], 'ab', None, [['a']]):
        assert not all_str(no)


def test_all_float_is_an_exact_list_of_float():
    all_float = _ext.string_scanner().all_float
    assert all_float([]) and all_float([0.0, math.nan, -math.inf])
    for no in ((1.0,), [1.0, 1], [1.0, True], [1.0, np.float64(2.0)], [1.0, None], 1.0, None):
        assert not all_float(no)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    b=st.integers(0, 30),
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=6),
    wide=st.booleans(),
    seed_=st.integers(0, 2**32 - 1),
)
def test_gather_lists_reads_each_column_from_its_table(b, sizes, wide, seed_):
    rng = np.random.default_rng(seed_)
    tables = [[float(i) / n for i in range(n)] for n in sizes]
    if not wide:
        sizes = [min(n, 256) for n in sizes]
    codes = np.stack([rng.integers(0, n, size=b) for n in sizes], axis=1).astype(
        np.int64 if wide else np.uint8
    )
    got = _ext.string_scanner().gather_lists(codes, tables)
    want = [[tables[j][c] for c in codes[:, j].tolist()] for j in range(len(sizes))]
    assert got == want
    assert all(x is tables[j][c] for j, row in enumerate(got) for x, c in zip(row, codes[:, j].tolist()))


def test_gather_lists_names_what_is_wrong():
    gather = _ext.string_scanner().gather_lists
    tables = [[0.0, 1.0], [0.0, 0.5, 1.0]]
    assert gather(np.zeros((3, 2), dtype=bool), tables) == [[0.0] * 3, [0.0] * 3]
    with pytest.raises(ValueError, match=r'codes\[1, 0\] = 2 is not an index of tables\[0\] \(0 \.\. 1\)'):
        gather(np.array([[0, 2], [2, 0]], dtype=np.uint8), tables)
    with pytest.raises(ValueError, match=r'codes\[0, 1\] = -1 is not an index'):
        gather(np.array([[0, -1]], dtype=np.int64), tables)
    with pytest.raises(ValueError, match='uint8, bool or int64'):
        gather(np.zeros((2, 2), dtype=np.float64), tables)
    with pytest.raises(ValueError, match='uint8, bool or int64'):
        gather(np.zeros(2, dtype=np.uint8), tables)
    with pytest.raises(ValueError, match=r'a list per column of codes \(2\), got 1'):
        gather(np.zeros((2, 2), dtype=np.uint8), tables[:1])
    with pytest.raises(TypeError, match='a list of lists'):
        gather(np.zeros((2, 2), dtype=np.uint8), [[0.0], (0.0,)])
    with pytest.raises(ValueError, match='C-contiguous'):
        gather(np.zeros((2, 4), dtype=np.uint8)[:, ::2], tables)


def test_completions_of_each_batch_kind():
    r = FormatReward(r'a', mode='search')
    assert r._completions(['a', 'b'], None) == (['a', 'b'], None)
    assert r._completions(('a', 'b'), None) == (['a', 'b'], None)  # any sequence of str
    texts, is_text = r._completions(['a', _Str('b')], None)  # a str subclass: the general walk
    assert texts == ['a', 'b'] and is_text == [True, True]
    assert r([_Str('xa'), 'b']) == [1.0, 0.0]
    assert TagCountReward()(['<think></think>', '<answer>']) == [0.5, 0.25]
