"""twinkle inside the trainers people use, and the shared scoring entry point.

Adapters: :mod:`~twinkle.integrations.trl` (``as_trl_reward``),
:mod:`~twinkle.integrations.verl` (``compute_score``, ``TwinkleRewardManager``),
:mod:`~twinkle.integrations.openrlhf` (``reward_func``), :mod:`~twinkle.integrations.verifiers`
(rubric and ``verifiers.v1`` functions), :mod:`~twinkle.integrations.slime` (``rm``).
:func:`score` gives a batch's rewards (on token ids when the reward reads them itself);
:func:`explain` adds each sample's outcome, which every adapter logs.
"""

from twinkle.integrations.outcomes import OUTCOMES, Explained, explain
from twinkle.integrations.scoring import pad_completion_ids, score, uses_token_path

__all__ = ['score', 'explain', 'Explained', 'OUTCOMES', 'uses_token_path', 'pad_completion_ids']
