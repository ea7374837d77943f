"""twinkle::dfa_scan against the pure-torch reference, and the op's error contract."""

import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import compiled_or_skip
from twinkle import ops, reference
from twinkle.constants import DfaError

ID_DTYPES = [torch.uint8, torch.int32, torch.int64]


def _patterns(k, s, c, v, seed, with_dead=True):
    """K random token DFAs: state s-1 is a sink (the dead state) in every other pattern."""
    g = torch.Generator().manual_seed(seed)
    tables = torch.randint(0, s, (k, s, c), generator=g, dtype=torch.int32)
    # Make the random tables reach the sink rarely, so first_dead varies along the rows.
    tables = torch.where(torch.rand(k, s, c, generator=g) < 0.85, tables % max(s - 1, 1), tables)
    dead = torch.full((k,), -1, dtype=torch.int32)
    if with_dead and s > 1:
        for j in range(0, k, 2):
            tables[j, s - 1] = s - 1
            dead[j] = s - 1
    class_ids = torch.randint(0, c, (k, v), generator=g, dtype=torch.int32)
    starts = torch.randint(0, s, (k,), generator=g, dtype=torch.int32)
    return class_ids, tables, starts, dead


def _batch(b, l, v, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, v, (b, l), generator=g).to(dtype)
    lengths = torch.randint(-1, l + 2, (b,), generator=g)  # clamped to [0, L]
    return ids, lengths


def _compiled(device, *args):
    compiled_or_skip('dfa_scan', device)
    return torch.ops.twinkle.dfa_scan(*[a.to(device) if isinstance(a, torch.Tensor) else a for a in args])


# Batches: empty, one, primes; lengths: 0, 1, prime, long; K: one and several patterns.
@pytest.mark.parametrize('b,l', [(0, 5), (1, 0), (1, 1), (7, 13), (13, 1), (31, 97), (64, 256)])
@pytest.mark.parametrize('k,s,c', [(1, 1, 1), (1, 5, 3), (3, 17, 7), (2, 2, 11)])
@pytest.mark.parametrize('dtype', ID_DTYPES)
def test_matches_reference(device, b, l, k, s, c, dtype):
    v = 200 if dtype == torch.uint8 else 1009
    class_ids, tables, starts, dead = _patterns(k, s, c, v, seed=b * 31 + l + s)
    ids, lengths = _batch(b, l, v, dtype, seed=l + k)
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    assert got[0].dtype == torch.int32 and got[1].dtype == torch.int64
    assert got[0].shape == (b, k) and got[0].device.type == device.type
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


def _python_scan(ids, n, class_ids, table, start, dead):
    """The contract spelled out token by token (one pattern, one row, valid ids)."""
    s, fd = start, -1
    for t in range(n):
        s = int(table[s, class_ids[ids[t]]])
        if s == dead and fd < 0:
            fd = t
    return s, fd


def test_reference_matches_plain_loop():
    class_ids, tables, starts, dead = _patterns(3, 9, 4, 50, seed=3)
    ids, lengths = _batch(40, 30, 50, torch.int64, seed=4)
    final, fd = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    for bi in range(40):
        n = max(0, min(int(lengths[bi]), 30))
        for j in range(3):
            want = _python_scan(ids[bi].tolist(), n, class_ids[j], tables[j], int(starts[j]), int(dead[j]))
            assert (int(final[bi, j]), int(fd[bi, j])) == want


def test_wrapper_single_pattern_shapes(device):
    # 'a'+ over ids {0: 'a', 1: other}; state 2 is the sink.
    cls = torch.tensor([0, 1], dtype=torch.int32, device=device)
    tab = torch.tensor([[1, 2], [1, 2], [2, 2]], dtype=torch.int32, device=device)
    ids = torch.tensor([[0, 0, 1], [0, 1, 0], [1, 1, 1]], device=device)
    final, fd = ops.dfa_scan(ids, torch.tensor([2, 3, 0], device=device), cls, tab, 0, 2)
    assert final.tolist() == [1, 2, 0] and fd.tolist() == [-1, 1, -1]
    assert final.device.type == device.type


