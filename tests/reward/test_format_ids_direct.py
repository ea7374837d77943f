"""The direct CPU id scanner of the format rewards against the ``dfa_scan`` op path.

CPU ids are scanned by ``twinkle._C.scan_ids`` (the tensors by address, no dispatch); CUDA
ids, other dtypes and ``torch.compile`` take the op. Both must agree on everything a caller
sees: acceptance, rewards, first-dead positions, NaN rows with ``check_ids`` off, and the
errors (same type, same message) with it on. The op path is forced here by hiding the
direct scanner.
"""

import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dfa.test_tokens import qwen_tokenizer
from twinkle import _ext
from twinkle.reward.format import BoxedReward, FormatReward, TagCountReward, _DfaReward

pytestmark = pytest.mark.skipif(_ext.string_scanner() is None, reason='needs the compiled library')

PATTERNS = [  # (pattern, flags, mode): sinks, dead states, an impossible one
    (None, 0, 'fullmatch'),
    (r'<think>.*?</think>', re.DOTALL, 'search'),
    (r'\d+\s*$', 0, 'search'),
    (r'a\Zb', 0, 'search'),
    (r'[^<]*', 0, 'fullmatch'),
]
PIECES = ['<think>', '</think>', '<answer>', '</answer>', ' 42', 'the', '\n', '你好', '😀', 'x']


@pytest.fixture(scope='module')
def tok():
    return qwen_tokenizer()


@pytest.fixture(scope='module')
def each(tok):
    specs = [('think_answer',) if p is None else ('regex', p, f, m) for p, f, m in PATTERNS]
    on = _DfaReward(specs, tokenizer=tok)
    off = _DfaReward(specs, tokenizer=tok, check_ids=False)
    return on, off


def _op_path(reward, ids, mask, lengths):
    """The op path's answer: the direct scanner hidden for one call."""
    reward._scan_ids_direct = lambda *a, **k: None
    try:
        return reward.scan_ids(ids, lengths, attention_mask=mask)
    finally:
        del reward._scan_ids_direct


def _outcome(call):
    try:
        return call(), None
    except (ValueError, TypeError) as e:
        return None, e


def _same(reward, ids, mask, lengths):
    want, want_exc = _outcome(lambda: _op_path(reward, ids, mask, lengths))
    got, got_exc = _outcome(lambda: reward.scan_ids(ids, lengths, attention_mask=mask))
    # score_ids reduces each row in the direct scanner's call (the op path: torch's mean)
    score, score_exc = _outcome(lambda: reward.score_ids(ids, lengths, attention_mask=mask))
    if want_exc is not None or got_exc is not None or score_exc is not None:
        for e in (got_exc, score_exc):
            assert type(e) is type(want_exc) and str(e) == str(want_exc)
        return
    assert got[0].dtype == torch.float32 and got[1].dtype == torch.int64
    np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())  # NaN rows equal too
    assert torch.equal(got[1], want[1])
    assert score.dtype == torch.float32 and score.shape == (ids.shape[0],)
    np.testing.assert_array_equal(score.numpy(), want[0].mean(dim=1).numpy())


@st.composite
def batches(draw, vocab):
    n = draw(st.integers(0, 9))
    rows = [
        draw(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=6)) for _ in range(n)
    ]
    return rows, draw(st.randoms(use_true_random=False)), draw(st.sampled_from([torch.int32, torch.int64]))


def _inputs(tok, rows, rnd, dtype):
    seqs = [tok.encode(''.join(r), add_special_tokens=False) for r in rows]
    vocab = len(tok)
    width = max([len(s) for s in seqs] + [0]) + rnd.randint(0, 3)
    ids = torch.full((len(seqs), width), rnd.choice([0, vocab + 5]), dtype=dtype)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=dtype)
        if s and rnd.random() < 0.15:  # a bad id inside a row
            ids[i, rnd.randrange(len(s))] = rnd.choice([-1, vocab + 100])
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    if rnd.random() < 0.1 and len(seqs):
        lengths[rnd.randrange(len(seqs))] = rnd.choice([-1, width + 1])  # out of [0, L]
    mask = None
    if rnd.random() < 0.5:
        mask = torch.rand(ids.shape, generator=torch.Generator().manual_seed(rnd.randrange(99))) < 0.8
        if rnd.random() < 0.5:
            mask = mask.to(rnd.choice([torch.uint8, torch.int64]))
    return ids, mask, (lengths if rnd.random() < 0.7 else None)


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_direct_scan_equals_the_op(tok, each, data):
    rows, rnd, dtype = data.draw(batches(len(tok)))
    ids, mask, lengths = _inputs(tok, rows, rnd, dtype)
    for reward in each:
        _same(reward, ids, mask, lengths)


def test_wide_batches_run_in_parallel_and_agree(tok, each):
    rows = [tok.encode(f'<think>{"the cat " * (i % 50)}</think><answer>{i}</answer>') for i in range(600)]
    width = max(map(len, rows))
    ids = torch.zeros(len(rows), width, dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    lengths = torch.tensor([len(r) for r in rows])
    for reward in each:
        _same(reward, ids, None, lengths)
        _same(reward, ids[:, : width // 2].contiguous(), None, lengths.clamp(max=width // 2))
        _same(reward, ids.t().contiguous().t(), None, lengths)  # a non-contiguous view
        # lengths of another integer dtype, and strided lengths and mask
        _same(reward, ids, None, lengths.to(torch.int32))
        mask = torch.rand(ids.shape, generator=torch.Generator().manual_seed(5)) < 0.9
        _same(reward, ids, mask.t().contiguous().t(), torch.stack([lengths, lengths], 1)[:, 1])


@pytest.mark.parametrize(
    'make',
    [
        lambda t: FormatReward(tokenizer=t),
        lambda t: TagCountReward(tokenizer=t),
        lambda t: BoxedReward(tokenizer=t),
    ],
)
def test_forward_of_every_format_reward(tok, make):
    reward = make(tok)
    texts = ['<think>a</think><answer>1</answer>', 'no tags', '\\boxed{2} <think></think>', '']
    seqs = [tok.encode(t) for t in texts]
    ids = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    lengths = torch.tensor([len(s) for s in seqs])
    got = reward(ids, lengths=lengths)
    reward._scan_ids_direct = lambda *a, **k: None
    want = reward(ids, lengths=lengths)
    assert got.dtype == torch.float32 and torch.equal(got, want)
    assert got.tolist() == reward(texts)


def test_narrow_ids_and_compile(tok):
    digits = FormatReward(r'\d', mode='search', tokenizer=tok)
    short = torch.tensor([tok.encode('12 is'), tok.encode('it is') + [275]])
    assert short.max() < 2**15
    assert digits(short.to(torch.int16)).tolist() == [1.0, 0.0]  # widened, in both paths
    digits._scan_ids_direct = lambda *a, **k: None
    assert digits(short.to(torch.int16)).tolist() == [1.0, 0.0]
    reward = FormatReward(tokenizer=tok)
    ids = torch.tensor([tok.encode('<think>a</think><answer>1</answer>')])
    compiled = torch.compile(reward, fullgraph=True, backend='eager')
    assert compiled(ids).tolist() == [1.0]
