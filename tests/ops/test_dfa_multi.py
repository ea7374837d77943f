"""twinkle::dfa_scan with several patterns against the reference, pattern by pattern.

With two or more valid patterns and enough tokens the CPU op scans a row once through a
lazily built product of the K DFAs (csrc/cpu/dfa_multi.h). Its results must equal scanning
each pattern alone, errors included: the hypothesis examples (fixed seed) mix sinks, dead
states, impossible patterns (dead start), live sinks, bad tables, bad starts, a dead state
that is not a sink, out-of-range classes, bad ids and empty rows, for K = 2..20 and more
than the 64 patterns one product holds.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import compiled_or_skip
from twinkle import ops, reference

ID_DTYPES = [torch.int32, torch.int64, torch.uint8]


def _pattern(g, s, c, v, kind):
    """One DFA of kind 'plain', 'dead', 'impossible', 'live_sink', 'bad_table', 'bad_start',
    'dead_not_sink' or 'bad_class' (tables (S, C), class_ids (V,), start, dead)."""
    table = torch.randint(0, s, (s, c), generator=g, dtype=torch.int32)
    # Mostly stay among the first states, so sinks are reached late and first_dead varies.
    table = torch.where(torch.rand(s, c, generator=g) < 0.9, table % max(s - 1, 1), table)
    class_ids = torch.randint(0, c, (v,), generator=g, dtype=torch.int32)
    start = int(torch.randint(0, s, (1,), generator=g))
    dead = -1
    if kind in ('dead', 'impossible', 'dead_not_sink') and s > 1:
        dead = s - 1
        table[dead] = dead
        if kind == 'impossible':
            start = dead
        elif kind == 'dead_not_sink':
            table[dead, 0] = 0
    elif kind == 'live_sink' and s > 1:
        table[s - 1] = s - 1
    elif kind == 'bad_table':
        table[int(torch.randint(0, s, (1,), generator=g)), 0] = s
    elif kind == 'bad_start':
        start = s
    elif kind == 'bad_class' and v > 256:
        class_ids[int(torch.randint(256, v, (1,), generator=g))] = c
    return table, class_ids, start, dead


KINDS = [
    'plain',
    'dead',
    'dead',
    'impossible',
    'live_sink',
    'bad_table',
    'bad_start',
    'dead_not_sink',
    'bad_class',
]


def _patterns(k, s, c, v, seed, kinds):
    g = torch.Generator().manual_seed(seed)
    parts = [_pattern(g, s, c, v, kinds[j % len(kinds)]) for j in range(k)]
    return (
        torch.stack([p[1] for p in parts]),
        torch.stack([p[0] for p in parts]),
        torch.tensor([p[2] for p in parts], dtype=torch.int32),
        torch.tensor([p[3] for p in parts], dtype=torch.int32),
    )


def _batch(b, l, v, dtype, seed, bad_rows):
    """(ids (B, L), lengths (B,)): most rows full, some empty or short, `bad_rows` rows
    holding one out-of-range id (negative or >= V) at a random position."""
    g = torch.Generator().manual_seed(seed)
    high = min(v, 256) if dtype == torch.uint8 else v
    ids = torch.randint(0, high, (b, l), generator=g)
    lengths = torch.full((b,), l, dtype=torch.int64) - torch.randint(0, 3, (b,), generator=g)
    lengths[::7] = torch.randint(-1, l + 2, (len(lengths[::7]),), generator=g)
    for r in range(min(bad_rows, b) if l else 0):
        row = int(torch.randint(0, b, (1,), generator=g))
        pos = int(torch.randint(0, l, (1,), generator=g))
        if dtype == torch.uint8:
            if v <= 255:
                ids[row, pos] = 255
        else:
            ids[row, pos] = -1 - r if r % 2 else v + r
    return ids.to(dtype), lengths


def _check(ids, lengths, class_ids, tables, starts, dead):
    compiled_or_skip('dfa_scan', torch.device('cpu'))
    got = ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead, check=False)
    want = reference.dfa_scan(ids, lengths, class_ids, tables, starts, dead)
    assert torch.equal(got[0], want[0]), (got[0] != want[0]).nonzero()[:5]
    assert torch.equal(got[1], want[1]), (got[1] != want[1]).nonzero()[:5]


@settings(derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(2, 20),
    s=st.integers(1, 12),
    c=st.integers(1, 6),
    v=st.sampled_from([257, 600, 1500]),
    dtype=st.sampled_from(ID_DTYPES),
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6),
    bad_rows=st.integers(0, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_patterns_equal_each_alone(k, s, c, v, dtype, kinds, bad_rows, seed):
    class_ids, tables, starts, dead = _patterns(k, s, c, v, seed, kinds)
    ids, lengths = _batch(64, 160, v, dtype, seed + 1, bad_rows)
    _check(ids, lengths, class_ids, tables, starts, dead)


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(2, 20), dtype=st.sampled_from([torch.int32, torch.int64]), seed=st.integers(0, 2**31 - 1)
)
def test_valid_patterns_many_sinks(k, dtype, seed):
    """Only valid patterns (the common case: one product, no row falls back), half with a
    dead state, one impossible: rows end early once every pattern sits in a sink."""
    class_ids, tables, starts, dead = _patterns(
        k, 6, 4, 1000, seed, ['dead', 'live_sink', 'plain', 'impossible']
    )
    ids, lengths = _batch(96, 200, 1000, dtype, seed + 1, bad_rows=0)
    _check(ids, lengths, class_ids, tables, starts, dead)


@pytest.mark.parametrize('threads', [1, 2])
@pytest.mark.parametrize('k', [64, 65, 130])
def test_more_patterns_than_one_product(k, threads):
    """K > 64 splits the valid patterns into even products (no product of one)."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        class_ids, tables, starts, dead = _patterns(k, 5, 3, 700, k, ['dead', 'plain', 'bad_class'])
        ids, lengths = _batch(32, 100, 700, torch.int64, k, bad_rows=3)
        _check(ids, lengths, class_ids, tables, starts, dead)
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize('b,l', [(1, 0), (3, 1), (5000, 3), (2, 40000)])
def test_shapes(b, l):
    """Empty and one-token rows, many tiny rows, two long rows (more rows than threads and
    fewer): whatever the path chosen, the same results."""
    class_ids, tables, starts, dead = _patterns(5, 7, 4, 2000, b + l, ['dead', 'plain', 'live_sink'])
    ids, lengths = _batch(b, l, 2000, torch.int64, b * l, bad_rows=1)
    _check(ids, lengths, class_ids, tables, starts, dead)


def test_large_vocabulary_with_rare_ids():
    """A Qwen3-sized vocabulary: the class map is filled lazily, id by id."""
    v = 151_669
    class_ids, tables, starts, dead = _patterns(16, 9, 5, v, 7, ['dead', 'plain', 'live_sink'])
    ids, lengths = _batch(128, 300, v, torch.int64, 8, bad_rows=2)
    _check(ids, lengths, class_ids, tables, starts, dead)


def test_same_call_twice_and_duplicate_patterns():
    """Identical patterns give identical columns; a second call gives the same results."""
    class_ids, tables, starts, dead = _patterns(3, 8, 4, 500, 3, ['dead', 'plain', 'live_sink'])
    class_ids, tables = class_ids.repeat(4, 1), tables.repeat(4, 1, 1)
    starts, dead = starts.repeat(4), dead.repeat(4)
    ids, lengths = _batch(64, 128, 500, torch.int32, 4, bad_rows=0)
    first = ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead, check=False)
    assert torch.equal(first[0][:, :3], first[0][:, 3:6])
    again = ops.dfa_scan(ids, lengths, class_ids, tables, starts, dead, check=False)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    _check(ids, lengths, class_ids, tables, starts, dead)