def test_start_already_dead():
    cls = torch.zeros(3, dtype=torch.int32)
    tab = torch.zeros((1, 1), dtype=torch.int32)
    final, fd = ops.dfa_scan(torch.zeros((2, 2), dtype=torch.int64), torch.tensor([2, 0]), cls, tab, 0, 0)
    assert final.tolist() == [0, 0] and fd.tolist() == [0, -1]


# ---- errors are values in the op, exceptions in the wrapper ---------------------------


@pytest.mark.parametrize('bad', [-1, 50, 10**6])
def test_out_of_range_id_flagged_and_raised(device, bad):
    class_ids, tables, starts, dead = _patterns(2, 6, 3, 50, seed=1, with_dead=False)
    ids, lengths = _batch(4, 9, 50, torch.int64, seed=2)
    lengths[:] = 9
    ids[2, 5] = bad
    ids[3, 8] = bad
    lengths[3] = 8  # the bad id sits in the padding: never read
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    assert got[0][2].tolist() == [DfaError.BAD_ID, DfaError.BAD_ID] and got[1][2].tolist() == [5, 5]
    assert (got[0][[0, 1, 3]] >= 0).all()
    with pytest.raises(ValueError, match=r'input_ids\[2, 5\] is out of range'):
        ops.dfa_scan(
            ids.to(device),
            lengths.to(device),
            class_ids.to(device),
            tables.to(device),
            starts.to(device),
            dead.to(device),
        )
    final, _ = ops.dfa_scan(
        ids.to(device),
        lengths.to(device),
        class_ids.to(device),
        tables.to(device),
        starts.to(device),
        dead.to(device),
        check=False,
    )
    assert final[2].tolist() == [DfaError.BAD_ID, DfaError.BAD_ID]


def test_bad_id_after_dead_still_flagged(device):
    cls = torch.tensor([[0, 1]], dtype=torch.int32)
    tab = torch.tensor([[[1, 2], [1, 2], [2, 2]]], dtype=torch.int32)
    ids = torch.tensor([[1, 0, 7]])
    args = (
        ids,
        torch.tensor([3]),
        cls,
        tab,
        torch.tensor([0], dtype=torch.int32),
        torch.tensor([2], dtype=torch.int32),
    )
    got = _compiled(device, *args)
    assert got[0].tolist() == [[DfaError.BAD_ID]] and got[1].tolist() == [[2]]
    assert torch.equal(reference.dfa_scan(*args)[0], got[0].cpu())


@pytest.mark.parametrize('case', ['class', 'transition', 'start'])
def test_corrupt_table_flagged_not_read(device, case):
    class_ids, tables, starts, dead = _patterns(2, 4, 3, 20, seed=5, with_dead=False)
    if case == 'class':
        class_ids[1, :] = 99
    elif case == 'transition':
        tables[1, :, :] = -7
    else:
        starts[1] = 4
    ids, lengths = _batch(5, 6, 20, torch.int32, seed=6)
    lengths[:] = 6
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    assert (got[0][:, 1] == DfaError.BAD_TABLE).all() and (got[0][:, 0] >= 0).all()
    with pytest.raises(ValueError, match='out of range'):
        ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead)


@pytest.mark.parametrize('dtype', [torch.int32, torch.int64])
def test_corrupt_class_past_the_first_256_ids(device, dtype):
    """Class ids past the first 256 are checked as they are read (the op does not pass
    over the whole vocabulary per call): a bad one is DfaError.BAD_TABLE at its token, except after
    the dead state, where no class is read (the reference's rule too)."""
    v = 1000
    class_ids = torch.zeros((1, v), dtype=torch.int32)
    class_ids[0, 1] = 1  # id 1: the class that leads to the dead state
    class_ids[0, 700] = 99  # corrupt, past the first 256 ids
    tables = torch.tensor([[[0, 2], [1, 1], [2, 2]]], dtype=torch.int32)  # 2: dead sink
    starts, dead = torch.tensor([0], dtype=torch.int32), torch.tensor([2], dtype=torch.int32)
    rows = [[5, 700, 5, 5], [5, 1, 700, 5], [700, 5, 5, 5], [5, 5, 5, 5], [1, 5, 5, 2000 % v]]
    ids = torch.tensor(rows, dtype=dtype)
    lengths = torch.tensor([4, 4, 4, 4, 4])
    for chunk in (0, 2):
        got = _compiled(device, ids, lengths, class_ids, tables, starts, dead, chunk)
        want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
        assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    assert got[0][:, 0].tolist() == [DfaError.BAD_TABLE, 2, DfaError.BAD_TABLE, 0, 2]
    assert got[1][:, 0].tolist() == [1, 1, 0, -1, 0]


