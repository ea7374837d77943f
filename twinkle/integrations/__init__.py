"""twinkle inside the trainers people use, and the shared scoring entry point.

* :mod:`twinkle.integrations.trl`: ``as_trl_reward(reward)``, a GRPOTrainer reward
  function that also logs outcome rates through TRL's ``log_metric`` / ``log_extra``.
* :mod:`twinkle.integrations.verl`: ``compute_score`` for verl's Reward Loop managers and
  ``TwinkleRewardManager``, which scores a whole chunk on token ids in one call.
* :mod:`twinkle.integrations.openrlhf`: ``reward_func`` for ``--reward.remote_url``.
* :mod:`twinkle.integrations.verifiers`: ``vf.Rubric`` functions (verifiers 0.3) and
  ``verifiers.v1`` task reward functions (0.4).
* :mod:`twinkle.integrations.slime`: ``rm(args, sample)`` / ``rm(args, samples)``,
  non-blocking, for ``--custom-rm-path``.
* :func:`score`: rewards for a batch, on the sampler's token ids when the reward reads
  them itself (its own ``score_ids`` and a tokenizer), else the reward's own call on trajectories;
  :func:`explain`: the same, with each sample's outcome (correct, incorrect,
  unparsable, timeout, abstain), which every adapter logs.
"""

from twinkle.integrations.outcomes import OUTCOMES, Explained, explain
from twinkle.integrations.scoring import pad_completion_ids, score, uses_token_path

__all__ = ['score', 'explain', 'Explained', 'OUTCOMES', 'uses_token_path', 'pad_completion_ids']
