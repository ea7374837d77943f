"""The compiled token lift (csrc/cpu/dfa_lift.cpp) against the numpy lift it replaces.

Both backends of :func:`twinkle.dfa.tokens.token_classes` must give identical
``TokenClasses`` (class ids, transitions, accept, start, dead): random patterns over random
vocabularies (shared prefixes, empty tokens, a leading-space rule), and the real Qwen3
(byte-level BPE) and Mistral (SentencePiece byte fallback) vocabularies; Qwen3 classes are
also checked against ``re`` on decoded text.
"""

import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dfa.test_tokens import mistral_tokenizer, qwen_tokenizer
from twinkle.dfa import StateLimitError, compile_regex
from twinkle.dfa import tokens as T


def _compiled_or_skip():
    if T._compiled_lift() is None:
        pytest.skip('the compiled library (twinkle._C.lift_tokens) is not built')


def _both(monkeypatch, dfa, table, **kw):
    """(compiled, numpy) token classes of one DFA."""
    got = T.token_classes(dfa, table, **kw)
    monkeypatch.setattr(T, 'USE_COMPILED_LIFT', False)
    want = T.token_classes(dfa, table, **kw)
    monkeypatch.setattr(T, 'USE_COMPILED_LIFT', True)
    return got, want


def _assert_same(got, want):
    np.testing.assert_array_equal(got.class_ids, want.class_ids)
    np.testing.assert_array_equal(got.transitions, want.transitions)
    np.testing.assert_array_equal(got.accept, want.accept)
    assert (got.start, got.dead) == (want.start, want.dead)


# Pieces that share prefixes with each other and with the patterns' literals.
PIECES = [
    b'<',
    b'>',
    b'/',
    b'<th',
    b'think',
    b'ans',
    b'answer',
    b'a',
    b'b',
    b'ab',
    b'1',
    b'23',
    b' ',
    b'  ',
    b'\n',
    b'{',
    b'}',
    b'"',
    b'\\',
    b'\xe4\xbd',
    b'\xa0',
    b'\xff',
    'é'.encode(),
    '你'.encode(),
    b'x',
]
REGEXES = [
    (r'<think>.*?</think>\s*<answer>.*?</answer>\s*', re.DOTALL, 'fullmatch'),
    (r'<answer>[^<]{1,12}</answer>', 0, 'search'),
    (r'\w{3}', 0, 'search'),
    (r'a+b?', 0, 'match'),
    (r'\d{2,3}', 0, 'search'),
    (r'(?i)think', 0, 'search'),
    (r'[^<]*$', 0, 'fullmatch'),
    (r'.', re.DOTALL, 'fullmatch'),
    (r'^\s*$', re.MULTILINE, 'search'),
    (r'', 0, 'fullmatch'),
    (r'\{\s*"a"\s*:\s*-?\d+\s*\}', 0, 'fullmatch'),
    (r'(?:a|b)*a(?:a|b){3}', 0, 'search'),
    (r'x', 0, 'fullmatch'),
]


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    regex=st.sampled_from(REGEXES),
    tokens=st.lists(st.lists(st.sampled_from(PIECES), max_size=4).map(b''.join), max_size=60),
    strip=st.booleans(),
    mask_id=st.booleans(),
    prefix=st.sampled_from([b'', b'<think>', b'a', b'<answer>']),
)
def test_compiled_lift_equals_numpy(monkeypatch, regex, tokens, strip, mask_id, prefix):
    _compiled_or_skip()
    pattern, flags, mode = regex
    table = T.TokenTable.from_bytes(tokens, strip_first=ord(' ') if strip else -1)
    dfa = compile_regex(pattern, flags, mode)
    start = dfa.advance(dfa.start, prefix)
    got, want = _both(monkeypatch, dfa, table, start=start, mask_id=mask_id)
    _assert_same(got, want)
    rng = random.Random(len(tokens))
    for _ in range(20):  # and both scan as the byte DFA does
        ids = [rng.randrange(len(tokens)) for _ in range(rng.randrange(0, 6))] if tokens else []
        assert got.accepts(ids) == dfa.accepts(prefix + table.decode(ids))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(
    tokens=st.lists(st.binary(max_size=9), min_size=1, max_size=300),
    trans_seed=st.integers(0, 2**32 - 1),
    s_count=st.integers(1, 12),
    n_cls=st.integers(1, 6),
)
def test_token_rows_on_random_automata(tokens, trans_seed, s_count, n_cls):
    """Any (S, NC) table, any byte classes: equal partitions and end states."""
    _compiled_or_skip()
    rng = np.random.default_rng(trans_seed)
    trans_c = rng.integers(0, s_count, size=(s_count, n_cls)).astype(np.int64)
    byte_cls = rng.integers(0, n_cls, size=256).astype(np.int64)
    table = T.TokenTable.from_bytes(tokens)
    lengths = table.lengths.astype(np.int64)
    init = np.arange(s_count, dtype=np.int64)
    got_cls, got_rows = T._token_rows(T._compiled_lift(), trans_c, byte_cls, table.padded, lengths, init)
    want_cls, want_rows = T._token_rows(None, trans_c, byte_cls, table.padded, lengths, init)
    # Same partition (numbered differently), and each token's row is its own run.
    _, a = np.unique(got_cls, return_inverse=True)
    _, b = np.unique(want_cls, return_inverse=True)
    first = {}
    for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()):
        assert first.setdefault(x, y) == y
    assert len(set(first.values())) == len(first)
    np.testing.assert_array_equal(got_rows[got_cls], want_rows[want_cls])


