"""twinkle::dfa_scan against the pure-torch reference, and the op's error contract."""
import pytest
import torch

from tests.conftest import compiled_or_skip
from twinkle import ops, reference
from twinkle.ops.dfa_scan import BAD_ID, BAD_TABLE

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
    ops.dfa_scan  # the wrapper registers the fake kernel on first use
    return torch.ops.twinkle.dfa_scan(*[a.to(device) for a in args])


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
    assert got[0][2].tolist() == [BAD_ID, BAD_ID] and got[1][2].tolist() == [5, 5]
    assert (got[0][[0, 1, 3]] >= 0).all()
    with pytest.raises(ValueError, match=r'input_ids\[2, 5\] is out of range'):
        ops.dfa_scan(ids.to(device), lengths.to(device), class_ids.to(device), tables.to(device),
                     starts.to(device), dead.to(device))
    final, _ = ops.dfa_scan(ids.to(device), lengths.to(device), class_ids.to(device), tables.to(device),
                            starts.to(device), dead.to(device), check=False)
    assert final[2].tolist() == [BAD_ID, BAD_ID]


def test_bad_id_after_dead_still_flagged(device):
    cls = torch.tensor([[0, 1]], dtype=torch.int32)
    tab = torch.tensor([[[1, 2], [1, 2], [2, 2]]], dtype=torch.int32)
    ids = torch.tensor([[1, 0, 7]])
    args = (ids, torch.tensor([3]), cls, tab, torch.tensor([0], dtype=torch.int32),
            torch.tensor([2], dtype=torch.int32))
    got = _compiled(device, *args)
    assert got[0].tolist() == [[BAD_ID]] and got[1].tolist() == [[2]]
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
    assert (got[0][:, 1] == BAD_TABLE).all() and (got[0][:, 0] >= 0).all()
    with pytest.raises(ValueError, match='out of range'):
        ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead)


@pytest.mark.parametrize('what,msg', [
    ('ids3d', 'input_ids must be 2-D'), ('float_ids', 'uint8, int32 or int64'),
    ('lengths', 'lengths must have shape'), ('tables_dtype', 'must be int32'),
    ('k_mismatch', 'patterns but tables has'), ('starts', 'starts and dead must have shape')])
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
    ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead)  # registers the fake
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
    args = (torch.tensor([[1, 0, 0], [0, 0, 0]]), torch.tensor([3, 3]), cls, tab,
            torch.tensor([0], dtype=torch.int32), torch.tensor([2], dtype=torch.int32))
    got = _compiled(device, *args)
    assert got[0].tolist() == [[2], [1]] and got[1].tolist() == [[0], [-1]]
    want = reference.dfa_scan(*args)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


@pytest.mark.parametrize('pattern,mode', [(r'<think>.*?</think>', 'search'), (r'(?s)<a>.*</a>\s*', 'fullmatch'),
                                          (r'[^<]*', 'fullmatch'), (r'x', 'search'), (r'(?s)ab.*', 'match')])
def test_byte_dfas_with_few_exits_match_reference(device, pattern, mode):
    """Real byte DFAs (states left by <= 3 bytes: the CPU op's memchr shortcut)."""
    import random
    from twinkle.dfa import compile_regex
    from twinkle.dfa.tokens import byte_table, token_classes
    dfa = compile_regex(pattern, 0, mode)
    tc = token_classes(dfa, byte_table())
    rng = random.Random(13)
    alphabet = b'<>/thinkabx \n\xe4\xbd\xa0\xff'
    rows = [bytes(rng.choice(alphabet) if rng.random() < 0.3 else rng.randrange(256)
                  for _ in range(rng.randrange(0, 300))) for _ in range(37)] + [b'<think>' * 40, b'<a>' + b'z' * 500 + b'</a> ', b'x' * 400]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.uint8)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(list(r), dtype=torch.uint8)
    lengths = torch.tensor([len(r) for r in rows])
    args = (ids, lengths, torch.from_numpy(tc.class_ids.copy())[None],
            torch.from_numpy(tc.transitions.copy())[None], torch.tensor([tc.start], dtype=torch.int32),
            torch.tensor([tc.dead], dtype=torch.int32))
    got = _compiled(device, *args)
    want = reference.dfa_scan(*args)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
    for i, r in enumerate(rows):
        assert bool(tc.accept[int(got[0][i, 0])]) == dfa.accepts(r)
        assert int(got[1][i, 0]) == dfa.first_dead(r, tc.start) or (dfa.dead < 0 and int(got[1][i, 0]) == -1)