@pytest.mark.parametrize(
    'what,msg',
    [
        ('ids3d', 'input_ids must be 2-D'),
        ('float_ids', 'uint8, int32 or int64'),
        ('lengths', 'lengths must have shape'),
        ('tables_dtype', 'must be int32'),
        ('k_mismatch', 'patterns but tables has'),
        ('starts', 'starts and dead must have shape'),
    ],
)
def test_shape_and_dtype_errors(what, msg):
    class_ids, tables, starts, dead = _patterns(2, 4, 3, 20, seed=7)
    ids, lengths = _batch(3, 4, 20, torch.int64, seed=8)
    if what == 'ids3d':
        ids = ids[None]
    elif what == 'float_ids':
        ids = ids.float()
    elif what == 'lengths':
        lengths = lengths[:2]
    elif what == 'tables_dtype':
        tables = tables.long()
    elif what == 'k_mismatch':
        class_ids = class_ids[:1]
    elif what == 'starts':
        starts = starts[:1]
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    with pytest.raises(RuntimeError, match=msg):
        torch.ops.twinkle.dfa_scan(ids, lengths, class_ids, tables, starts, dead)


# ---- torch.library integration --------------------------------------------------------


@pytest.mark.parametrize('dtype', ID_DTYPES)
def test_opcheck(device, dtype):
    compiled_or_skip('dfa_scan', device)
    class_ids, tables, starts, dead = _patterns(2, 7, 5, 100, seed=9)
    ids, lengths = _batch(6, 11, 100, dtype, seed=10)
    args = tuple(a.to(device) for a in (ids, lengths, class_ids, tables, starts, dead))
    torch.library.opcheck(torch.ops.twinkle.dfa_scan.default, args)


def test_torch_compile_fullgraph(device):
    class_ids, tables, starts, dead = _patterns(1, 9, 4, 64, seed=11)
    class_ids, tables = class_ids[0].to(device), tables[0].to(device)
    starts, dead = starts.to(device), dead.to(device)

    def accept_rate(ids, lengths):
        final, fd = ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
        return (final == 3).float().mean(), fd.max()

    ids, lengths = _batch(16, 20, 64, torch.int64, seed=12)
    ids, lengths = ids.to(device), lengths.to(device)
    eager = accept_rate(ids, lengths)
    compiled = torch.compile(accept_rate, fullgraph=True)(ids, lengths)
    assert torch.equal(eager[0], compiled[0]) and torch.equal(eager[1], compiled[1])


def test_dead_state_that_is_not_a_sink_still_stops(device):
    """A caller's `dead` whose row leaves it: the checked path pins the state there."""
    cls = torch.tensor([[0, 1]], dtype=torch.int32)
    tab = torch.tensor([[[1, 2], [1, 2], [0, 0]]], dtype=torch.int32)  # state 2 is not a sink
    args = (
        torch.tensor([[1, 0, 0], [0, 0, 0]]),
        torch.tensor([3, 3]),
        cls,
        tab,
        torch.tensor([0], dtype=torch.int32),
        torch.tensor([2], dtype=torch.int32),
    )
    got = _compiled(device, *args)
    assert got[0].tolist() == [[2], [1]] and got[1].tolist() == [[0], [-1]]
    want = reference.dfa_scan(*args)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


