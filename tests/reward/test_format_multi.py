"""K patterns in one pass: the string scanner's product path against each pattern alone.

With 2 <= K <= 64 patterns the string scanner steps one lazily built product of the K byte
DFAs, cached in the program across calls (csrc/cpu/dfa_multi.h). Its final states and
first-dead byte offsets must equal those of K one-pattern programs (the per-pattern scanner)
on every text of every storage kind, and each verdict must equal Python ``re``. The 16
search patterns of the benchmark's multi-pattern section are also checked on generated
completions, on strings and on Qwen3 token ids (the op's product path).
"""

import os
import random
import re
import threading

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinkle import _ext
from twinkle.reward.format import _DfaReward

from ._string_programs import Pool, scan

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))

pytestmark = pytest.mark.skipif(_ext.string_scanner() is None, reason='the compiled library is not loaded')

# (pattern, flags, mode): searches that end in a live sink, fullmatches that die, an
# impossible pattern (dead before the first byte), non-ASCII exits and astral code points.
POOL = [
    (r'<think>.*?</think>', re.DOTALL, 'search'),
    (r'<answer>.*?</answer>', re.DOTALL, 'search'),
    (r'</think>\s*<answer>', 0, 'search'),
    (r'<answer>\s*-?\d+\s*</answer>', 0, 'search'),
    (r'\\boxed\{[^{}]*\}', 0, 'search'),
    (r'\d+ \* \d+ = \d+', 0, 'search'),
    (r'[\u4e00-\u9fff]', 0, 'search'),
    (r'[\U0001F300-\U0001FAFF]', 0, 'search'),
    (r'(?:wait|hmm|actually)', re.IGNORECASE, 'search'),
    (r'\n\n\n', 0, 'search'),
    (r'(?:the ){2}', 0, 'search'),
    (r'\$[^$\n]+\$', 0, 'search'),
    (r'</answer>\s*$', 0, 'search'),
    (r'(?s)<think>.*</think>\s*<answer>\d+</answer>\s*', 0, 'fullmatch'),
    (r'[^<>]*', 0, 'fullmatch'),
    (r'.{3,9}', re.DOTALL, 'fullmatch'),
    (r'\ufffd', 0, 'search'),
    (r'é+|ß', 0, 'search'),
    (r'😀<', 0, 'search'),
    (r'a\Zb', 0, 'search'),
    (r'\S+', 0, 'match'),
    (r'[a-z ]*', 0, 'fullmatch'),
    (r'(?:é|你|😀)*', 0, 'fullmatch'),  # dies inside a code point: 'ß', '佀', '😁'
]
PIECES = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '<',
    '>',
    ' ',
    '\n',
    '\n\n\n',
    'abc',
    '42',
    ' * ',
    ' = ',
    '$x$',
    '\\boxed{7}',
    'the ',
    'Wait',
    'hmm',
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
    '你',
    '佀',
    '😁',
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=14).map(''.join)

POOLED = Pool(POOL)


def _equal_alone_and_re(idx, texts):
    """The program of patterns ``idx`` on ``texts``: each pattern's final states and first-dead
    offsets as its own program's, and its verdicts as ``re``'s."""
    final, first_dead = scan(POOLED.program(idx), texts, len(idx))
    want_final, want_fd = POOLED.alone(idx, texts)
    assert np.array_equal(final, want_final) and np.array_equal(first_dead, want_fd)
    for i, text in enumerate(texts):
        for col, j in enumerate(idx):
            assert bool(POOLED.accept[j, final[i, col]]) == POOLED.matches(j, text), (text, POOL[j])


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    idx=st.lists(st.integers(0, len(POOL) - 1), min_size=2, max_size=20),
    texts=st.lists(TEXT, min_size=1, max_size=24),
)
def test_product_equals_each_pattern_alone_and_re(idx, texts):
    _equal_alone_and_re(idx, texts)


