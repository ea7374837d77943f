"""The CPU token-id scan's skip over self-loop tokens (dfa_accel.h, scan_tokens_accel)
against the pure-torch reference.

The op skips only when a call scans enough tokens per pattern to repay the build: class
flags from V / 32 tokens, bitsets over the ids from V / 2 (smaller calls take the lockstep
path), so each case picks V to land in one tier. The random DFAs have one common class
that most states loop on, a few rare classes that leave, sinks and dead states, and rows
with bad ids (negative, V, huge) and corrupt class ids inside and after skipped runs.
Final states and first-dead positions, error codes and their positions included, must
equal the reference's.
"""

import random
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import compiled_or_skip
from twinkle import ops, reference  # noqa: F401  (ops: loads the op and its fake kernel)
from twinkle.data_format import pad_ids

ID_DTYPES = [torch.int32, torch.int64]


def _op(*args):
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    return torch.ops.twinkle.dfa_scan(*args, 0)


def _assert_matches_reference(ids, lengths, class_ids, tables, starts, dead):
    got = _op(ids, lengths, class_ids, tables, starts, dead)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    assert torch.equal(got[0], want[0]), (got[0], want[0])
    assert torch.equal(got[1], want[1]), (got[1], want[1])
    return got


def _skip_patterns(rng, k, s, c, v, corrupt):
    """K DFAs whose states mostly loop on class 0 (the common one) and leave on rare classes.

    Per pattern: each state loops on class 0 with probability 0.8 (so most states get a
    stay set), some states are sinks, and every other pattern has a dead sink. ``corrupt``
    writes class ids outside [0, C) past the first 256 ids (checked as they are read).
    """
    class_ids = torch.zeros((k, v), dtype=torch.int32)
    tables = torch.zeros((k, s, c), dtype=torch.int32)
    starts = torch.zeros(k, dtype=torch.int32)
    dead = torch.full((k,), -1, dtype=torch.int32)
    g = torch.Generator().manual_seed(rng.randrange(2**31))
    rare = torch.rand((k, v), generator=g) >= 0.95
    class_ids = torch.where(rare, torch.randint(0, c, (k, v), generator=g, dtype=torch.int32), class_ids)
    for j in range(k):
        for st_ in range(s):
            for x in range(c):
                tables[j, st_, x] = rng.randrange(s)
            if rng.random() < 0.8:
                tables[j, st_, 0] = st_
            if rng.random() < 0.15:
                tables[j, st_] = st_  # a sink: no valid id leaves it
        if j % 2 == 0 and s > 1:
            tables[j, s - 1] = s - 1
            dead[j] = s - 1
        starts[j] = rng.randrange(s)
        if corrupt and v > 256:
            for _ in range(rng.randrange(1, 4)):
                class_ids[j, rng.randrange(256, v)] = rng.choice([-1, c, c + 7, -(2**31)])
    return class_ids, tables, starts, dead


def _skip_rows(rng, b, l, v, dtype, class_ids):
    """Rows of mostly class-0 ids (pattern 0's), rare ids and bad ids, with padding."""
    common = (class_ids[0] == 0).nonzero().flatten().tolist() or [0]
    rare = (class_ids[0] != 0).nonzero().flatten().tolist() or [0]
    lo = -(2**31) if dtype == torch.int32 else -(2**62)
    bad = [-1, v, v + 1, 2**31 - 1, lo]
    ids = torch.zeros((b, l), dtype=torch.int64)
    for i in range(b):
        p_rare, p_bad = rng.choice([0.0, 0.01, 0.05, 0.3]), rng.choice([0.0, 0.0, 0.002, 0.02])
        for t in range(l):
            r = rng.random()
            ids[i, t] = (
                rng.choice(bad)
                if r < p_bad
                else rng.choice(rare)
                if r < p_bad + p_rare
                else rng.choice(common)
            )
    lengths = (
        torch.tensor(
            [rng.choice([0, 1, l, l, l - 1, rng.randrange(l + 1), l + 3, -2]) for _ in range(b)],
            dtype=torch.int64,
        )
        if l
        else torch.zeros(b, dtype=torch.int64)
    )
    return ids.to(dtype), lengths


@settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 3),
    s=st.integers(1, 9),
    c=st.integers(1, 9),
    b=st.integers(1, 12),
    l=st.integers(0, 400),
    v=st.integers(1, 1500),
    dtype=st.sampled_from(ID_DTYPES),
    corrupt=st.booleans(),
    bitsets=st.booleans(),
)
def test_skip_matches_reference(seed, k, s, c, b, l, v, dtype, corrupt, bitsets):
    rng = random.Random(seed)
    # Rows hold ~0.6 * B * L ids. Bitsets: V <= B * L / 2, mostly above V / 2 tokens. Class
    # flags: fewer rows and V in (2 B L, 16 B L], mostly between V / 32 and V / 2 tokens.
    if bitsets:
        v = min(v, max(1, b * l // 2))
    else:
        b, l = min(b, 6), min(l, 60)
        v = 2 * b * l + 1 + v % (14 * b * l + 1)
    class_ids, tables, starts, dead = _skip_patterns(rng, k, s, c, v, corrupt)
    ids, lengths = _skip_rows(rng, b, l, v, dtype, class_ids)
    _assert_matches_reference(ids, lengths, class_ids, tables, starts, dead)


@pytest.mark.parametrize('dtype', ID_DTYPES)
@pytest.mark.parametrize('v', [1, 63, 64, 65, 127, 128, 4097])
def test_vocab_word_edges(dtype, v):
    """Ids at V - 1 (the last stay bit), V (bit V, always clear) and around 64-id words."""
    rng = random.Random(v)
    class_ids, tables, starts, dead = _skip_patterns(rng, 2, 4, 3, v, corrupt=False)
    class_ids[:, v - 1] = 0
    edge = [v - 1, v, v - 2 if v > 1 else 0, 63 % v, 64 % v, -1]
    rows = [[v - 1] * 40 + [e] + [v - 1] * 27 for e in edge] + [[v - 1] * 67 + [v]]
    ids = torch.tensor(rows, dtype=dtype)
    lengths = torch.tensor([68] * len(edge) + [67], dtype=torch.int64)
    ids = ids.repeat(max(1, v // 400), 1)  # enough tokens for the bitsets (V / 2)
    lengths = lengths.repeat(max(1, v // 400))
    _assert_matches_reference(ids, lengths, class_ids, tables, starts, dead)


# (V, row copies): 16 rows of 62 ids are above V / 2 for V = 300 (bitsets); 4 rows lie
# between V / 32 and V / 2 for V = 4000 (class flags). The ids used are below 300.
TIERS = [(300, 4), (4000, 1)]


@pytest.mark.parametrize('v,reps', TIERS)
@pytest.mark.parametrize('dtype', ID_DTYPES)
def test_dead_start_and_bad_ids_after_dead(dtype, v, reps):
    """A dead start reads its first token's class; after the dead state only the ids'
    range is checked (a corrupt class there is never read), as in the reference."""
    class_ids = torch.zeros((1, v), dtype=torch.int32)
    class_ids[0, 299] = 1
    class_ids[0, 290] = 77  # corrupt, past the first 256 ids
    tables = torch.tensor([[[0, 1], [1, 1]]], dtype=torch.int32)  # state 1: dead sink
    dead = torch.tensor([1], dtype=torch.int32)
    rows = [
        [5] * 30 + [299] + [5] * 20 + [290] + [5] * 10,  # dead, then a corrupt class
        [5] * 30 + [299] + [5] * 20 + [v] + [5] * 10,  # dead, then a bad id
        [290] + [5] * 61,  # corrupt class in a loop state
        [5] * 61 + [-1],
    ]
    ids = torch.tensor(rows * reps, dtype=dtype)
    lengths = torch.tensor([62] * 4 * reps, dtype=torch.int64)
    for start in (0, 1):
        starts = torch.tensor([start], dtype=torch.int32)
        got = _assert_matches_reference(ids, lengths, class_ids, tables, starts, dead)
    assert got[1][:4, 0].tolist() == [0, 51, 0, 61]  # dead start: its first token; bad ids


@pytest.mark.parametrize('v,reps', [(400, 4), (4000, 1)])
@pytest.mark.parametrize('dtype', ID_DTYPES)
def test_accepting_sink_still_checks_classes_and_ids(dtype, v, reps):
    """A sink that is not the dead state keeps reading classes: a corrupt class or a bad id
    after the match still flags the row."""
    class_ids = torch.zeros((1, v), dtype=torch.int32)
    class_ids[0, 399] = 1
    class_ids[0, 300] = -5
    tables = torch.tensor([[[0, 1], [1, 1]]], dtype=torch.int32)  # state 1: accepting sink
    dead = torch.tensor([-1], dtype=torch.int32)
    rows = [
        [7] * 10 + [399] + [7] * 50 + [300],
        [7] * 10 + [399] + [7] * 50 + [-3],
        [7] * 10 + [399] + [7] * 51,
    ]
    ids = torch.tensor(rows * reps * 2, dtype=dtype)
    lengths = torch.tensor([62] * 6 * reps, dtype=torch.int64)
    got = _assert_matches_reference(
        ids, lengths, class_ids, tables, torch.tensor([0], dtype=torch.int32), dead
    )
    assert got[0][:3, 0].tolist() == [-2, -1, 1] and got[1][:3, 0].tolist() == [61, 61, -1]


# ---- real patterns over Qwen3 ids --------------------------------------------------------

WORDS = 'the of and to a in is that so then step check answer value < > / think 42 7 你好 😀'.split()


def _texts(rng, n, chars):
    pieces = ['<think>', '</think>', '<answer>', '</answer>', '<', '</', '\n', '<answer', 'think>']
    out = []
    for i in range(n):
        body = ' '.join(rng.choice(WORDS) for _ in range(chars // 4))
        if i % 3 == 0:
            body = ''.join(rng.choice(pieces) + body[x : x + 200] for x in range(0, len(body), 200))
        out.append(
            rng.choice(
                [
                    f'<think>\n{body}\n</think>\n<answer>{i}</answer>',
                    body,
                    f'<think>{body}<answer>{i}</answer>',
                    f'<answer>{i}</answer>{body}</think>',
                ]
            )
        )
    return out


@pytest.mark.parametrize('dtype', ID_DTYPES)
def test_format_reward_on_qwen3_ids_matches_re(dtype):
    """The think/answer searches (two searches, DOTALL) and the strict default format over ~130k real
    Qwen3 tokens (bitsets) and ~29k (class flags): the op equals the reference op, and the
    verdicts equal Python ``re`` on the decoded text."""
    from tests.dfa.test_tokens import qwen_tokenizer
    from twinkle.reward.format import FormatReward

    tok = qwen_tokenizer()
    rng = random.Random(11)
    texts = _texts(rng, 72, 6000)
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    ids, lengths = pad_ids(enc)
    assert int(lengths.sum()) > 151_669 // 2
    decoded = tok.batch_decode(enc, skip_special_tokens=True)
    searches = FormatReward(
        [r'<think>.*?</think>', r'<answer>.*?</answer>'], mode='search', flags=re.DOTALL, tokenizer=tok
    )
    want = [
        1.0
        if re.search('<think>.*?</think>', t, re.DOTALL) and re.search('<answer>.*?</answer>', t, re.DOTALL)
        else 0.0
        for t in decoded
    ]
    assert searches(ids.to(dtype), lengths=lengths).tolist() == want
    assert 10 <= sum(want) <= len(want) - 10
    strict = FormatReward(tokenizer=tok)
    assert strict(ids.to(dtype), lengths=lengths).tolist() == strict(decoded)
    for reward in (searches, strict):
        args = (reward.token_class_ids, reward.token_tables, reward.token_starts, reward.token_dead)
        bad = ids.clone()
        bad[5, 700], bad[9, int(lengths[9]) - 1], bad[20, 0] = -1, 10**6, 151_669
        for x in (ids, bad):  # all rows: bitsets; 16 rows (~29k ids): class flags
            for n in (len(enc), 16):
                _assert_matches_reference(x[:n].to(dtype), lengths[:n], *args)
