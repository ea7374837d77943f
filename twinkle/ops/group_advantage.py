"""``twinkle.ops.group_advantage``: per-group GRPO/RLOO/pass@k advantages in one op."""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from twinkle import reference
from twinkle.constants import Baseline, Scale
from twinkle.ops import _dispatch


def _fake(rewards, order, sorted_ids, group_size, baseline, scale, eps, unbiased):
    return (torch.empty_like(rewards, dtype=torch.float32), torch.empty_like(rewards, dtype=torch.bool))


_dispatch.register_op('group_advantage', _fake)


def group_advantage(
    rewards: Tensor,
    order: Optional[Tensor] = None,
    sorted_ids: Optional[Tensor] = None,
    group_size: int = 0,
    baseline: int = Baseline.MEAN,
    scale: int = Scale.GROUP,
    eps: float = 1e-6,
    unbiased: bool = True,
) -> Tuple[Tensor, Tensor]:
    """Advantages of every sample against its group.

    Groups are contiguous runs of ``group_size`` when ``order`` is None; else ``order``
    lists each group's members together (``torch.sort(group_ids, stable=True)`` returns
    ``sorted_ids, order``). Non-finite rewards and flat groups get 0, as in
    :mod:`twinkle.advantage`.

    Args:
        rewards: (B,) float32 or float64 (read unrounded).
        order: (B,) int64 permutation, or None for contiguous groups.
        sorted_ids: (B,) int64, ``group_ids[order]``; given with ``order``.
        group_size: G for contiguous groups (must divide B).
        baseline: :class:`~twinkle.constants.Baseline`: ``MEAN`` (0) subtracts the
            group mean (GRPO); ``LEAVE_ONE_OUT`` (1) the mean of the other members (RLOO);
            ``SECOND_MAX`` (2) gives a group's sole best member its margin over the
            runner-up and every other member 0 (pass@k).
        scale: :class:`~twinkle.constants.Scale`: ``NONE`` (0) no division (Dr. GRPO,
            RLOO); ``GROUP`` (1) divides by the group std + eps.
        eps: added to the std.
        unbiased: std with Bessel's correction (n - 1), as torch.std, TRL and verl use.

    Returns:
        ``(advantages, keep)``: (B,) float32 and (B,) bool, where ``keep`` is True for
        the samples of groups that are not flat (DAPO's dynamic-sampling filter).

    >>> adv, keep = group_advantage(torch.tensor([0., 1., 0., 1., 1., 0., 0., 0.]),
    ...                             group_size=4, scale=Scale.NONE)
    >>> adv.tolist()
    [-0.5, 0.5, -0.5, 0.5, 0.75, -0.25, -0.25, -0.25]
    """
    args = (rewards, order, sorted_ids, group_size, int(baseline), int(scale), eps, unbiased)
    if _dispatch.use_compiled('group_advantage', rewards.device):
        return torch.ops.twinkle.group_advantage(*args)
    return reference.group_advantage(*args)
