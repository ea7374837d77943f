"""Ranks that each hold part of a batch get what one process holding all of it would
(gloo backend, two processes on CPU)."""

import os
import socket
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from twinkle.advantage import GRPOAdvantage, GRPOPassKAdvantage, RLOOAdvantage


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _batch():
    g = torch.Generator().manual_seed(7)
    r = torch.randint(0, 4, (60,), generator=g).float() / 3
    r[torch.rand(60, generator=g) < 0.1] = float('nan')
    r[[3, 41]], r[17] = float('inf'), float('-inf')  # unscorable like NaN, on every rank
    ids = torch.randint(0, 9, (60,), generator=g)  # groups spread over both ranks
    return r, ids


def _distinct_batch():
    """Continuous rewards (a sole best per group) whose best and runner-up often sit on
    different ranks, and one group whose tied best is split between the ranks."""
    r, ids = _batch()
    g = torch.Generator().manual_seed(11)
    r = torch.where(torch.isfinite(r), torch.rand(60, generator=g, dtype=torch.float64), r)
    r[5], r[40], ids[5], ids[40] = 2.0, 2.0, ids[0], ids[0]  # rank 0 and rank 1 hold the tie
    return r, ids


def _best_split_across_ranks(r, ids):
    """How many groups have their best and runner-up on different ranks (halves)."""
    split = 0
    for u in ids.unique():
        pos = torch.nonzero((ids == u) & torch.isfinite(r)).flatten()
        top2 = pos[r[pos].argsort(descending=True)[:2]]
        split += int(len(top2) == 2 and int((top2 < 30).sum()) == 1)
    return split


def _worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    # a bounded collective timeout: a rank left waiting fails the test instead of hanging it
    dist.init_process_group('gloo', rank=rank, world_size=world, timeout=timedelta(seconds=60))
    try:
        r, ids = _batch()
        shard = slice(rank * 30, rank * 30 + 30)
        res = {
            'ragged': GRPOAdvantage()(r[shard], group_ids=ids[shard], process_group=dist.group.WORLD),
            'ragged_rloo': RLOOAdvantage()(r[shard], group_ids=ids[shard], process_group=dist.group.WORLD),
            'ragged_batch': GRPOAdvantage()(
                r[shard], group_ids=ids[shard], scale='batch', process_group=dist.group.WORLD
            ),
            'contig_batch': GRPOAdvantage()(
                r[shard], num_generations=5, scale='batch', process_group=dist.group.WORLD
            ),
            'ragged_passk': GRPOPassKAdvantage()(
                r[shard], group_ids=ids[shard], process_group=dist.group.WORLD
            ),
        }
        rd, idsd = _distinct_batch()
        res['distinct_passk'] = GRPOPassKAdvantage()(
            rd[shard], group_ids=idsd[shard], process_group=dist.group.WORLD
        )
        res['distinct_passk_batch'] = GRPOPassKAdvantage()(
            rd[shard], group_ids=idsd[shard], scale='batch', process_group=dist.group.WORLD
        )
        try:  # negative ids on one rank only: every rank must raise, none may hang
            bad = ids[shard].clone()
            if rank == 1:
                bad[0] = -1
            GRPOAdvantage()(r[shard], group_ids=bad, process_group=dist.group.WORLD)
            res['negative'] = 'no error'
        except ValueError as e:
            res['negative'] = str(e)
        torch.save(res, f'{out_path}.{rank}')
    finally:
        dist.destroy_process_group()


def test_two_ranks_match_one_process(tmp_path):
    out = str(tmp_path / 'res')
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)
    parts = [torch.load(f'{out}.{k}') for k in range(2)]
    r, ids = _batch()
    full = {
        'ragged': GRPOAdvantage()(r, group_ids=ids),
        'ragged_rloo': RLOOAdvantage()(r, group_ids=ids),
        'ragged_batch': GRPOAdvantage()(r, group_ids=ids, scale='batch'),
        'contig_batch': GRPOAdvantage()(r, num_generations=5, scale='batch'),
        'ragged_passk': GRPOPassKAdvantage()(r, group_ids=ids),
    }
    rd, idsd = _distinct_batch()
    full['distinct_passk'] = GRPOPassKAdvantage()(rd, group_ids=idsd)
    full['distinct_passk_batch'] = GRPOPassKAdvantage()(rd, group_ids=idsd, scale='batch')
    # not vacuous: most groups have a sole best, some have it and the runner-up on different
    # ranks, and the best that both ranks hold is a tie (0)
    assert torch.count_nonzero(full['distinct_passk']) >= 5
    assert _best_split_across_ranks(rd, idsd) >= 2
    assert torch.all(full['distinct_passk'][idsd == idsd[0]] == 0)
    for key, expected in full.items():
        got = torch.cat([parts[0][key], parts[1][key]])
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6, msg=key)
    for p in parts:
        assert 'group_ids must be >= 0' in p['negative']
