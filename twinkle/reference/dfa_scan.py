"""Reference of ``twinkle::dfa_scan``: a loop over positions, vectorized over the batch.

Written independently of ``csrc/include/twinkle/dfa_scan.h`` (so agreement means something)
with the same contract: lengths clamped to ``[0, L]``; an id outside ``[0, V)`` gives final
state -1 and its position; a start, class or transition out of range gives -2.
"""

from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from twinkle.constants import DfaError


def dfa_scan(
    input_ids: Tensor,
    lengths: Tensor,
    class_ids: Tensor,
    tables: Tensor,
    starts: Tensor,
    dead: Tensor,
    chunk: int = 0,
) -> Tuple[Tensor, Tensor]:
    """K token DFAs over a padded batch; see :func:`twinkle.ops.dfa_scan` for the arguments.

    ``chunk`` is accepted for the op's signature and ignored: the result never depends on it.

    >>> t = torch.tensor([[[1, 2], [1, 2], [2, 2]]], dtype=torch.int32)  # 'a'* then sink 2
    >>> cls = torch.tensor([[0, 1]], dtype=torch.int32)                  # id 0 = 'a'
    >>> final, fd = dfa_scan(torch.tensor([[0, 0, 1], [0, 1, 0]]), torch.tensor([2, 3]), cls, t,
    ...                      torch.tensor([0], dtype=torch.int32), torch.tensor([2], dtype=torch.int32))
    >>> final.tolist(), fd.tolist()
    ([[1], [2]], [[-1], [1]])
    """
    b, l = input_ids.shape
    k, s, c = tables.shape
    v = class_ids.shape[1]
    dev = input_ids.device
    ids = input_ids.to(torch.int64)
    n = lengths.to(torch.int64).clamp(0, l)
    pos = torch.arange(l, device=dev)
    live = pos[None, :] < n[:, None]  # (B, L)
    bad_id = live & ((ids < 0) | (ids >= v))
    # Position of the first bad id per sequence (L when none).
    first_bad = (
        torch.where(bad_id, pos[None, :], torch.full_like(ids, l)).amin(dim=1)
        if l
        else torch.zeros(b, dtype=torch.int64, device=dev)
    )

    flat_tables = tables.reshape(k, s * c).to(torch.int64)
    cls64 = class_ids.to(torch.int64)
    kk = torch.arange(k, device=dev)
    start64 = starts.to(torch.int64)
    bad_start = ((start64 < 0) | (start64 >= s))[None, :].expand(b, k)
    state = start64.clamp(0, max(s - 1, 0))[None, :].expand(b, k).clone()  # (B, K)
    dead64 = dead.to(torch.int64)[None, :]
    first_dead = torch.full((b, k), -1, dtype=torch.int64, device=dev)
    first_bad_table = torch.full((b, k), l, dtype=torch.int64, device=dev)
    for t in range(l):
        # Step while alive, before the first bad id, and before any table error; a dead
        # state never reads the table again.
        step = (
            (live[:, t] & (t < first_bad))[:, None] & ~bad_start & (first_dead < 0) & (first_bad_table == l)
        )  # (B, K)
        tok = ids[:, t].clamp(0, max(v - 1, 0))
        cl = cls64[kk[None, :], tok[:, None]] if v else torch.zeros(b, k, dtype=torch.int64, device=dev)
        nxt = flat_tables[kk[None, :], state * c + cl.clamp(0, c - 1)]
        ok = (cl >= 0) & (cl < c) & (nxt >= 0) & (nxt < s)
        first_bad_table = torch.where(step & ~ok, torch.full_like(first_bad_table, t), first_bad_table)
        moved = step & ok
        state = torch.where(moved, nxt, state)
        first_dead = torch.where(moved & (nxt == dead64), torch.full_like(first_dead, t), first_dead)
    has_bad = first_bad < l
    table_err = first_bad_table < l
    id_err = has_bad[:, None] & (first_bad[:, None] < first_bad_table)
    final = state.to(torch.int32)
    final = torch.where(table_err, torch.full_like(final, DfaError.BAD_TABLE), final)
    first_dead = torch.where(table_err, first_bad_table, first_dead)
    final = torch.where(id_err, torch.full_like(final, DfaError.BAD_ID), final)
    first_dead = torch.where(id_err, first_bad[:, None].expand(b, k), first_dead)
    final = torch.where(bad_start, torch.full_like(final, DfaError.BAD_TABLE), final)
    first_dead = torch.where(bad_start, torch.full_like(first_dead, -1), first_dead)
    return final, first_dead
