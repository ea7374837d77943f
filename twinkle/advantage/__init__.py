"""Group-relative advantages: GRPO, Dr. GRPO, RLOO, pass@k, DAPO's keep-mask, token broadcast.

Shapes: ``rewards (B,)``, ``group_ids (B,)``, ``advantages (B,)``; ``G`` is the group
size (``num_generations``). Results are float32 on the rewards' device.

Conventions (the same in the compiled op and the reference):

* Statistics are float64 from the rewards as given (float64, integer and list rewards
  unrounded: ``[1e8, 1e8 + 1]`` is not flat); only the advantages are rounded to float32,
  so a difference beyond float32's range is +-inf.
* Non-finite rewards (NaN: a reward that abstained, and +-inf) are left out of every
  statistic and get advantage 0, with no host sync.
* A flat group (valid rewards all equal, or fewer than two) gets exactly 0: a singleton
  has no baseline.
* ``scale='group'``: ``(r - mean) / (std + eps)`` with the group's std (unbiased unless
  ``unbiased=False``); ``'batch'``: the same over the std of all valid rewards in the
  batch (TRL's ``scale_rewards='batch'``); ``'none'``: ``r - mean`` (Dr. GRPO).
* ``eps`` defaults to verl's 1e-6; ``eps=1e-4`` reproduces TRL.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from twinkle import ops
from twinkle.constants import Baseline, Scale
from twinkle.reference.group_advantage import apply_group_stats, group_stats

__all__ = [
    'GRPOAdvantage',
    'RLOOAdvantage',
    'GRPOPassKAdvantage',
    'dynamic_sampling_mask',
    'broadcast_to_tokens',
    'SCALES',
]

SCALES = ('group', 'batch', 'none')
RewardsLike = Union[Tensor, Sequence[float], Any]


def _as_rewards(rewards: RewardsLike) -> Tensor:
    if isinstance(rewards, Tensor):
        t = rewards
    else:
        try:  # Python floats are doubles: keep all their bits for the statistics
            t = torch.as_tensor(rewards, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(f'rewards must be a list of numbers or a (B,) tensor: {e}') from None
    if t.dim() != 1:
        raise ValueError(f'rewards must be 1-D (B,), got shape {tuple(t.shape)}')
    if t.is_complex():
        raise ValueError(f'rewards must be real, got dtype {t.dtype}')
    return t.to(_op_dtype(t.dtype)).contiguous()


def _op_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 where it holds every value of ``dtype`` exactly, else float64 (int32/int64, float64)."""
    exact = dtype.itemsize <= (4 if dtype.is_floating_point else 2)
    return torch.float32 if exact else torch.float64


def _check_eps(eps: Any) -> float:
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f'eps must be a number >= 0, got {eps!r}') from None
    if not e >= 0 or e == float('inf'):
        raise ValueError(f'eps must be a finite number >= 0, got {eps!r}')
    return e


def _as_group_ids(group_ids: Any, batch: int, device: torch.device) -> Tensor:
    if not isinstance(group_ids, Tensor):
        try:
            group_ids = torch.as_tensor(group_ids)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(f'group_ids must be a (B,) integer tensor: {e}') from None
        if group_ids.numel() == 0:  # an empty list has no dtype (torch reads it as float)
            group_ids = group_ids.to(torch.int64)
    if group_ids.dim() != 1 or group_ids.shape[0] != batch:
        empty = ' (empty)' if group_ids.numel() == 0 else ''
        raise ValueError(
            f'group_ids must have shape (B,) = ({batch},), one id per reward, got '
            f'shape {tuple(group_ids.shape)}{empty}'
        )
    if group_ids.dtype.is_floating_point or group_ids.dtype in (
        torch.bool,
        torch.complex64,
        torch.complex128,
    ):
        raise ValueError(f'group_ids must have an integer dtype, got {group_ids.dtype}')
    return group_ids.to(device=device, dtype=torch.int64)


