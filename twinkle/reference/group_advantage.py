"""Reference of ``twinkle::group_advantage``, written with index ops over the batch.

Written independently of csrc/include/twinkle/group_advantage.h (scatter/index_add over
a dense group index, not a loop per group) so that agreement between the two means
something; the conventions are :mod:`twinkle.advantage`'s. The statistics take two steps
with an optional ``reduce`` hook between them, so that :mod:`twinkle.advantage` can
all-reduce them across ranks and get what one process holding the whole batch would.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from twinkle.constants import Baseline, Scale

# reduce(tensor, op) sums ('sum') or maxes ('max') a stats tensor across ranks, in place.
Reduce = Callable[[Tensor, str], None]


class GroupStats(NamedTuple):
    count: Tensor  # (N,) float64, valid (finite) members
    total: Tensor  # (N,) float64, sum of valid rewards
    mean: Tensor  # (N,) float64
    m2: Tensor  # (N,) float64, squared deviations from mean
    flat: Tensor  # (N,) bool, fewer than two valid members or all equal
    max: Tensor  # (N,) float64, largest valid reward (-inf when none)
    second: Tensor  # (N,) float64, largest once one max is set aside (== max on a tie)


def dense_group_index(
    batch: int, device: torch.device, order: Optional[Tensor], sorted_ids: Optional[Tensor], group_size: int
) -> Tensor:
    """(B,) int64 group number of each sample, in ``[0, B)``, without a host sync."""
    if order is None:
        return torch.arange(batch, device=device) // group_size
    heads = torch.ones(batch, dtype=torch.bool, device=device)
    if batch > 1:
        heads[1:] = sorted_ids[1:] != sorted_ids[:-1]
    seg_sorted = torch.cumsum(heads.to(torch.int64), 0) - 1
    index = torch.empty_like(seg_sorted)
    index[order] = seg_sorted
    return index


def group_stats(
    x: Tensor, g: Tensor, num_groups: int, reduce: Optional[Reduce] = None, runner_up: bool = True
) -> GroupStats:
    """Two-pass statistics of float64 rewards ``x`` (non-finite = left out) per group ``g``.

    Pass two (squared deviations, the runner-up) needs pass one's reduced count, sum and
    extremes. ``reduce`` is called with 'sum' and 'max' after pass one, 'sum' after pass
    two, and 'max' once more for the runner-up (with ``runner_up``; else ``second`` is the max).
    """
    valid = torch.isfinite(x)
    zeros = torch.zeros(num_groups, dtype=torch.float64, device=x.device)
    nothing = torch.full((num_groups,), float('-inf'), dtype=torch.float64, device=x.device)
    fill = torch.full_like(x, float('-inf'))
    sums = torch.stack(
        [
            zeros.index_add(0, g, valid.to(torch.float64)),
            zeros.index_add(0, g, torch.where(valid, x, torch.zeros_like(x))),
        ]
    )
    extremes = torch.stack(
        [
            nothing.scatter_reduce(0, g, torch.where(valid, x, fill), 'amax'),
            nothing.scatter_reduce(0, g, torch.where(valid, -x, fill), 'amax'),
        ]
    )
    if reduce is not None:
        reduce(sums, 'sum')
        reduce(extremes, 'max')
    count, total = sums[0], sums[1]
    gmax, neg_min = extremes[0], extremes[1]
    mean = total / count.clamp_min(1.0)
    at_max = valid & (x == gmax[g])
    second_sums = torch.stack(
        [
            zeros.index_add(0, g, torch.where(valid, (x - mean[g]) ** 2, torch.zeros_like(x))),
            zeros.index_add(0, g, at_max.to(torch.float64)) if runner_up else zeros,
        ]
    )
    if reduce is not None:
        reduce(second_sums, 'sum')
    m2, n_at_max = second_sums[0], second_sums[1]
    second = gmax
    if runner_up:
        below_max = nothing.scatter_reduce(0, g, torch.where(valid & ~at_max, x, fill), 'amax')
        if reduce is not None:
            reduce(below_max, 'max')
        second = torch.where(n_at_max >= 2, gmax, below_max)
    flat = (count < 2) | (gmax == -neg_min)
    return GroupStats(count, total, mean, m2, flat, gmax, second)


def apply_group_stats(
    x: Tensor, g: Tensor, s: GroupStats, baseline: Baseline, scale: Scale, eps: float, unbiased: bool
) -> Tuple[Tensor, Tensor]:
    """Advantages (float32) and DAPO keep-mask from per-group statistics."""
    valid = torch.isfinite(x)
    if baseline == Baseline.LEAVE_ONE_OUT:  # mean of the others; used only where not flat
        base = (s.total[g] - x) / (s.count[g] - 1).clamp_min(1.0)
    elif baseline == Baseline.SECOND_MAX:  # a sole best member against the runner-up; others 0
        base = torch.where(x == s.max[g], s.second[g], x)
    else:
        base = s.mean[g]
    adv = x - base
    if scale == Scale.GROUP:
        dof = (s.count - 1) if unbiased else s.count
        std = torch.sqrt(s.m2 / dof.clamp_min(1.0))
        adv = adv / (std[g] + eps)
    keep = ~s.flat[g]
    adv = torch.where(keep & valid, adv, torch.zeros_like(adv))
    return adv.to(torch.float32), keep


def group_advantage(
    rewards: Tensor,
    order: Optional[Tensor],
    sorted_ids: Optional[Tensor],
    group_size: int,
    baseline: int,
    scale: int,
    eps: float,
    unbiased: bool,
) -> Tuple[Tensor, Tensor]:
    """Per-group advantages, with the op's schema; see :func:`twinkle.ops.group_advantage`.

    >>> adv, keep = group_advantage(torch.tensor([0., 1., 1., 1.]), None, None, 2,
    ...                             Baseline.MEAN, Scale.NONE, 1e-6, True)
    >>> adv.tolist(), keep.tolist()
    ([-0.5, 0.5, 0.0, 0.0], [True, True, False, False])
    """
    b = rewards.shape[0]
    g = dense_group_index(b, rewards.device, order, sorted_ids, group_size)
    x = rewards.to(torch.float64)
    stats = group_stats(x, g, b)
    return apply_group_stats(x, g, stats, baseline, scale, eps, unbiased)