# States that jump to the next of two or three ASCII exits (`<` and `$` after `<think>`,
# and `\\` with a `\\boxed{` pattern beside them; `$` and `\n` inside `$...$`), each exit at
# every offset around the 64-unit steps, in ASCII and Latin-1 storage.
@pytest.mark.parametrize('idx', [[0, 11], [0, 11, 4], [11]])
@pytest.mark.parametrize('filler', ['x', 'é'])
def test_jumps_to_two_or_three_exits_at_every_offset(idx, filler):
    texts = []
    for n in (0, 1, 31, 32, 63, 64, 65, 127, 128, 130):
        for at in range(0, n + 1, max(1, n // 11)):
            for exit in ('<', '$', '\\', '\n', '</think>', '$1$', '\\boxed{2}'):
                texts.append('<think>' + filler * at + exit + filler * (n - at))
                texts.append('$' + filler * at + exit + filler * (n - at) + '$')
    _equal_alone_and_re(idx, texts)


# A death at each byte of a code point (the offset counts the bytes before it), in each
# storage kind, after long skipped runs, and rows that die before their first byte.
@pytest.mark.parametrize(
    'text',
    [
        '',
        'ß',
        'éß',
        '你佀',
        '😀😁x',
        'ÿé你😀😁',
        'é' * 3000 + '佀',
        '😀' * 3000 + '😁',
        '<think>你好</think>' * 50 + 'ß',
        '\ud800',
    ],
    ids=lambda t: f'{len(t)}-units',
)
def test_deaths_inside_a_code_point(text):
    idx = [len(POOL) - 1, 0, 14, 15, 19, 20]
    texts = [text, text + 'x', 'a' + text]
    final, first_dead = scan(POOLED.program(idx), texts, len(idx))
    want_final, want_fd = POOLED.alone(idx, texts)
    assert np.array_equal(final, want_final) and np.array_equal(first_dead, want_fd)


def _completion(rng, n_chars):
    """Prose with numbers, tags, CJK and emoji, think/answer shaped or malformed."""
    words = (
        'the of and to wait hmm actually therefore answer 12 * 34 = 408 $x$ \\boxed{5} '
        '你好 答案 😀 👍 é ß ? \n\n\n'
    ).split(' ')
    body = ' '.join(rng.choice(words) for _ in range(n_chars // 5))
    return rng.choice(
        [
            f'<think>\n{body}\n</think>\n<answer>{rng.randrange(99)}</answer>',
            f'<think>{body}</think> <answer> -{rng.randrange(9)} </answer>\n',
            f'{body}<answer>1',
            body,
            f'<think> </think>{body}?</think>',
        ]
    )


COMPLETIONS = [_completion(random.Random(i), 40 + 37 * (i % 60)) for i in range(600)]


def test_long_batch_across_calls_and_threads():
    """Many texts (the parallel scan), the program's cached product reused by later calls,
    and several Python threads scanning with one program at once."""
    idx = list(range(13))
    prog = POOLED.program(idx)
    want = POOLED.alone(idx, COMPLETIONS)
    for _ in range(2):
        got = scan(prog, COMPLETIONS, len(idx))
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    results = [None] * 4

    def work(t):
        results[t] = scan(prog, COMPLETIONS[t::2], len(idx))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t, got in enumerate(results):
        assert np.array_equal(got[0], want[0][t::2]) and np.array_equal(got[1], want[1][t::2])


@pytest.mark.parametrize('budget', [0, 100_000, 400_000])
def test_a_small_engine_budget_resets_mid_batch_with_the_same_results(budget):
    """An engine that fills its budget starts again, and every text in flight (four per
    storage kind step in lockstep) is scanned pattern by pattern: nothing changes."""
    idx = list(range(len(POOL)))
    prog = POOLED.program(idx, budget)
    want = POOLED.alone(idx, COMPLETIONS)
    for _ in range(2):
        got = scan(prog, COMPLETIONS, len(idx))
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    idx=st.lists(st.integers(0, len(POOL) - 1), min_size=2, max_size=20),
    texts=st.lists(TEXT, min_size=1, max_size=40),
    budget=st.sampled_from([0, 70_000, 1 << 24]),
)
def test_lockstep_lanes_equal_each_pattern_alone(idx, texts, budget):
    """Many texts of each storage kind per call: lanes finish and refill at every point."""
    texts = [t * 3 for t in texts] + texts
    final, first_dead = scan(POOLED.program(idx, budget), texts, len(idx))
    want_final, want_fd = POOLED.alone(idx, texts)
    assert np.array_equal(final, want_final) and np.array_equal(first_dead, want_fd)


def test_more_patterns_than_one_product():
    """K > 64: the patterns are scanned one by one, with the same results."""
    idx = [j % len(POOL) for j in range(70)]
    got = scan(POOLED.program(idx), COMPLETIONS[:50], len(idx))
    want = POOLED.alone(idx, COMPLETIONS[:50])
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


# The 16 search patterns of benchmarks/bench_format.py's multi-pattern section.
MULTI = [
    (r'<think>.*?</think>', re.DOTALL),
    (r'<answer>.*?</answer>', re.DOTALL),
    (r'</think>\s*<answer>', 0),
    (r'<answer>\s*-?\d+\s*</answer>', 0),
    (r'\\boxed\{[^{}]*\}', 0),
    (r'\d+ \* \d+ = \d+', 0),
    (r'[\u4e00-\u9fff]', 0),
    (r'[\U0001F300-\U0001FAFF]', 0),
    (r'(?:wait|hmm|actually)', re.IGNORECASE),
    (r'<think>\s*</think>', 0),
    (r'\n\n\n', 0),
    (r'(?:the ){2}', 0),
    (r'[Tt]herefore,? the answer is', 0),
    (r'\$[^$\n]+\$', 0),
    (r'</answer>\s*$', 0),
    (r'\?\s*</think>', 0),
]


def _want(texts):
    return [[bool(re.search(p, t, f)) for p, f in MULTI] for t in texts]


def test_sixteen_search_patterns_on_strings():
    reward = _DfaReward([('regex', p, f, 'search') for p, f in MULTI])
    accepted, _ = reward.scan_texts(COMPLETIONS)
    assert (accepted == 1.0).tolist() == _want(COMPLETIONS)


def test_sixteen_search_patterns_on_chinese_strings():
    """Chinese text (two-byte storage, where no unit can be an emoji: the emoji check's
    states have no exit there) and the same with one emoji or one CJK character moved
    to every offset of its last 40 units."""
    rng = random.Random(7)
    pieces = ['我们先计算一下。', '设 x = 12，则 x + 3 = 15。', '等一下？', '因此，答案是 5。', 'ok ', '\n\n']
    base = [''.join(rng.choice(pieces) for _ in range(rng.randrange(5, 60))) for _ in range(40)]
    texts = [f'<think>\n{b}\n</think>\n<answer>{i}</answer>' for i, b in enumerate(base)]
    ascii_text = 'x' * 200
    for q in range(40):
        texts.append(texts[q][: -q - 1] + '😀' + texts[q][-q - 1 :])
        texts.append(ascii_text[: 160 + q] + '中' + ascii_text[160 + q :])
    reward = _DfaReward([('regex', p, f, 'search') for p, f in MULTI])
    for _ in range(2):  # the product's states built on the first call, reused on the second
        accepted, _ = reward.scan_texts(texts)
        assert (accepted == 1.0).tolist() == _want(texts)


def test_sixteen_search_patterns_on_qwen3_ids():
    from twinkle.sampler.testing import qwen3_tokenizer

    try:
        tok = qwen3_tokenizer()
    except ImportError as e:
        pytest.skip(str(e))
    texts = COMPLETIONS[:300]
    reward = _DfaReward([('regex', p, f, 'search') for p, f in MULTI], tokenizer=tok)
    enc = tok(texts, add_special_tokens=False)['input_ids']
    decoded = tok.batch_decode(enc, skip_special_tokens=True)
    width = max(map(len, enc))
    ids = torch.zeros((len(enc), width), dtype=torch.int64)
    for i, row in enumerate(enc):
        ids[i, : len(row)] = torch.tensor(row)
    lengths = torch.tensor([len(r) for r in enc])
    want = _want(decoded)
    for dtype in (torch.int64, torch.int32):
        accepted, first_dead = reward.scan_ids(ids.to(dtype), lengths=lengths)
        assert (accepted == 1.0).tolist() == want
        # Each pattern alone through the op gives the same states and positions.
        for j in (0, 6, 15):
            alone = torch.ops.twinkle.dfa_scan(
                ids.to(dtype),
                lengths,
                reward.token_class_ids[j : j + 1],
                reward.token_tables[j : j + 1],
                reward.token_starts[j : j + 1],
                reward.token_dead[j : j + 1],
                0,
            )
            final = reward._scan('token', ids.to(dtype), lengths)[0]
            assert torch.equal(final[:, j : j + 1], alone[0])
            assert torch.equal(first_dead[:, j : j + 1], alone[1])


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(
    b=st.integers(0, 40),
    k=st.integers(1, 20),
    s=st.integers(1, 30),
    seed=st.integers(0, 2**31 - 1),
)
def test_accept_values_equals_torch_indexing(b, k, s, seed):
    # The compiled gather behind scan_texts' verdicts: out[b, k] = values[k, final[b, k]],
    # NaN (a flagged state) included, against torch's advanced indexing.
    g = torch.Generator().manual_seed(seed)
    values = torch.randint(0, 2, (k, s), generator=g).float()
    values[torch.rand((k, s), generator=g) < 0.1] = float('nan')
    final = torch.randint(-s, s, (b, k), generator=g, dtype=torch.int32)  # negative: from the end
    out = torch.full((b, k), -1.0)
    _ext.string_scanner().accept_values(values.numpy(), final.numpy(), out.numpy())
    want = values[torch.arange(k)[None, :], final]
    assert torch.equal(out.isnan(), want.isnan())
    assert torch.equal(out.nan_to_num(-2.0), want.nan_to_num(-2.0))


def test_accept_values_names_a_bad_state_or_shape():
    scanner = _ext.string_scanner()
    values = np.zeros((3, 5), dtype=np.float32)
    out = np.empty((2, 3), dtype=np.float32)
    for bad in (5, -6, 2**31 - 1, -(2**31)):
        final = np.zeros((2, 3), dtype=np.int32)
        final[1, 2] = bad
        with pytest.raises(
            ValueError, match=rf'final_state\[1, 2\] = {bad} is not a column of values \(-5 \.\. 4\)'
        ):
            scanner.accept_values(values, final, out)
    with pytest.raises(ValueError, match=r'must have shape \(B, 3\)'):
        scanner.accept_values(values, np.zeros((2, 4), dtype=np.int32), out)
    with pytest.raises(ValueError, match=r'final_state \(B, K\) int32'):
        scanner.accept_values(values, np.zeros((2, 3), dtype=np.int64), out)
    with pytest.raises(ValueError, match=r'out \(B, K\) float32'):
        scanner.accept_values(values, np.zeros((2, 3), dtype=np.int32), np.empty((2, 3)))


def test_scan_texts_verdicts_equal_the_torch_path(monkeypatch):
    # scan_texts maps final states to verdicts with the compiled gather on the CPU; torch's
    # indexing (the path on other devices, or without the library) gives the same tensor.
    reward = _DfaReward([('regex', p, f, 'search') for p, f in MULTI])
    texts = COMPLETIONS[:200] + ['', '<think>?</think>']
    fast, _ = reward.scan_texts(texts)
    monkeypatch.setitem(_ext._scanner, 'mod', None)  # the reward keeps its own program
    slow, _ = reward.scan_texts(texts)
    assert fast.dtype == slow.dtype == torch.float32
    assert torch.equal(fast, slow)
