"""twinkle inside the trainers people use, and the shared scoring entry point.

* :mod:`twinkle.integrations.trl`: ``as_trl_reward(reward)``, a GRPOTrainer reward
  function.
* :mod:`twinkle.integrations.verl`: ``compute_score`` / ``compute_score_batch`` with
  verl's custom reward function signatures.
* :func:`score`: rewards for a batch, on the sampler's token ids when the reward has a
  tensor path (``forward(input_ids, ...)``), else the seed's string call.
"""
from twinkle.integrations.scoring import has_token_path, pad_completion_ids, score

__all__ = ['score', 'has_token_path', 'pad_completion_ids']