@pytest.mark.parametrize(
    'pattern,mode',
    [
        (r'<think>.*?</think>', 'search'),
        (r'(?s)<a>.*</a>\s*', 'fullmatch'),
        (r'[^<]*', 'fullmatch'),
        (r'x', 'search'),
        (r'(?s)ab.*', 'match'),
    ],
)
def test_byte_dfas_with_few_exits_match_reference(device, pattern, mode):
    """Real byte DFAs (states left by <= 3 bytes: the CPU op's memchr shortcut)."""
    import random

    from twinkle.dfa import compile_regex
    from twinkle.dfa.tokens import byte_table, token_classes

    dfa = compile_regex(pattern, 0, mode)
    tc = token_classes(dfa, byte_table())
    rng = random.Random(13)
    alphabet = b'<>/thinkabx \n\xe4\xbd\xa0\xff'
    rows = [
        bytes(
            rng.choice(alphabet) if rng.random() < 0.3 else rng.randrange(256)
            for _ in range(rng.randrange(0, 300))
        )
        for _ in range(37)
    ] + [b'<think>' * 40, b'<a>' + b'z' * 500 + b'</a> ', b'x' * 400]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.uint8)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.uint8)
    lengths = torch.tensor([len(r) for r in rows])
    args = (
        ids,
        lengths,
        torch.from_numpy(tc.class_ids.copy())[None],
        torch.from_numpy(tc.transitions.copy())[None],
        torch.tensor([tc.start], dtype=torch.int32),
        torch.tensor([tc.dead], dtype=torch.int32),
    )
    got = _compiled(device, *args)
    want = reference.dfa_scan(*args)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    for i, r in enumerate(rows):
        assert bool(tc.accept[int(got[0][i, 0])]) == dfa.accepts(r)
        assert int(got[1][i, 0]) == dfa.first_dead(r, tc.start) or (dfa.dead < 0 and int(got[1][i, 0]) == -1)


# ---- the chunked scan (include/twinkle/dfa_chunks.h: the CUDA kernel's algorithm) ------
#
# `chunk` > 0 makes the op cut each row into chunks, summarise them independently and apply
# them in order, in the CUDA kernel's tile loop. On CPU, a batch with fewer rows than threads
# spreads each row's chunks over the threads; a larger one gives each thread whole rows.
# Both must equal the reference for every chunk length, including the error cases.

CHUNKS = [1, 2, 3, 7, 64, 1000]


def _chunk_dfas(k, s, c, v, seed):
    """Random DFAs shaped like format checks: a sink, an identity column (tokens that decode
    to nothing), narrow columns (anchors) and one column wider than the chunk ways."""
    class_ids, tables, starts, dead = _patterns(k, s, c, v, seed)
    g = torch.Generator().manual_seed(seed + 1)
    if c >= 2:
        tables[:, :, 0] = torch.arange(s, dtype=torch.int32)  # identity
    if c >= 3:
        tables[:, :, 1] = tables[:, :, 1] % min(s, 3)  # at most 3 ways
    if c >= 4 and s > 9:
        tables[:, :, 2] = torch.randperm(s, generator=g).to(torch.int32)  # a permutation: too wide
    for j in range(k):
        if dead[j] >= 0:
            tables[j, dead[j]] = dead[j]
    return class_ids, tables, starts, dead


@pytest.mark.parametrize('chunk', CHUNKS)
@pytest.mark.parametrize('b,l', [(1, 0), (1, 1), (1, 97), (2, 300), (9, 61), (33, 128)])
@pytest.mark.parametrize('k,s,c', [(1, 1, 1), (1, 6, 4), (3, 17, 7), (2, 12, 5)])
def test_chunked_matches_reference(device, chunk, b, l, k, s, c):
    v = 300
    class_ids, tables, starts, dead = _chunk_dfas(k, s, c, v, seed=b * 7 + l + s)
    ids, lengths = _batch(b, l, v, torch.int64, seed=l + chunk)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead, chunk)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


