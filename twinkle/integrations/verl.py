"""twinkle rewards as verl reward functions (verl itself need not be installed).

verl calls a custom reward function named in its config::

    custom_reward_function:
      path: /path/to/twinkle/integrations/verl.py   # or a file of yours that imports it
      name: compute_score            # NaiveRewardManager: one sample per call
      # name: compute_score_batch    # with reward_model.reward_manager=batch

with verl's documented signatures:

* ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)``
  -> float, called once per sample by the naive reward manager;
* ``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None,
  **kwargs)`` -> list[float], called once per batch by the batch reward manager
  (``reward_model.reward_manager=batch``).

``solution_str`` is the decoded response (no prompt); ``ground_truth`` is the row's
``reward_model['ground_truth']``; ``**kwargs`` receives
``custom_reward_function.reward_kwargs``. The module-level functions score with
``MathReward`` (accuracy: 1.0 / 0.0); wrap another reward with :class:`VerlScorer`.
verl has no notion of an abstaining reward, so NaN (a reward that could not decide)
becomes ``nan_value`` (0.0 by default).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

__all__ = ['VerlScorer', 'compute_score', 'compute_score_batch', 'default_reward']


class _ExactAnswer:
    """Fallback when twinkle.reward.math is unavailable: 1.0 if the stripped strings match."""

    name = 'exact_answer'

    def __call__(self, trajectories, ground_truths=None):
        from twinkle.reward.base import ground_truth_text, last_completion
        return [float((last_completion(t) or '').strip() == (ground_truth_text(g) or '').strip())
                for t, g in zip(trajectories, ground_truths)]


def default_reward():
    """``MathReward()`` when twinkle's math reward is available, else exact match."""
    try:
        from twinkle.reward.math import MathReward
    except ImportError:
        return _ExactAnswer()
    return MathReward()


def _text(x: Any) -> Optional[str]:
    if x is None:
        return None
    if isinstance(x, str):
        return x
    if hasattr(x, 'item') and getattr(x, 'ndim', 1) == 0:  # numpy / torch scalars
        x = x.item()
    if isinstance(x, float) and math.isfinite(x) and x == int(x):
        return str(int(x))
    return str(x)


class VerlScorer:
    """verl's ``compute_score`` pair for any twinkle reward.

    Args:
        reward: a twinkle Reward or reward function; default :func:`default_reward`.
        by_data_source: optional ``{data_source: reward}`` overrides (verl batches mix
            datasets; each source is scored with its reward, the rest with ``reward``).
        nan_value: the score given where a reward abstains (NaN).
        return_dict: return ``{'score': s}`` dicts (verl logs the extra keys of a dict
            result; here the score only) instead of floats.

    >>> scorer = VerlScorer(lambda t, g: [float(s == g[0]) for s in t])
    >>> scorer.compute_score('gsm8k', '4', '4'), scorer.compute_score('gsm8k', '5', '4')
    (1.0, 0.0)
    >>> scorer.compute_score_batch(['a', 'a'], ['1', '2'], ['1', '1'])
    [1.0, 0.0]
    """

    def __init__(self, reward: Any = None, *, by_data_source: Optional[Mapping[str, Any]] = None,
                 nan_value: float = 0.0, return_dict: bool = False):
        from twinkle.reward.base import as_reward
        self.reward = as_reward(reward if reward is not None else default_reward())
        self.by_data_source: Dict[str, Any] = {str(k): as_reward(v)
                                               for k, v in (by_data_source or {}).items()}
        nan_value = float(nan_value)
        if math.isnan(nan_value):
            raise ValueError('nan_value must be a number, not NaN (verl cannot take NaN scores)')
        self.nan_value = nan_value
        self.return_dict = bool(return_dict)

    def _reward_for(self, data_source: Any):
        return self.by_data_source.get(_text(data_source), self.reward)

    def _out(self, v: float):
        v = self.nan_value if math.isnan(v) else float(v)
        return {'score': v} if self.return_dict else v

    def compute_score(self, data_source: Any, solution_str: str, ground_truth: Any,
                      extra_info: Optional[dict] = None, **kwargs: Any):
        """One sample's score (verl's NaiveRewardManager signature).

        Args:
            data_source: the row's ``data_source`` (chooses the reward).
            solution_str: the decoded response.
            ground_truth: the row's ``reward_model['ground_truth']``.
            extra_info: the row's ``extra_info`` (unused).
            **kwargs: ``custom_reward_function.reward_kwargs`` (unused).

        Returns:
            A float (or ``{'score': float}`` with ``return_dict=True``).
        """
        return self.compute_score_batch([data_source], [solution_str], [ground_truth],
                                        [extra_info])[0]

    def compute_score_batch(self, data_sources: Sequence[Any], solution_strs: Sequence[str],
                            ground_truths: Sequence[Any],
                            extra_infos: Optional[Sequence[Any]] = None, **kwargs: Any) -> List:
        """A batch's scores (verl's BatchRewardManager signature), one reward call per
        data source.

        Args:
            data_sources: (B,) data sources (a list or numpy array).
            solution_strs: (B,) decoded responses.
            ground_truths: (B,) ground truths.
            extra_infos: (B,) extra infos, or None (unused).
            **kwargs: ``custom_reward_function.reward_kwargs`` (unused).

        Returns:
            B floats (or dicts with ``return_dict=True``).
        """
        n = len(solution_strs)
        if len(data_sources) != n or len(ground_truths) != n:
            raise ValueError(f'compute_score_batch: data_sources ({len(data_sources)}), '
                             f'solution_strs ({n}) and ground_truths ({len(ground_truths)}) '
                             'must have the same length')
        if extra_infos is not None and len(extra_infos) != n:
            raise ValueError(f'compute_score_batch: extra_infos has {len(extra_infos)} entries '
                             f'for {n} samples')
        for i, s in enumerate(solution_strs):
            if not isinstance(s, str):
                raise TypeError(f'compute_score_batch: solution_strs[{i}] must be a str, '
                                f'got {type(s).__name__}')
        groups: Dict[int, List[int]] = {}
        rewards: Dict[int, Any] = {}
        for i, src in enumerate(data_sources):
            r = self._reward_for(src)
            groups.setdefault(id(r), []).append(i)
            rewards[id(r)] = r
        scores = [float('nan')] * n
        for key, idx in groups.items():
            values = rewards[key]([solution_strs[i] for i in idx],
                                  [_text(ground_truths[i]) for i in idx])
            for i, v in zip(idx, values):
                scores[i] = float(v)
        return [self._out(v) for v in scores]


_DEFAULT: Optional[VerlScorer] = None


def _default() -> VerlScorer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = VerlScorer()
    return _DEFAULT


def compute_score(data_source: Any, solution_str: str, ground_truth: Any,
                  extra_info: Optional[dict] = None, **kwargs: Any) -> float:
    """verl's per-sample reward function, scoring with :func:`default_reward`.

    >>> compute_score('math', r'so the answer is $\\boxed{\\frac{1}{2}}$', '0.5')
    1.0
    """
    return _default().compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[str],
                        ground_truths: Sequence[Any], extra_infos: Optional[Sequence[Any]] = None,
                        **kwargs: Any) -> List[float]:
    """verl's batch reward function (``reward_manager=batch``), with :func:`default_reward`.

    >>> compute_score_batch(['gsm8k'] * 2, ['#### 72', '#### 70'], ['72', '72'])
    [1.0, 0.0]
    """
    return _default().compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos,
                                          **kwargs)
