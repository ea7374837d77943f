"""Rewards: ``reward_fn(trajectories, ground_truths) -> list[float]``.

``Reward`` is the base class; a plain function with the same signature is accepted
wherever a Reward is (see :func:`as_reward`). ``CombinedReward`` sums weighted parts
and keeps each part for logging. ``FormatReward`` and ``MathReward`` are the built-in
engines. A reward returns NaN for a sample it cannot decide (it abstains); the
advantages give such samples 0 and leave them out of the group statistics.
"""
from twinkle._lazy import lazy_getattr
from twinkle.reward.base import (FunctionReward, Reward, TokenizerRequired, as_reward, check_batch,
                                 content_text, ground_truth_text, last_completion)

__all__ = ['Reward', 'FunctionReward', 'CombinedReward', 'RewardModule', 'TokenizerRequired', 'as_reward', 'check_batch', 'content_text',
           'ground_truth_text', 'last_completion', 'FormatReward', 'TagCountReward', 'BoxedReward',
           'seed_format_reward', 'soft_overlong_penalty', 'cosine_length_scaling', 'MathReward',
           'GSM8KReward']

# The engines import heavier modules (tokenizer tables, sympy); load them on first use.
_LAZY = {
    'CombinedReward': 'twinkle.reward.combined',
    'RewardModule': 'twinkle.reward.module',
    'FormatReward': 'twinkle.reward.format',
    'TagCountReward': 'twinkle.reward.format',
    'BoxedReward': 'twinkle.reward.format',
    'seed_format_reward': 'twinkle.reward.format',
    'soft_overlong_penalty': 'twinkle.reward.format',
    'cosine_length_scaling': 'twinkle.reward.format',
    'MathReward': 'twinkle.reward.math',
    'GSM8KReward': 'twinkle.reward.math',
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