@pytest.mark.parametrize('chunk', [1, 4, 5])
@pytest.mark.parametrize('b', [1, 8])
def test_chunked_errors_and_dead_start(device, chunk, b):
    """Bad ids before and after the dead state, bad classes while alive and while dead, a
    start that is already dead: every error lands where the plain scan puts it."""
    v, l = 40, 23
    class_ids, tables, starts, dead = _chunk_dfas(3, 8, 5, v, seed=21)
    class_ids[1, 7] = 99  # class out of range for pattern 1
    class_ids[2, 3] = -5
    starts[2] = dead[2] if dead[2] >= 0 else starts[2]
    ids, lengths = _batch(b, l, v, torch.int64, seed=22)
    lengths[:] = l
    ids[:, 4] = 7  # pattern 1 reads its bad class at 4 unless already dead
    ids[0, 9] = v  # a bad id in row 0
    if b > 1:
        ids[1, 0] = -1  # at position 0
        ids[2, l - 1] = 10**6  # at the last position
        ids[3, :] = 3  # pattern 2's bad class on every token
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead, chunk)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    # The cases are really exercised: both error kinds, and (with several rows) clean rows.
    assert (want[0] == DfaError.BAD_ID).any() and (want[0] == DfaError.BAD_TABLE).any()
    assert b == 1 or (want[0] >= 0).any()


@pytest.mark.parametrize('chunk', [1, 16])
def test_chunked_unchunkable_pattern_takes_checked_path(device, chunk):
    """A corrupt table or a dead state that is not a sink is never read out of bounds."""
    class_ids, tables, starts, dead = _chunk_dfas(3, 6, 4, 30, seed=31)
    tables[0, 2, 1] = 6  # out of range
    tables[1, 5] = 0
    dead[1] = 5  # not a sink
    starts[2] = -3  # bad start
    ids, lengths = _batch(5, 40, 30, torch.int32, seed=32)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    got = _compiled(device, ids, lengths, class_ids, tables, starts, dead, chunk)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


def test_huge_chunk_is_capped(device):
    """A chunk far longer than the rows is the same scan, without huge buffers."""
    class_ids, tables, starts, dead = _chunk_dfas(2, 7, 5, 60, seed=51)
    ids, lengths = _batch(3, 70, 60, torch.int64, seed=52)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    for chunk in (71, 2**31 + 5, 10**15):
        got = _compiled(device, ids, lengths, class_ids, tables, starts, dead, chunk)
        assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
        got = _compiled(device, ids[:1], lengths[:1], class_ids, tables, starts, dead, chunk)
        assert torch.equal(got[0].cpu(), want[0][:1]) and torch.equal(got[1].cpu(), want[1][:1])


def test_chunk_argument_validated():
    class_ids, tables, starts, dead = _patterns(1, 3, 2, 10, seed=1)
    ids, lengths = _batch(2, 5, 10, torch.int64, seed=2)
    with pytest.raises(ValueError, match='chunk must be an int >= 0'):
        ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead, chunk=-1)
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    with pytest.raises(RuntimeError, match='chunk must be >= 0'):
        torch.ops.twinkle.dfa_scan(ids, lengths, class_ids, tables, starts, dead, -2)


def test_chunked_opcheck(device):
    compiled_or_skip('dfa_scan', device)
    class_ids, tables, starts, dead = _chunk_dfas(2, 7, 5, 100, seed=41)
    ids, lengths = _batch(3, 50, 100, torch.int64, seed=42)
    args = tuple(a.to(device) for a in (ids, lengths, class_ids, tables, starts, dead)) + (5,)
    torch.library.opcheck(torch.ops.twinkle.dfa_scan.default, args)