def _grouping(
    batch: int, device: torch.device, num_generations: Any, group_ids: Any
) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], int]:
    """(group_ids, order, sorted_ids, group_size) for the op, after validation."""
    if group_ids is not None:
        if num_generations is not None:
            raise ValueError(
                f'give num_generations or group_ids, not both (num_generations={num_generations!r})'
            )
        ids = _as_group_ids(group_ids, batch, device)
        sorted_ids, order = torch.sort(ids, stable=True)
        return ids, order, sorted_ids, 0
    if num_generations is None:
        raise ValueError('num_generations is required (the group size G) unless group_ids is given')
    if isinstance(num_generations, bool) or not isinstance(num_generations, int):
        raise ValueError(f'num_generations must be an int, got {num_generations!r}')
    if num_generations <= 0:
        raise ValueError(f'num_generations must be > 0, got {num_generations}')
    if batch % num_generations != 0:
        raise ValueError(f'num_generations={num_generations} does not divide the number of rewards B={batch}')
    return None, None, None, num_generations


def _all_reduce_fn(process_group: Any):
    import torch.distributed as dist

    ops_ = {'sum': dist.ReduceOp.SUM, 'max': dist.ReduceOp.MAX}

    def reduce(t: Tensor, op: str) -> None:
        dist.all_reduce(t, op=ops_[op], group=process_group)

    return reduce


def _batch_std(x: Tensor, unbiased: bool, process_group: Any) -> Tensor:
    """0-d float64 std of the valid float64 rewards ``x`` of the whole batch (across ranks if asked)."""
    g = torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
    reduce = _all_reduce_fn(process_group) if process_group is not None else None
    s = group_stats(x, g, 1, reduce, runner_up=False)
    dof = (s.count - 1) if unbiased else s.count
    return torch.sqrt(s.m2 / dof.clamp_min(1.0))[0]


def _batch_scaled(r: Tensor, eps: float, unbiased: bool, process_group: Any) -> Tensor:
    """float64 rewards over (batch std + eps): centring them per group then gives 'batch' scaling."""
    x = r.to(torch.float64)
    denom = _batch_std(x, unbiased, process_group) + eps
    # A flat batch (std 0: fewer than two valid rewards, or all equal) has only flat groups,
    # which get 0 whatever the divisor; 1 keeps eps=0 from dividing by 0. No host sync.
    return x / torch.where(denom > 0, denom, torch.ones_like(denom))


