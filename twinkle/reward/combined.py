"""``CombinedReward``: a weighted sum of rewards, on trajectories or on token ids.

Weights, the NaN policy and the per-part log live here once, for both paths: the string
path calls each part on the trajectories, the token path calls each part's ``score_ids``
(so each part reads the ids its own way, without decoding when it can). Format parts
(``FormatReward``, ``TagCountReward``, ``BoxedReward``) that share a prefix, a tokenizer and
``check_ids`` are scanned together, one pass over each completion for all their patterns,
with the same scores as their own calls.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from twinkle.reward.base import Reward, _as_float_list, _unique_names, as_reward, check_batch
from twinkle.reward.format import _fused_groups
from twinkle.reward.module import RewardModule

__all__ = ['CombinedReward']


class CombinedReward(RewardModule):
    """A weighted sum of rewards that keeps every part for logging.

    Args:
        rewards: ``{reward: weight}`` (a dict keyed by Reward objects or functions), or
            a list of ``(reward, weight)`` pairs.
        nan_policy: 'propagate' (default): if any part abstains (NaN) for a sample the
            sum abstains too; 'zero': an abstaining part counts as 0.
        name: the name logs use.
        fuse: scan the format parts that can go together in one pass (default True); the
            scores are the same either way, False calls every part on its own.

    After a call, ``last_parts`` maps each part's name to its list of rewards. Parts that
    are modules are submodules, so ``.to(device)`` moves them.

    >>> fmt = lambda t, g: [1.0 for _ in t]
    >>> acc = lambda t, g: [0.0 for _ in t]
    >>> c = CombinedReward({fmt: 0.5, acc: 1.0})
    >>> c([{'messages': []}], [None])
    [0.5]
    """

    def __init__(
        self,
        rewards: Union[Mapping[Any, float], Sequence[Any]],
        nan_policy: str = 'propagate',
        name: Optional[str] = None,
        *,
        fuse: bool = True,
    ):
        super().__init__(name=name)
        items = list(rewards.items()) if isinstance(rewards, Mapping) else list(rewards)
        if not items:
            raise ValueError('CombinedReward.rewards is empty')
        if nan_policy not in ('propagate', 'zero'):
            raise ValueError(f"CombinedReward.nan_policy must be 'propagate' or 'zero', got {nan_policy!r}")
        self.parts: List[Reward] = []
        self.weights: List[float] = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ValueError(f'CombinedReward.rewards[{i}] must be a (reward, weight) pair')
            r, w = item
            w = float(w)
            if not math.isfinite(w):
                raise ValueError(f'CombinedReward weight for part {i} must be finite, got {w}')
            self.parts.append(as_reward(r))
            self.weights.append(w)
        self.names = _unique_names([p.reward_name() for p in self.parts])
        self.nan_policy = nan_policy
        self.part_modules = torch.nn.ModuleList([p for p in self.parts if isinstance(p, torch.nn.Module)])
        self.last_parts: Dict[str, List[float]] = {}
        if not isinstance(fuse, bool):
            raise TypeError(f'CombinedReward.fuse must be a bool, got {type(fuse).__name__} {fuse!r}')
        # Per fused scan, the parts it scores (by index); per part, its scan's index or None.
        label = f'CombinedReward {self.name!r}' if self.name else 'CombinedReward'
        groups = _fused_groups(self.parts, label, self.names) if fuse else []
        self._fused_parts: List[List[int]] = [idx for idx, _ in groups]
        self._fused_of: List[Optional[int]] = [None] * len(self.parts)
        for g, idx in enumerate(self._fused_parts):
            for i in idx:
                self._fused_of[i] = g
        scans = [scan for _, scan in groups]
        #: The scans of the format parts that go together (see ``fuse``).
        self.fused_scans = torch.nn.ModuleList(scans)

    def score_parts(self, trajectories: Any, ground_truths: Any = None) -> Dict[str, List[float]]:
        """Each part's rewards on trajectories, by part name, without weighting."""
        return {
            k: v if isinstance(v, list) else v[1]
            for k, v in self._values(trajectories, ground_truths).items()
        }

    def _values(self, trajectories: Any, ground_truths: Any) -> Dict[str, Union[List[float], tuple]]:
        """As :meth:`score_parts`, with each fused format part's values as ``((B,) float64,
        list)`` (:meth:`_FusedChecks.part_values`)."""
        n = len(trajectories)
        ground_truths = check_batch(trajectories, ground_truths, self.reward_name(), False)
        return _part_values(
            self,
            lambda g, i: self.fused_scans[g].part_values(trajectories, ground_truths),
            lambda i, name, part: _as_float_list(part(trajectories, ground_truths), n, name),
        )

    def score_trajectories(self, trajectories: Any, ground_truths: Any = None) -> List[float]:
        values = self._values(trajectories, ground_truths)
        logged = {k: v if isinstance(v, list) else v[1] for k, v in values.items()}
        if len(trajectories) <= _SMALL_BATCH:
            self._log(logged)
            return _weighted_rows(list(logged.values()), self.weights, self.nan_policy == 'zero')
        # Summed in numpy: the same float64 operations as combine's on tensors, at a few
        # microseconds a part for 4096 rows where torch's dispatch took ~15; the lists are
        # logged as they are.
        arrays = {
            k: np.fromiter(v, dtype=np.float64, count=len(v)) if isinstance(v, list) else v[0]
            for k, v in values.items()
        }
        return self.combine(arrays, len(trajectories), logged).tolist()

    def _log(self, parts: Dict[str, List[float]]) -> None:
        # Straight into the instance dict, where nn.Module's __setattr__ puts a dict too,
        # without its checks for parameters, buffers and submodules (~1.5 us a call).
        self.__dict__['last_parts'] = parts

    def score_ids(
        self,
        input_ids: Tensor,
        lengths: Optional[Tensor] = None,
        ground_truths: Any = None,
        *,
        attention_mask: Optional[Tensor] = None,
    ) -> Tensor:
        """The weighted sum of each part's ``score_ids`` (see :meth:`Reward.score_ids`):
        (B,) float32 on ``input_ids.device``. A part without a token path of its own
        decodes with its tokenizer; one without a tokenizer raises ``TokenizerRequired``."""
        b = input_ids.shape[0] if isinstance(input_ids, Tensor) and input_ids.dim() == 2 else None

        def scan(g: int, i: int) -> Optional[List[Tensor]]:
            fused = self.fused_scans[g]
            if fused.token_table is None:  # its parts decode, or say what they lack, alone
                return None
            return fused.part_scores_ids(input_ids, lengths, attention_mask=attention_mask)

        def own(i: int, name: str, part: Reward) -> Tensor:
            out = part.score_ids(input_ids, lengths, ground_truths, attention_mask=attention_mask)
            if tuple(out.shape) != (b,):
                raise ValueError(
                    f'CombinedReward part {name!r} returned shape {tuple(out.shape)} for {b} rows'
                )
            return out

        values = _part_values(self, scan, own)
        return self.combine(values, b).to(torch.float32)

    def combine(
        self,
        values: Dict[str, Union[Tensor, np.ndarray]],
        n: int,
        logged: Optional[Dict[str, List[float]]] = None,
    ) -> Union[Tensor, np.ndarray]:
        """The weighted sum of per-part values (by part name, in part order) under the NaN
        policy, float64: a tensor on the parts' device, or a numpy array when every part's
        values are numpy arrays. The values are kept in ``last_parts`` (as ``logged``, the
        same values as lists, when given)."""
        # Lists, as trainers log them: one host read per part for ids on a GPU.
        self._log(logged if logged is not None else {k: v.tolist() for k, v in values.items()})
        host = bool(values) and all(isinstance(v, np.ndarray) for v in values.values())
        total = None
        # An infinite value times 0 or a huge weight is NaN or infinite, as on tensors and in
        # Python floats, without numpy's RuntimeWarning for it.
        with np.errstate(over='ignore', invalid='ignore'):
            for v, w in zip(values.values(), self.weights):
                v = v.astype(np.float64, copy=False) if host else torch.as_tensor(v).to(torch.float64)
                if self.nan_policy == 'zero':
                    v = (np.nan_to_num if host else torch.nan_to_num)(
                        v, nan=0.0, posinf=math.inf, neginf=-math.inf
                    )
                if total is None:
                    total = w * v
                elif host:
                    total += w * v  # the same sum, without a new array for it
                else:
                    total = total + w * v
        if total is not None:
            return total
        return np.zeros(n, dtype=np.float64) if host else torch.zeros(n, dtype=torch.float64)