@pytest.mark.parametrize('chunk', [1, 5, 64])
def test_chunked_strict_format_on_qwen3_ids(device, chunk):
    """The strict think/answer DFA over real Qwen3 ids (68 states, 63 classes, one identity
    class for special tokens): chunked verdicts and first-dead positions equal the plain scan."""
    import random

    from twinkle.reward.format import FormatReward
    from twinkle.sampler.testing import qwen3_tokenizer

    tok = qwen3_tokenizer()
    fmt = FormatReward(tokenizer=tok)
    rng = random.Random(5)
    pieces = [
        '<think>',
        '</think>',
        '<answer>',
        '</answer>',
        ' step',
        ' 42',
        '\n',
        '<',
        '</',
        'think',
        '>',
        ' so',
        ' the answer is',
        '  ',
        '<|im_end|>',
        '<answer',
    ]
    texts = []
    for i in range(48):
        if i % 3 == 0:
            body = ''.join(rng.choice(pieces[4:]) for _ in range(rng.randrange(0, 200)))
            texts.append(f'<think>{body}</think>\n<answer>{rng.randrange(100)}</answer>')
        else:
            texts.append(''.join(rng.choice(pieces) for _ in range(rng.randrange(0, 300))))
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    width = max(len(e) for e in enc)
    ids = torch.full((len(enc), width), tok.pad_token_id, dtype=torch.int64)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e)
    lengths = torch.tensor([len(e) for e in enc])
    args = (ids, lengths, fmt.token_class_ids, fmt.token_tables, fmt.token_starts, fmt.token_dead)
    want = ops.dfa_scan(*args, chunk=0) if device.type == 'cpu' else reference.dfa_scan(*args)
    got = _compiled(device, *args, chunk)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    accepted = fmt.token_accept[0][want[0][:, 0].long()]
    assert accepted.sum() >= 5 and (~accepted).sum() >= 5
    # Against the text path on what batch_decode gives (special tokens decode to nothing).
    decoded = tok.batch_decode(enc, skip_special_tokens=True)
    trajectories = [{'messages': [{'role': 'assistant', 'content': t}]} for t in decoded]
    assert accepted.tolist() == [r == 1.0 for r in fmt(trajectories)]


CHUNK_EXAMPLES = int(os.environ.get('TWINKLE_CHUNK_EXAMPLES', '1000'))


def _differential_inputs(s, c, v, b, l, shape, seed):
    """One random DFA and batch (see test_chunked_differential): the op's arguments."""
    g = torch.Generator().manual_seed(seed)
    table = torch.randint(0, s, (1, s, c), generator=g, dtype=torch.int32)
    class_ids = torch.randint(0, c, (1, v), generator=g, dtype=torch.int32)
    dead = torch.tensor([-1], dtype=torch.int32)
    if 'identity' in shape:
        table[0, :, 0] = torch.arange(s, dtype=torch.int32)
    if 'narrow' in shape:
        table[0, :, c - 1] %= min(s, 2)
    if 'sink' in shape:
        dead[0] = s - 1
        table[0, s - 1] = s - 1
    if 'other_sink' in shape and s > 2:
        table[0, 0] = 0
    start = torch.tensor(
        [
            int(dead[0])
            if 'start_dead' in shape and dead[0] >= 0
            else int(torch.randint(0, s, (1,), generator=g))
        ],
        dtype=torch.int32,
    )
    if 'bad_class' in shape:
        class_ids[0, int(torch.randint(0, v, (1,), generator=g))] = c
    ids = torch.randint(0, v, (b, l), generator=g)
    if 'bad_id' in shape and l:
        ids[int(torch.randint(0, b, (1,), generator=g)), int(torch.randint(0, l, (1,), generator=g))] = v
    lengths = torch.randint(0, l + 1, (b,), generator=g)
    return ids, lengths, class_ids, table, start, dead


def _differential_case(s, c, v, b, l, chunk, shape, seed, device):
    """The op on ``device`` against the reference for one set of differential inputs."""
    ids, lengths, class_ids, table, start, dead = _differential_inputs(s, c, v, b, l, shape, seed)
    want = reference.dfa_scan(ids, lengths, class_ids, table, start, dead)
    for rows in (ids[:1], ids):  # one row: its chunks over the threads; several: a row per thread
        n = rows.shape[0]
        got = _compiled(device, rows, lengths[:n], class_ids, table, start, dead, chunk)
        assert torch.equal(got[0].cpu(), want[0][:n]) and torch.equal(got[1].cpu(), want[1][:n])


