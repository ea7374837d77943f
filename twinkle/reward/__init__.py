"""Rewards: ``reward_fn(trajectories, ground_truths) -> list[float]``.

``Reward`` is the base class; a plain function with the same signature is accepted
wherever a Reward is (see :func:`as_reward`). ``CombinedReward`` sums weighted parts
and keeps each part for logging. ``FormatReward`` and ``MathReward`` are the built-in
engines. A reward returns NaN for a sample it cannot decide (it abstains); the
advantages give such samples 0 and leave them out of the group statistics.

Every reward has the token path ``score_ids(input_ids, lengths=None, ground_truths=None, *,
attention_mask=None)``; the built-in ones are torch modules whose ``forward`` it is (see
:mod:`twinkle.reward.module`). This package exports rewards and the helpers custom rewards
use; length shaping lives in :mod:`twinkle.reward.shaping`.
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