# Up to this many rows, the string path sums the parts' lists in Python: numpy's fixed
# cost per array operation (~1 us each, a few per part) outweighs a loop over so few rows.
_SMALL_BATCH = 32


def _weighted_rows(
    columns: Sequence[Sequence[float]], weights: Sequence[float], zero_nan: bool
) -> List[float]:
    """Per row, the weighted sum of the parts' values in part order: the same float64
    operations, in the same order, as :meth:`CombinedReward.combine` (``w * v`` per part,
    added to the first part's product), so the same floats. ``zero_nan``: a NaN value counts
    as 0.0 (infinities stay)."""
    out = []
    for row in zip(*columns):
        total = None
        for w, v in zip(weights, row):
            if zero_nan and v != v:
                v = 0.0
            total = w * v if total is None else total + w * v
        out.append(total)
    return out


def _part_values(
    reward: Any,
    scan: Callable[[int, int], Optional[Sequence[Any]]],
    own: Callable[[int, str, Any], Any],
) -> Dict[str, Any]:
    """Per part of a weighted sum (``reward.parts`` and ``reward.names``), by name in part
    order, its value: a fused part's (one of ``reward.fused_scans``) from ``scan(g, i)``, the
    values of every part of scan ``g`` in order (or None where that scan cannot give them),
    called once, at the turn of its first part ``i``; every other part's from
    ``own(i, name, part)``. Any object with those attributes will do; one without fused scans
    has every part scored on its own."""
    fused_of = getattr(reward, '_fused_of', None) or [None] * len(reward.parts)
    fused: Dict[int, Any] = {}  # by part index, from the scans run so far
    ran = set()
    out: Dict[str, Any] = {}
    for i, (name, part) in enumerate(zip(reward.names, reward.parts)):
        g = fused_of[i]
        if g is not None and g not in ran:
            ran.add(g)
            got = scan(g, i)
            if got is not None:
                fused.update(zip(reward._fused_parts[g], got))
        out[name] = fused[i] if i in fused else own(i, name, part)
    return out