DIFFERENTIAL_ARGS = dict(
    s=st.integers(1, 10),
    c=st.integers(1, 6),
    v=st.integers(1, 25),
    b=st.integers(1, 4),
    l=st.integers(0, 160),
    chunk=st.one_of(st.integers(1, 5), st.just(64)),
    shape=st.sets(
        st.sampled_from(['identity', 'narrow', 'sink', 'start_dead', 'bad_id', 'bad_class', 'other_sink'])
    ),
    seed=st.integers(0, 2**31 - 1),
)


@settings(
    max_examples=CHUNK_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(**DIFFERENTIAL_ARGS)
def test_chunked_differential(s, c, v, b, l, chunk, shape, seed):
    """Random small DFAs and inputs, every structure the chunked path special-cases
    (identity columns, narrow anchors, a dead sink and another sink such as a search's
    accepting state, a dead start, bad ids, bad classes), against the reference, with one
    row (its chunks spread over the threads) and several (a row per thread). Tiles hold 64
    chunks, so rows of up to 160 tokens span several tiles at chunk 1 or 2."""
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    _differential_case(s, c, v, b, l, chunk, shape, seed, torch.device('cpu'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
@settings(
    max_examples=CHUNK_EXAMPLES // 2,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(**DIFFERENTIAL_ARGS)
def test_chunked_differential_cuda(s, c, v, b, l, chunk, shape, seed):
    """The same cases through the CUDA kernels (the chunked kernel and the sink mode)."""
    compiled_or_skip('dfa_scan', torch.device('cuda'))
    _differential_case(s, c, v, b, l, chunk, shape, seed, torch.device('cuda'))


# ---- the CPU byte shortcut (uint8 ids, V >= 256: memchr over a state's few exits) --------


def _byte_shortcut_inputs(s, c, b, l, start_dead, seed):
    """A random byte DFA whose states are left by few bytes (so the shortcut runs), a sink as
    the dead state, and rows of bytes that mostly stay put."""
    g = torch.Generator().manual_seed(seed)
    class_ids = torch.zeros((1, 256), dtype=torch.int32)
    exits = torch.randint(0, 256, (2 * c,), generator=g)
    class_ids[0, exits] = torch.randint(1, c, (2 * c,), generator=g, dtype=torch.int32) if c > 1 else 0
    table = torch.randint(0, s, (1, s, c), generator=g, dtype=torch.int32)
    table[0, :, 0] = torch.arange(s, dtype=torch.int32)  # the common bytes stay put
    dead = torch.tensor([s - 1], dtype=torch.int32)
    table[0, s - 1] = s - 1
    start = torch.tensor(
        [s - 1 if start_dead else int(torch.randint(0, s, (1,), generator=g))], dtype=torch.int32
    )
    ids = torch.where(
        torch.rand(b, l, generator=g) < 0.9,
        torch.full((b, l), 200),
        exits[torch.randint(0, 2 * c, (b, l), generator=g)],
    ).to(torch.uint8)
    lengths = torch.randint(0, l + 1, (b,), generator=g)
    return ids, lengths, class_ids, table, start, dead


@settings(
    max_examples=max(50, CHUNK_EXAMPLES // 4),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    s=st.integers(1, 8),
    c=st.integers(1, 5),
    b=st.integers(1, 9),
    l=st.integers(0, 90),
    start_dead=st.booleans(),
    chunk=st.sampled_from([0, 1, 3, 64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_byte_shortcut_differential(s, c, b, l, start_dead, chunk, seed):
    """uint8 ids over a 256-id table with chunk 0 take the memchr shortcut (and its stop at a
    sink); it must equal the reference, first-dead positions included (a dead start is dead
    at 0 on a non-empty row), as must every chunk length."""
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    args = _byte_shortcut_inputs(s, c, b, l, start_dead, seed)
    want = reference.dfa_scan(*args)
    got = _compiled(torch.device('cpu'), *args, chunk)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
