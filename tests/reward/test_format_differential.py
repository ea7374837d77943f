"""The whole token path against Python ``re`` on ``tokenizer.decode``, for two real tokenizers.

Each hypothesis example (fixed seed) builds a batch of id sequences from random text
(ASCII, CJK, emoji, controls, whitespace, format tags) encoded in random pieces, mixed with
random ids (special tokens, byte-level pieces that split characters, ids anywhere in the
vocabulary), scans the batch once with K patterns, and compares every (sequence, pattern)
verdict with ``re.<mode>(pattern, tokenizer.decode(ids, skip_special_tokens=True), flags)``.

Cases compared = examples x batch x K. ``TWINKLE_DIFF_EXAMPLES`` sets the examples per
tokenizer (default 100, which compares over 100,000 cases in all).

Mistral's SentencePiece decoder turns an *invalid* run of byte-fallback tokens into one
U+FFFD per byte (see twinkle.dfa.tokens); those sequences are compared like any other,
and counted apart to show they are drawn.
"""

import os
import re

import pytest
import torch
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.dfa import _counter
from tests.dfa.test_tokens import has_invalid_byte_run, mistral_tokenizer, qwen_tokenizer
from twinkle.reward.format import _DfaReward

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))
pytestmark = pytest.mark.slow  # the fuzz suite: TWINKLE_DIFF_EXAMPLES sets its budget
BATCH = 48

STRICT = r'<think>.*?</think>\s*<answer>.*?</answer>\s*'
# (pattern, flags, mode); None is the strict default format (tags exactly once).
PATTERNS = [
    (None, 0, 'fullmatch'),
    (r'<think>.*?</think>', re.DOTALL, 'search'),
    (r'<answer>.*?</answer>', re.DOTALL, 'search'),
    (r'(?s)<think>.*</think>\s*<answer>\d+</answer>\s*', 0, 'fullmatch'),
    (r'.*', 0, 'fullmatch'),
    (r'[^<>]*', 0, 'fullmatch'),
    (r'\w+', 0, 'search'),
    (r'\d+\s*$', 0, 'search'),
    (r'(?i)<ANSWER>', 0, 'search'),
    (r'^\s', re.MULTILINE, 'search'),
    (r'.{3,9}', re.DOTALL, 'fullmatch'),
    (r'\ufffd', 0, 'search'),
    (r'[\u4e00-\u9fff]+', 0, 'search'),
    (r'\S+', 0, 'match'),
]

PIECES = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '<',
    '>',
    '/',
    'think',
    'answer',
    ' ',
    '  ',
    '\n',
    '\t',
    '\r\n',
    '\u00a0',
    '\u2028',
    '\x00',
    '\x1b',
    '\x7f',
    '42',
    '7',
    'the',
    ' world',
    'é',
    'ß',
    '你好',
    '答案',
    '😀',
    '👍🏽',
    '\ufffd',
    '\\boxed{1}',
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=8).map(''.join)


def _oracle(pattern, flags, mode, text):
    if pattern is None:
        tags = ('<think>', '</think>', '<answer>', '</answer>')
        return bool(re.fullmatch(STRICT, text, re.DOTALL)) and all(text.count(t) == 1 for t in tags)
    return bool(getattr(re, mode)(pattern, text, flags))


def _module(tok):
    specs = [('think_answer',) if p is None else ('regex', p, f, m) for p, f, m in PATTERNS]
    return _DfaReward(specs, tokenizer=tok)


@pytest.fixture(scope='module', params=['qwen', 'mistral'])
def setup(request):
    tok = qwen_tokenizer() if request.param == 'qwen' else mistral_tokenizer()
    return request.param, tok, _module(tok)


def _sequence(draw, tok, v):
    """One id sequence: text encoded in random pieces, with random ids between them."""
    ids = []
    specials = sorted(tok.all_special_ids)
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 9))
        if kind < 6:
            ids += tok.encode(draw(TEXT), add_special_tokens=False)
        elif kind < 8:
            ids.append(draw(st.integers(0, v - 1)))
        elif kind == 8:
            ids.append(draw(st.sampled_from(specials)))
        else:
            ids += draw(st.lists(st.integers(0, 300), max_size=4))  # byte pieces
    return ids


@st.composite
def batches(draw, tok, v):
    return [_sequence(draw, tok, v) for _ in range(BATCH)]


def test_token_path_equals_re_on_decoded_text(setup):
    name, tok, mod = setup
    v = mod.token_table.vocab_size
    stats = {'cases': 0, 'invalid_runs': 0}

    @seed(20261129)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(batches(tok, v))
    def run(seqs):
        width = max([len(s) for s in seqs] + [1])
        ids = torch.full((len(seqs), width), 0, dtype=torch.int64)
        mask = torch.zeros((len(seqs), width), dtype=torch.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.int64)
            mask[i, : len(s)] = 1
        acc, _ = mod.scan_ids(ids, attention_mask=mask)
        texts = tok.batch_decode(seqs, skip_special_tokens=True)
        for i, (s, text) in enumerate(zip(seqs, texts)):
            if name == 'mistral' and has_invalid_byte_run(tok, s):
                stats['invalid_runs'] += len(PATTERNS)
            for k, (p, f, m) in enumerate(PATTERNS):
                want = _oracle(p, f, m, text)
                got = bool(acc[i, k] == 1.0)
                stats['cases'] += 1
                if got != want:
                    _counter.COUNTS['mismatches'] += 1
                    raise AssertionError(
                        f'{name}: pattern {p!r} mode {m} on ids {s} -> {text!r}: twinkle {got}, re {want}'
                    )

    run()
    _counter.COUNTS['cases'] += stats['cases']
    assert stats['cases'] >= EXAMPLES * BATCH * len(PATTERNS) * 0.9
    print(
        f'{name}: {stats["cases"]} cases compared with re, {stats["invalid_runs"]} of them with an '
        'invalid byte-fallback run'
    )


def test_string_path_equals_re():
    """The byte path (reward(texts)): one scan for all patterns, against re on the same str."""
    mod = _DfaReward([('think_answer',) if p is None else ('regex', p, f, m) for p, f, m in PATTERNS])
    stats = {'cases': 0}

    @seed(20261130)
    @settings(
        max_examples=max(EXAMPLES // 2, 10),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(TEXT, min_size=BATCH // 2, max_size=BATCH))
    def run(texts):
        acc, _ = mod.scan_texts(texts)
        for i, text in enumerate(texts):
            for k, (p, f, m) in enumerate(PATTERNS):
                stats['cases'] += 1
                assert bool(acc[i, k] == 1.0) == _oracle(p, f, m, text), (p, m, text)

    run()
    _counter.COUNTS['cases'] += stats['cases']
    print(f'strings: {stats["cases"]} cases compared with re')
