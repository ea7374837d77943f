"""The direct id scanner's product path with token skip, against the pure-torch reference.

A token program of 2 <= K <= 64 patterns keeps product engines across calls; a product state
that most ids leave unchanged gets a stay bitset (the AND of each pattern's stay bits) after
a few visits, and the scan skips runs of staying ids. A state that the text leaves too often
drops its bitset again. These tests build random DFAs over a 1,000-id vocabulary where one
shared set of ids loops in most states (so bitsets are built and used), feed long rows with
rare exits, frequent exits, ids outside [0, V) and ids whose class is out of range, and
compare every final state and first-dead position with ``twinkle.reference.dfa_scan``, call
after call on the same program, in int32 and int64, inline and in parallel.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinkle import _ext
from twinkle.reference.dfa_scan import dfa_scan as reference_scan

pytestmark = pytest.mark.skipif(
    _ext.string_scanner() is None or not hasattr(_ext.string_scanner(), 'token_program'),
    reason='needs the compiled library',
)

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))
V = 1000


def _patterns(rng, k):
    """(class_ids (K, V), tables (K, S, C), starts, dead) int32: the ids of `common` are class
    0 in every pattern, and class 0 loops in most states."""
    s, c = int(rng.integers(2, 9)), int(rng.integers(3, 8))
    common = rng.random(V) < 0.85
    cls = rng.integers(1, c, size=(k, V)).astype(np.int32)
    cls[:, common] = 0
    invalid = (rng.random((k, V)) < 0.01) & (np.arange(V) >= 256)  # bytes stay valid
    cls[invalid] = rng.choice([-1, c, c + 3], size=int(invalid.sum()))
    tables = rng.integers(0, s, size=(k, s, c)).astype(np.int32)
    loops = rng.random((k, s)) < 0.93
    for j in range(k):
        for q in range(s):
            if loops[j, q]:
                tables[j, q, 0] = q
    dead = np.full(k, -1, np.int32)
    for j in range(k):
        if rng.random() < 0.6:  # a dead sink in the last state
            dead[j] = s - 1
            tables[j, s - 1, :] = s - 1
    starts = rng.integers(0, s, size=k).astype(np.int32)
    return cls, tables, starts, dead, common


def _program(scanner, cls, tables, starts, dead, *budget):
    k, s, _ = tables.shape
    values = np.empty((k, s + 2), np.float32)
    values[:, :s] = np.arange(s)
    values[:, s], values[:, s + 1] = -2, -1  # the error states read these columns
    return scanner.token_program(cls, tables, starts, dead, values, np.zeros(k, np.bool_), *budget)


def _rows(rng, b, width, common, exit_rate):
    frequent = np.flatnonzero(common)
    ids = rng.choice(frequent, size=(b, width))
    rare = rng.random((b, width)) < exit_rate
    ids[rare] = rng.integers(0, V, size=int(rare.sum()))
    bad = rng.random(b) < 0.15  # one id outside [0, V) in some rows
    for i in np.flatnonzero(bad):
        ids[i, rng.integers(0, width)] = rng.choice([-1, V, V + 7])
    lengths = rng.integers(0, width + 1, size=b)
    return ids, lengths


def _check(scanner, prog, pats, ids, lengths, mask, mask_id, dtype):
    cls, tables, starts, dead, _ = pats
    b, k = ids.shape[0], tables.shape[0]
    x = ids.astype(dtype)
    accepted = np.empty((b, k), np.float32)
    first_dead = np.empty((b, k), np.int64)
    scanner.scan_ids(prog, x, lengths, mask, mask_id, accepted, first_dead)
    plain = ids if mask is None else np.where(mask, ids, mask_id)
    want_state, want_fd = reference_scan(
        torch.from_numpy(plain.astype(np.int64)),
        torch.from_numpy(lengths),
        *(torch.from_numpy(a) for a in (cls, tables, starts, dead)),
    )
    np.testing.assert_array_equal(accepted, want_state.numpy().astype(np.float32))
    np.testing.assert_array_equal(first_dead, want_fd.numpy())
    # The same call with the inputs given by address and each row's mean as the output.
    means = np.full(b, -7.0, np.float32)
    lens = None if lengths is None else np.ascontiguousarray(lengths, np.int64)
    m = None if mask is None else np.ascontiguousarray(mask)
    scanner.scan_ids(
        prog,
        (x.ctypes.data, b, x.shape[1], x.itemsize),
        None if lens is None else lens.ctypes.data,
        None if m is None else m.ctypes.data,
        mask_id,
        means,
        None,
    )
    np.testing.assert_array_equal(means, torch.from_numpy(accepted).mean(dim=1).numpy())


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 12),
    exit_rate=st.sampled_from([0.002, 0.02, 0.3]),
    budget=st.sampled_from([0, 1 << 26]),  # 0: the smallest engine, reset again and again
)
def test_product_skip_equals_the_reference_call_after_call(seed, k, exit_rate, budget):
    rng = np.random.default_rng(seed)
    scanner = _ext.string_scanner()
    pats = _patterns(rng, k)
    prog = _program(scanner, *pats[:4], budget)
    mask_id = int(np.flatnonzero(pats[4])[0])
    for call in range(3):  # engines and their bitsets carry over between calls
        ids, lengths = _rows(rng, int(rng.integers(1, 12)), int(rng.integers(1, 600)), pats[4], exit_rate)
        mask = rng.random(ids.shape) < 0.9 if call == 1 else None
        _check(scanner, prog, pats, ids, lengths, mask, mask_id, np.int32 if call % 2 else np.int64)


@pytest.mark.parametrize('exit_rate', [0.001, 0.05, 0.5])
def test_wide_batches_scan_in_parallel_with_the_same_results(exit_rate):
    """Batches past the inline size run on the thread pool, one engine per task."""
    rng = np.random.default_rng(7)
    scanner = _ext.string_scanner()
    pats = _patterns(rng, 16)
    prog = _program(scanner, *pats[:4])
    for dtype in (np.int64, np.int32, np.int64):
        ids, lengths = _rows(rng, 96, 2000, pats[4], exit_rate)
        _check(scanner, prog, pats, ids, lengths, None, 0, dtype)


def test_sixty_four_patterns_and_long_skips():
    rng = np.random.default_rng(11)
    scanner = _ext.string_scanner()
    pats = _patterns(rng, 64)
    prog = _program(scanner, *pats[:4])
    ids, lengths = _rows(rng, 8, 20000, pats[4], 0.0005)
    lengths[:] = 20000
    for _ in range(2):
        _check(scanner, prog, pats, ids, lengths, None, 0, np.int64)


@pytest.mark.parametrize('seed', range(6))
def test_classes_first_seen_mid_row_widen_the_engine_under_rows_in_flight(seed):
    """Ids of new product classes arrive late in long rows while other rows are mid-way in
    other states: the engine widens its rows, and every row in flight must follow."""
    rng = np.random.default_rng(100 + seed)
    scanner = _ext.string_scanner()
    k = 6
    pats = _patterns(rng, k)
    cls = pats[0]
    cls[:, :] = np.where(cls < 0, 1, cls)  # no invalid classes here: every row stays in the product
    cls[:, 600:] = rng.integers(0, pats[1].shape[2], size=(k, V - 600))
    prog = _program(scanner, *pats[:4])
    b, width = 12, 3000
    ids = rng.choice(np.flatnonzero(cls[:, :600].max(0) <= 1), size=(b, width))  # few classes first
    for i in range(b):  # ... then, at a different point in each row, every id
        start = int(rng.integers(width // 4, width))
        ids[i, start:] = rng.integers(0, V, size=width - start)
    lengths = np.full(b, width)
    _check(scanner, prog, pats, ids, lengths, None, 0, np.int64)


@pytest.mark.parametrize('vocab', [12, 256])
def test_small_token_vocabularies(vocab):
    """A token table of at most 256 ids builds every class up front, as byte tables do;
    its engine must not read byte metadata past its own ids."""
    rng = np.random.default_rng(vocab)
    scanner = _ext.string_scanner()
    k, s, c = 4, 4, 3
    cls = rng.integers(0, c, size=(k, vocab)).astype(np.int32)
    tables = rng.integers(0, s, size=(k, s, c)).astype(np.int32)
    starts = np.zeros(k, np.int32)
    dead = np.full(k, -1, np.int32)
    pats = (cls, tables, starts, dead, None)
    prog = _program(scanner, cls, tables, starts, dead)
    ids = rng.integers(0, vocab, size=(9, 50))
    ids[3, 7] = vocab  # one id outside [0, V)
    lengths = rng.integers(0, 51, size=9)
    for dtype in (np.int64, np.int32):
        _check(scanner, prog, pats, ids, lengths, None, 0, dtype)


def test_engine_budget_spent_with_rows_in_flight():
    """Patterns whose product has thousands of states fill the smallest engine again and
    again while other rows are mid-way: each time every row in flight is scanned pattern
    by pattern, with the same results."""
    rng = np.random.default_rng(5)
    scanner = _ext.string_scanner()
    sizes, c = (5, 7, 11, 13), 5
    s = max(sizes)
    k = len(sizes)
    cls = rng.integers(0, c, size=(k, V)).astype(np.int32)
    tables = np.zeros((k, s, c), np.int32)
    for j, size in enumerate(sizes):
        for q in range(s):
            tables[j, q] = [(q * 3 + x) % size for x in range(c)]
    starts, dead = np.zeros(k, np.int32), np.full(k, -1, np.int32)
    pats = (cls, tables, starts, dead, None)
    prog = _program(scanner, cls, tables, starts, dead, 0)
    ids = rng.integers(0, V, size=(16, 400))
    lengths = rng.integers(0, 401, size=16)
    for dtype in (np.int64, np.int32):
        _check(scanner, prog, pats, ids, lengths, None, 0, dtype)


def test_scan_ids_arguments_by_address_are_checked():
    rng = np.random.default_rng(3)
    scanner = _ext.string_scanner()
    pats = _patterns(rng, 3)
    prog = _program(scanner, *pats[:4])
    ids = np.zeros((2, 5), np.int64)
    lengths = np.array([5, 3], np.int64)
    out = np.empty(2, np.float32)

    def call(ids_arg, lengths_arg=None, mask_arg=None, accepted=out, first_dead=None):
        return scanner.scan_ids(prog, ids_arg, lengths_arg, mask_arg, 0, accepted, first_dead)

    addr = ids.ctypes.data
    call((addr, 2, 5, 8), lengths.ctypes.data)  # well formed
    for bad, match in [
        ((addr, 2, 5, 3), 'input_ids must be a C-contiguous'),  # no such itemsize
        ((addr, -1, 5, 8), 'input_ids must be a C-contiguous'),
        ((0, 2, 5, 8), 'input_ids must be a C-contiguous'),  # no data for 10 ids
        ((-addr, 2, 5, 8), "input_ids's address must be a non-negative int"),
    ]:
        with pytest.raises(ValueError, match=match):
            call(bad)
    with pytest.raises(ValueError, match="lengths's address"):
        call((addr, 2, 5, 8), -1)
    with pytest.raises(ValueError, match='must not be given at address 0'):
        call((addr, 2, 5, 8), 0)
    with pytest.raises(ValueError, match='must match input_ids'):
        call((addr, 2, 5, 8), accepted=np.empty(3, np.float32))
    with pytest.raises(ValueError, match=r'accepted must be a C-contiguous \(B, K\) or \(B,\)'):
        call((addr, 2, 5, 8), accepted=np.empty((2, 3, 1), np.float32))
    with pytest.raises(ValueError, match='must match input_ids'):
        call(ids, lengths, accepted=np.empty((2, 3), np.float32), first_dead=np.empty((2, 2), np.int64))
