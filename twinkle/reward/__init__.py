"""Rewards: ``reward_fn(trajectories, ground_truths) -> list[float]``, NaN where one abstains.

``Reward`` is the base class, and a plain function of that signature is accepted wherever
a Reward is (:func:`as_reward`). ``CombinedReward`` sums weighted parts and keeps each for
logging; ``FormatReward`` and ``MathReward`` are the built-in engines, torch modules whose
``forward`` is the token path ``score_ids`` (:mod:`twinkle.reward.module`). Length shaping
lives in :mod:`twinkle.reward.shaping`.
"""

from twinkle._lazy import lazy_getattr
from twinkle.reward.base import (
    FunctionReward,
    Reward,
    TokenizerRequired,
    as_reward,
    check_batch,
    content_text,
    ground_truth_text,
    last_completion,
)

__all__ = [
    'Reward',
    'RewardModule',
    'FunctionReward',
    'CombinedReward',
    'FormatReward',
    'TagCountReward',
    'BoxedReward',
    'MathReward',
    'GSM8KReward',
    'has_think_and_answer',
    'as_reward',
    'TokenizerRequired',
    'check_batch',
    'content_text',
    'ground_truth_text',
    'last_completion',
]

# The engines import heavier modules (tokenizer tables, sympy); load them on first use.
_LAZY = {
    'CombinedReward': 'twinkle.reward.combined',
    'RewardModule': 'twinkle.reward.module',
    'FormatReward': 'twinkle.reward.format',
    'TagCountReward': 'twinkle.reward.format',
    'BoxedReward': 'twinkle.reward.format',
    'has_think_and_answer': 'twinkle.reward.format',
    'MathReward': 'twinkle.reward.math',
    'GSM8KReward': 'twinkle.reward.math',
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