class _GroupAdvantage:
    baseline = Baseline.MEAN
    default_scale = 'group'

    def __init__(self, scale: Optional[str] = None, eps: float = 1e-6, unbiased: bool = True):
        self.scale = self._check_scale(scale if scale is not None else self.default_scale)
        self.eps = _check_eps(eps)
        self.unbiased = bool(unbiased)

    @staticmethod
    def _check_scale(scale: Any) -> str:
        if scale not in SCALES:
            raise ValueError(f'scale must be one of {SCALES}, got {scale!r}')
        return scale

    def __call__(
        self,
        rewards: RewardsLike,
        num_generations: Optional[int] = None,
        scale: Optional[str] = None,
        *,
        group_ids: Any = None,
        eps: Optional[float] = None,
        unbiased: Optional[bool] = None,
        process_group: Any = None,
        return_keep: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Advantages of ``rewards``.

        Args:
            rewards: (B,) tensor on any device, or a list of floats. NaN = abstained;
                NaN and +-inf get advantage 0 and are left out of the statistics.
            num_generations: G, the number of consecutive samples per prompt.
            scale: 'group', 'batch' or 'none' (default: the instance's).
            group_ids: (B,) integer tensor, any order and group sizes, instead of G.
            eps: added to the std (default: the instance's).
            unbiased: Bessel-corrected std (default: the instance's).
            process_group: a torch.distributed group whose ranks each hold part of the
                batch; statistics are all-reduced so every rank gets what one process
                holding the whole batch would. Needs group_ids (global, >= 0) or
                ``scale='batch'``.
            return_keep: also return DAPO's keep-mask (B,) bool.

        Returns:
            (B,) float32 advantages on the rewards' device (and the keep-mask).
        """
        r = _as_rewards(rewards)
        scale = self._check_scale(scale) if scale is not None else self.scale
        eps = _check_eps(eps) if eps is not None else self.eps
        unbiased = self.unbiased if unbiased is None else bool(unbiased)
        ids, order, sorted_ids, gsize = _grouping(r.shape[0], r.device, num_generations, group_ids)
        if process_group is not None and ids is None and scale != 'batch':
            raise ValueError(
                "process_group needs group_ids or scale='batch': with "
                'num_generations the groups are local to each rank'
            )
        # 'batch' divides by the batch std first and then centres per group
        op_scale = Scale.GROUP if scale == 'group' else Scale.NONE
        if scale == 'batch':
            r = _batch_scaled(r, eps, unbiased, process_group)
        if process_group is not None and ids is not None:
            adv, keep = self._distributed_ragged(r, ids, op_scale, eps, unbiased, process_group)
        else:
            adv, keep = ops.group_advantage(
                r, order, sorted_ids, gsize, self.baseline, op_scale, eps, unbiased
            )
        return (adv, keep) if return_keep else adv

    def _distributed_ragged(
        self, r: Tensor, ids: Tensor, op_scale: Scale, eps: float, unbiased: bool, process_group: Any
    ) -> Tuple[Tensor, Tensor]:
        import torch.distributed as dist

        # Ranks must agree on the size of the group table: one small collective (and the
        # only host sync of this path) sizes it from the largest global id, and carries a
        # flag for negative ids so that every rank raises together instead of one hanging.
        if ids.numel():
            head = torch.stack([ids.max(), (ids < 0).any().to(torch.int64)])
        else:
            head = torch.tensor([-1, 0], dtype=torch.int64, device=r.device)
        dist.all_reduce(head, op=dist.ReduceOp.MAX, group=process_group)
        top, negative = head.tolist()
        if negative:
            raise ValueError('group_ids must be >= 0 on every rank when a process_group is given')
        num_groups = int(top) + 1
        x = r.to(torch.float64)
        runner_up = self.baseline == Baseline.SECOND_MAX  # one more collective, only for it
        stats = group_stats(x, ids, max(num_groups, 1), _all_reduce_fn(process_group), runner_up)
        return apply_group_stats(x, ids, stats, self.baseline, op_scale, eps, unbiased)


class GRPOAdvantage(_GroupAdvantage):
    """GRPO advantages: each reward minus its group's mean, over the group's std.

    Args:
        scale: default scaling, 'group' (GRPO), 'batch' (TRL's batch scaling) or 'none'
            (Dr. GRPO).
        eps: added to the std (verl: 1e-6, the default; TRL: 1e-4).
        unbiased: Bessel-corrected std, as torch.std, TRL and verl use.

    >>> adv = GRPOAdvantage()([0, 1, 0, 1, 1, 0, 0, 0], num_generations=4, scale='none')
    >>> adv.tolist()
    [-0.5, 0.5, -0.5, 0.5, 0.75, -0.25, -0.25, -0.25]
    """


class RLOOAdvantage(_GroupAdvantage):
    """RLOO advantages: each reward minus the mean of the *other* samples of its group.

    Equal to ``G / (G - 1)`` times the GRPO ``scale='none'`` advantage for a full group.
    Defaults to ``scale='none'``; 'group' and 'batch' divide by the same std as GRPO.

    >>> RLOOAdvantage()([1.0, 0.0, 0.0, 0.0], num_generations=4).tolist()
    [1.0, -0.3333333432674408, -0.3333333432674408, -0.3333333432674408]
    """

    baseline = Baseline.LEAVE_ONE_OUT
    default_scale = 'none'


class GRPOPassKAdvantage(_GroupAdvantage):
    """Pass@k advantages (verl's ``grpo_passk``): only the best sample of a group scores.

    The group's sole best valid reward gets its margin over the runner-up,
    ``(r_max - r_second) / (std + eps)``, every other sample 0; a tie for the best gives
    the whole group 0. Scale 'group' (the default) is verl's
    ``norm_adv_by_std_in_grpo=True``, 'none' is ``False``. A group of one valid sample is
    flat and gets 0; ``return_keep`` still marks every group that is not flat, tied or not.

    >>> GRPOPassKAdvantage()([0.0, 1.0, 0.5, 0.0, 1.0, 1.0], num_generations=3, scale='none').tolist()
    [0.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    """

    baseline = Baseline.SECOND_MAX
    default_scale = 'group'


def dynamic_sampling_mask(
    rewards: RewardsLike, num_generations: Optional[int] = None, *, group_ids: Any = None
) -> Tensor:
    """DAPO's dynamic-sampling filter: True for samples whose group is not flat.

    A flat group (valid rewards all equal, or fewer than two) gives zero advantage, and
    DAPO drops it from the batch.

    Args:
        rewards: (B,) tensor or list.
        num_generations: G for contiguous groups; or ``group_ids`` (B,) integer tensor.

    Returns:
        (B,) bool on the rewards' device.

    >>> dynamic_sampling_mask([1, 1, 0, 1], num_generations=2).tolist()
    [False, False, True, True]
    """
    r = _as_rewards(rewards)
    _, order, sorted_ids, gsize = _grouping(r.shape[0], r.device, num_generations, group_ids)
    _, keep = ops.group_advantage(r, order, sorted_ids, gsize, Baseline.MEAN, Scale.NONE, 0.0, True)
    return keep


def broadcast_to_tokens(
    advantages: Tensor,
    lengths: Optional[Tensor] = None,
    response_mask: Optional[Tensor] = None,
    max_length: Optional[int] = None,
    dtype: Optional[torch.dtype] = None,
) -> Tensor:
    """Per-sequence advantages spread over response tokens, 0 elsewhere.

    Args:
        advantages: (B,) float tensor.
        lengths: (B,) integer response lengths >= 0, responses left-aligned (token t of
            sequence b is one when ``t < lengths[b]``); a negative length raises
            ValueError where ``lengths`` is read (eager on CPU, or without ``max_length``).
        response_mask: (B, L) bool or 0/1 tensor, instead of ``lengths``.
        max_length: L with ``lengths``; spares reading ``lengths`` back to the host.
        dtype: output dtype; default the mask's dtype when it is floating, else the
            advantages' dtype.

    Returns:
        (B, L) tensor on the advantages' device.

    >>> broadcast_to_tokens(torch.tensor([1.0, -2.0]), lengths=torch.tensor([2, 1]), max_length=3)
    tensor([[ 1.,  1.,  0.],
            [-2.,  0.,  0.]])
    """
    if not isinstance(advantages, Tensor) or advantages.dim() != 1:
        raise ValueError(
            'advantages must be a (B,) tensor, got '
            f'{tuple(advantages.shape) if isinstance(advantages, Tensor) else type(advantages).__name__}'
        )
    b = advantages.shape[0]
    if (lengths is None) == (response_mask is None):
        raise ValueError('give exactly one of lengths or response_mask')
    if response_mask is not None:
        if response_mask.dim() != 2 or response_mask.shape[0] != b:
            raise ValueError(
                f'response_mask must have shape (B, L) with B={b}, got {tuple(response_mask.shape)}'
            )
        mask = response_mask.to(advantages.device) != 0
        out_dtype = dtype or (
            response_mask.dtype if response_mask.dtype.is_floating_point else advantages.dtype
        )
    else:
        if lengths.dim() != 1 or lengths.shape[0] != b:
            raise ValueError(f'lengths must have shape (B,) = ({b},), got {tuple(lengths.shape)}')
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ValueError(f'lengths must have an integer dtype, got {lengths.dtype}')
        max_length = _max_length(lengths, max_length)
        if max_length < 0:
            raise ValueError(f'max_length must be >= 0, got {max_length}')
        pos = torch.arange(max_length, device=advantages.device)
        mask = pos[None, :] < lengths.to(advantages.device)[:, None]
        out_dtype = dtype or advantages.dtype
    return torch.where(mask, advantages[:, None], 0).to(out_dtype)


def _max_length(lengths: Tensor, max_length: Optional[int]) -> int:
    """L for ``lengths`` (B,), checking them >= 0 where that costs no device sync or graph break."""
    eager_cpu = lengths.device.type == 'cpu' and not torch.compiler.is_compiling()
    if max_length is not None and not eager_cpu:
        return max_length
    lo, hi = torch.stack(torch.aminmax(lengths)).tolist() if lengths.numel() else (0, 0)
    if lo < 0:
        raise ValueError(f'lengths must be >= 0 (response lengths), got {lo}')
    return hi if max_length is None else max_length
