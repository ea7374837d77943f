"""What happened to each sample: the record every trainer adapter logs.

:func:`explain` scores a batch once (as :func:`twinkle.integrations.score`, token path
included) and keeps the reward's per-sample verdicts where it gives them (``MathReward``, or a
``CombinedReward`` with a math part), so a timeout is never logged as a wrong answer although
both score 0.0. Each sample gets one outcome:

========== ==========================================================================
outcome    meaning
========== ==========================================================================
correct    an answer was found and shown equal to the gold (reward 1.0)
incorrect  an answer was found and not shown equal (reward 0.0)
unparsable no committed answer, or one that does not parse (reward 0.0)
timeout    sympy ran past ``sympy_deadline_s`` or its worker died (reward 0.0)
abstain    the gold is unusable: the reward is NaN and the sample should count for nothing
scored     a reward that gives no verdicts (format, length shaping) scored the sample
========== ==========================================================================
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from twinkle.data_format import SampleResponse
from twinkle.integrations.scoring import TextScorer, score_values
from twinkle.reward.base import FunctionReward, Reward

__all__ = [
    'OUTCOMES',
    'Explained',
    'Explainer',
    'explain',
    'outcome_of',
    'outcome_of_method',
    'check_nan_value',
]

#: Every outcome, in the order the adapters log them.
OUTCOMES = ('correct', 'incorrect', 'unparsable', 'timeout', 'abstain', 'scored')

_NO_ANSWER = frozenset({'no_answer', 'unparsable'})


def outcome_of(value: float, verdict: Any = None) -> str:
    """The outcome of one sample from its reward ``value`` and its verdict (or None).

    >>> from twinkle.math import Verdict
    >>> outcome_of(0.0, Verdict(0.0, '3', '4', 'timeout'))
    'timeout'
    >>> outcome_of(float('nan')), outcome_of(0.5)
    ('abstain', 'scored')
    """
    if verdict is None:
        return outcome_of_method(value)
    return outcome_of_method(verdict.reward, verdict.method)


def outcome_of_method(reward: float, method: Optional[str] = None) -> str:
    """The outcome from a reward and, for rewards that give verdicts, the verdict's method.

    >>> outcome_of_method(1.0, 'exact'), outcome_of_method(0.0, 'no_answer')
    ('correct', 'unparsable')
    >>> outcome_of_method(float('nan'), 'unparsable_gold'), outcome_of_method(0.5)
    ('abstain', 'scored')
    """
    if method is None:
        return 'abstain' if math.isnan(reward) else 'scored'
    if method == 'timeout':
        return 'timeout'
    if method == 'unparsable_gold' or math.isnan(reward):
        return 'abstain'
    if method in _NO_ANSWER:
        return 'unparsable'
    return 'correct' if reward > 0 else 'incorrect'


class Explained:
    """A batch's rewards and, per sample, why.

    Attributes:
        rewards: ``(B,)`` float32, NaN where the reward abstained (built lazily from ``values``).
        verdicts: B :class:`twinkle.math.Verdict` of the reward (or of the first
            ``CombinedReward`` part) that gives verdicts, else None.
        source: the name of the reward the verdicts come from ('' when none does).
        outcomes: B entries of :data:`OUTCOMES`.
        values: ``rewards`` as B Python floats.
    """

    __slots__ = ('_rewards', 'verdicts', 'source', 'outcomes', 'values')

    def __init__(
        self,
        rewards: Optional[Tensor],
        verdicts: Optional[List[Any]],
        source: str,
        outcomes: List[str],
        values: List[float],
    ):
        self._rewards = rewards
        self.verdicts = verdicts
        self.source = source
        self.outcomes = outcomes
        self.values = values

    @property
    def rewards(self) -> Tensor:
        if self._rewards is None:
            self._rewards = torch.tensor(self.values, dtype=torch.float32)
        return self._rewards

    def __repr__(self) -> str:
        return f'Explained(values={self.values!r}, outcomes={self.outcomes!r}, source={self.source!r})'

    def info(self, i: int) -> Dict[str, Any]:
        """Sample ``i`` as flat loggable fields: outcome, method, answer, timeout, abstained.

        Same keys and types for every sample ('' when unknown, flags as 1.0 / 0.0), so trainers
        can stack and average them.
        """
        v = self.verdicts[i] if self.verdicts is not None else None
        outcome = self.outcomes[i]
        return {
            'outcome': outcome,
            'method': v.method if v is not None else '',
            'answer': (v.answer or '') if v is not None else '',
            'timeout': 1.0 if outcome == 'timeout' else 0.0,
            'abstained': 1.0 if outcome == 'abstain' else 0.0,
        }

    def counts(self) -> Dict[str, int]:
        """How many samples had each outcome (every outcome present, zeros included)."""
        out = dict.fromkeys(OUTCOMES, 0)
        for o in self.outcomes:
            out[o] += 1
        return out


def explain(
    reward: Any, trajectories: Any = None, ground_truths: Optional[Sequence[Any]] = None, **kwargs: Any
) -> Explained:
    """Scores a batch like :func:`twinkle.integrations.score` and says why, per sample.

    Args:
        reward: a twinkle Reward, ``CombinedReward`` or reward function.
        trajectories, ground_truths: as for :func:`~twinkle.integrations.score`.
        **kwargs: the keyword arguments of :func:`~twinkle.integrations.score`
            (``completion_ids``, ``input_ids``, ``lengths``, ``pad_id``, ``token_path``...).

    Returns:
        :class:`Explained`.

    >>> from twinkle.reward import MathReward
    >>> e = explain(MathReward(), ['The answer is $4$.', 'no idea', '#### 5'], ['4', '4', '4'])
    >>> e.rewards.tolist(), e.outcomes
    ([1.0, 0.0, 0.0], ['correct', 'unparsable', 'incorrect'])
    """
    details: Dict[str, list] = {}
    out = score_values(reward, trajectories, ground_truths, details=details, **kwargs)
    source, verdicts = next(iter(details.items()), ('', None))
    return _explained(out, verdicts, source)


def _explained(out: Union[Tensor, List[float]], verdicts: Optional[list], source: str) -> Explained:
    if isinstance(out, list):
        rewards, values = None, out
    else:
        rewards, values = out, out.tolist()
    if verdicts is None:
        outcomes = [outcome_of_method(x) for x in values]
    elif len(verdicts) != len(values):
        raise ValueError(f'{source} gave {len(verdicts)} verdicts for {len(values)} samples')
    else:
        outcomes = [outcome_of_method(v.reward, v.method) for v in verdicts]
    return Explained(rewards, verdicts, source, outcomes, values)


class Explainer:
    """:func:`explain` bound to one reward, for trainers that call once per sample.

    Plain strings go straight to the reward through a
    :class:`~twinkle.integrations.scoring.TextScorer` made once; anything else takes
    :func:`explain`'s general path, with the same results.

    Args:
        reward: a twinkle Reward, ``CombinedReward`` or reward function.

    >>> from twinkle.reward import MathReward
    >>> Explainer(MathReward())(['The answer is $4$.'], ['4']).outcomes
    ['correct']
    """

    __slots__ = ('reward', '_texts')

    def __init__(self, reward: Any):
        self.reward = reward
        self._texts = None
        if _plain(reward):
            try:
                self._texts = TextScorer(reward)
            except TypeError:  # a token-only reward: explain() says so if strings come
                pass

    def __call__(
        self, trajectories: Any = None, ground_truths: Optional[Sequence[Any]] = None, **kwargs: Any
    ) -> Explained:
        """The :class:`Explained` of a batch; arguments as for :func:`explain`."""
        if self._texts is None or _general(trajectories, kwargs):
            return explain(self.reward, trajectories, ground_truths, **kwargs)
        out, verdicts = self._texts(trajectories, ground_truths, True)
        return _explained(out, verdicts, self._texts.name if verdicts is not None else '')


def _plain(reward: Any) -> bool:
    """A reward :func:`score` sends down the string path whenever no ids are given."""
    if getattr(reward, 'parts', None) is not None:  # a CombinedReward: part by part
        return False
    return not (isinstance(reward, FunctionReward) and isinstance(reward.fn, Reward))


def _general(trajectories: Any, kwargs: Dict[str, Any]) -> bool:
    """Token ids, a forced path or a SampleResponse: :func:`explain` decides."""
    if kwargs and any(v is not None for k, v in kwargs.items() if k not in ('pad_id', 'device')):
        return True
    return isinstance(trajectories, SampleResponse)


def check_nan_value(nan_value: Any, where: str) -> float:
    """``nan_value`` as a float, refusing NaN (the value stands in for NaN)."""
    try:
        v = float(nan_value)
    except (TypeError, ValueError):
        raise TypeError(f'{where}: nan_value must be a number, got {nan_value!r}') from None
    if math.isnan(v):
        raise ValueError(f'{where}: nan_value must be a number, not NaN (it replaces NaN)')
    return v
