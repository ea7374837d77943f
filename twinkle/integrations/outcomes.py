"""What happened to each sample: the record every trainer adapter logs.

A trainer sees one number per sample; twinkle knows why. :func:`explain` scores a batch once
(the same call as :func:`twinkle.integrations.score`, token path included) and keeps, per
sample, the reward's verdict where it gives one (``MathReward`` does, and so does a
``CombinedReward`` with a math part). From the verdict each sample gets one outcome:

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

So a timeout is never mistaken for a wrong answer in a trainer's logs, although both
score 0.0.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from torch import Tensor

from twinkle.integrations.scoring import score

__all__ = ['OUTCOMES', 'Explained', 'explain', 'outcome_of', 'outcome_of_method', 'check_nan_value']

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


class Explained(NamedTuple):
    """A batch's rewards and, per sample, why.

    Attributes:
        rewards: ``(B,)`` float32, NaN where the reward abstained.
        verdicts: B :class:`twinkle.math.Verdict` of the reward (or of the first
            ``CombinedReward`` part) that gives verdicts, else None.
        source: the name of the reward the verdicts come from ('' when none does).
        outcomes: B entries of :data:`OUTCOMES`.
        values: ``rewards`` as B Python floats.
    """

    rewards: Tensor
    verdicts: Optional[List[Any]]
    source: str
    outcomes: List[str]
    values: List[float]

    def info(self, i: int) -> Dict[str, Any]:
        """Sample ``i`` as flat loggable fields: outcome, method, answer, timeout, abstained.

        Every sample has the same keys and types (strings are '' when unknown, flags are
        1.0 / 0.0 floats), since trainers stack them into arrays and average numbers.
        """
        v = self.verdicts[i] if self.verdicts is not None else None
        outcome = self.outcomes[i]
        return {'outcome': outcome,
                'method': v.method if v is not None else '',
                'answer': (v.answer or '') if v is not None else '',
                'timeout': float(outcome == 'timeout'),
                'abstained': float(outcome == 'abstain')}

    def counts(self) -> Dict[str, int]:
        """How many samples had each outcome (every outcome present, zeros included)."""
        out = dict.fromkeys(OUTCOMES, 0)
        for o in self.outcomes:
            out[o] += 1
        return out


def explain(reward: Any, trajectories: Any = None, ground_truths: Optional[Sequence[Any]] = None,
            **kwargs: Any) -> Explained:
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
    rewards = score(reward, trajectories, ground_truths, details=details, **kwargs)
    source, verdicts = next(iter(details.items()), ('', None))
    values = rewards.tolist()
    if verdicts is not None and len(verdicts) != len(values):
        raise ValueError(f'{source} gave {len(verdicts)} verdicts for {len(values)} samples')
    outcomes = [outcome_of(x, verdicts[i] if verdicts is not None else None)
                for i, x in enumerate(values)]
    return Explained(rewards, verdicts, source, outcomes, values)


def check_nan_value(nan_value: Any, where: str) -> float:
    """``nan_value`` as a float, refusing NaN (the value stands in for NaN)."""
    try:
        v = float(nan_value)
    except (TypeError, ValueError):
        raise TypeError(f'{where}: nan_value must be a number, got {nan_value!r}') from None
    if math.isnan(v):
        raise ValueError(f'{where}: nan_value must be a number, not NaN (it replaces NaN)')
    return v