QWEN_SMALL = [
    (r'<answer>\d+</answer>', 0, 'search'),
    (r'\\boxed\{\s*-?\d+\s*\}', 0, 'search'),
    (r'(?:yes|no)', re.IGNORECASE, 'fullmatch'),
]


@pytest.mark.parametrize('pattern,flags,mode', QWEN_SMALL)
def test_qwen_compiled_equals_numpy(monkeypatch, pattern, flags, mode):
    _compiled_or_skip()
    table = T.token_table(qwen_tokenizer())
    got, want = _both(monkeypatch, compile_regex(pattern, flags, mode), table, mask_id=True)
    _assert_same(got, want)


QWEN_LARGE = [
    (r'<think>.{0,100}</think>', re.DOTALL, 'search'),
    (r'\w{30}', 0, 'search'),
    (r'<answer>[^<]{1,200}</answer>', 0, 'search'),
    (r'\{\s*"name"\s*:\s*"\w+"\s*,\s*"arguments"\s*:\s*\{[^{}]*\}\s*\}', 0, 'fullmatch'),
]


@pytest.mark.parametrize('pattern,flags,mode', QWEN_LARGE)
def test_qwen_large_patterns_agree_with_re(pattern, flags, mode):
    """Patterns the numpy lift refused or took seconds on: every class row is each token's
    own byte run, and random id sequences scan as ``re`` matches their decoded text."""
    _compiled_or_skip()
    tok = qwen_tokenizer()
    table = T.token_table(tok)
    dfa = compile_regex(pattern, flags, mode)
    tc = T.token_classes(dfa, table, mask_id=True)
    rng = np.random.default_rng(7)
    for tid in rng.integers(0, table.vocab_size, 300).tolist():
        for s in rng.integers(0, dfa.num_states, 5).tolist():
            assert tc.transitions[s, tc.class_ids[tid]] == dfa.advance(s, table.token_bytes(tid))
    # Ids drawn from the tokenization of texts near the pattern, so that matches occur.
    texts = [
        '<think>' + 'x' * 50 + '</think>',
        'a' * 30,
        '<answer>' + 'word ' * 20 + '</answer>',
        '{"name": "f", "arguments": {"a": 1}}',
        'no match here',
    ]
    prng = random.Random(11)
    for _ in range(300):
        text = prng.choice(texts)
        ids = tok.encode(text, add_special_tokens=False)
        if prng.random() < 0.5:
            ids = ids[: prng.randrange(len(ids) + 1)] + [prng.randrange(table.vocab_size)]
        decoded = table.decode(ids).decode('utf-8', 'replace')
        assert tc.accepts(ids) == bool(getattr(re, mode)(pattern, decoded, flags)), (ids, decoded)


@pytest.mark.parametrize(
    'pattern,flags,mode',
    [(r'\s*\d+\s*', 0, 'fullmatch'), (r'W', 0, 'search'), (r'<a>[^<]{0,3}</a>', 0, 'search')],
)
def test_mistral_compiled_equals_numpy(monkeypatch, pattern, flags, mode):
    """SentencePiece with byte fallback: the strip state and the run states over the lift."""
    _compiled_or_skip()
    table = T.token_table(mistral_tokenizer())
    got, want = _both(monkeypatch, compile_regex(pattern, flags, mode), table, mask_id=True)
    _assert_same(got, want)


def test_compiled_lift_refuses_past_its_work_limit(monkeypatch):
    _compiled_or_skip()
    table = T.TokenTable.from_bytes([b'a', b'b', b'<', b'>'])
    dfa = compile_regex(r'a.{0,50}b', mode='search')
    monkeypatch.setattr(T, 'MAX_LIFT_WORK', 0)
    with pytest.raises(StateLimitError, match='MAX_LIFT_WORK'):
        T.token_classes(dfa, table)
    monkeypatch.setattr(T, 'MAX_LIFT_WORK', 10**6)
    T.token_classes(dfa, table)


def _same_partition(got_cls, want_cls):
    pairs = set(zip(got_cls.tolist(), want_cls.tolist()))
    assert len(pairs) == len(set(got_cls.tolist())) == len(set(want_cls.tolist()))


@pytest.mark.parametrize('seed', [0, 1])
def test_token_rows_split_across_threads(seed):
    """Enough work (states x prefixes) that the compiled lift splits the starts over
    threads and intersects the partitions: still the numpy partition and rows."""
    _compiled_or_skip()
    rng = np.random.default_rng(seed)
    s_count, n_cls = 700, 5
    # Mostly a counter (as in .{0,N}), with a few random jumps so rows differ. Work: ~60k
    # prefixes x 700 starts, past the 1e7 steps where the compiled lift starts threads.
    trans_c = np.minimum(np.arange(s_count)[:, None] + np.arange(n_cls)[None, :] % 2, s_count - 1)
    jumps = rng.integers(0, s_count, size=40)
    trans_c[jumps, rng.integers(0, n_cls, size=40)] = rng.integers(0, s_count, size=40)
    byte_cls = rng.integers(0, n_cls, size=256).astype(np.int64)
    tokens = [bytes(rng.integers(0, 256, size=rng.integers(0, 13)).tolist()) for _ in range(15000)]
    table = T.TokenTable.from_bytes(tokens)
    lengths = table.lengths.astype(np.int64)
    init = np.arange(s_count, dtype=np.int64)
    got_cls, got_rows = T._token_rows(
        T._compiled_lift(), trans_c.astype(np.int64), byte_cls, table.padded, lengths, init
    )
    want_cls, want_rows = T._token_rows(None, trans_c.astype(np.int64), byte_cls, table.padded, lengths, init)
    _same_partition(got_cls, want_cls)
    np.testing.assert_array_equal(got_rows[got_cls], want_rows[want_cls])
