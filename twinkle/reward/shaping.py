"""Length shaping: reward terms from completion lengths (DAPO's soft overlong penalty, the
cosine length scaling of Yeo et al.), added to or replacing a reward before the advantages.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ['soft_overlong_penalty', 'cosine_length_scaling']


def soft_overlong_penalty(lengths: Tensor, max_length: int, cache_length: int) -> Tensor:
    """DAPO's soft overlong punishment (Yu et al. 2025, eq. 13) on completion lengths.

    0 while ``L <= max_length - cache_length``, then falling linearly to -1 at
    ``L = max_length``, and -1 beyond.

    Args:
        lengths: (B,) completion lengths in tokens (any integer or float dtype).
        max_length: L_max, the generation budget.
        cache_length: L_cache, the width of the soft band (0 < L_cache <= L_max).

    Returns:
        (B,) float32 penalties in [-1, 0], on ``lengths.device``.

    >>> soft_overlong_penalty(torch.tensor([10, 90, 95, 100, 120]), 100, 10).tolist()
    [0.0, 0.0, -0.5, -1.0, -1.0]
    """
    if not 0 < cache_length <= max_length:
        raise ValueError(
            f'soft_overlong_penalty: need 0 < cache_length <= max_length, got {cache_length} and {max_length}'
        )
    x = lengths.to(torch.float32)
    expected = float(max_length - cache_length)
    pen = (expected - x) / float(cache_length)
    return pen.clamp(-1.0, 0.0)


def cosine_length_scaling(
    lengths: Tensor,
    correct: Tensor,
    max_length: int,
    *,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
) -> Tensor:
    """Cosine length-scaled correctness reward (Yeo et al. 2025, "Demystifying Long CoT").

    ``r = lo + (hi - lo) * (1 + cos(pi * min(L, L_max) / L_max)) / 2``: correct answers go from
    ``max_value_correct`` at length 0 to ``min_value_correct`` at ``L_max``, wrong ones from
    ``min_value_wrong`` up to ``max_value_wrong`` (short wrong answers are punished most).

    Args:
        lengths: (B,) completion lengths in tokens.
        correct: (B,) bool or 0/1 correctness; NaN (an abstaining reward) gives NaN.
        max_length: L_max.

    Returns:
        (B,) float32.

    >>> cosine_length_scaling(torch.tensor([0, 100, 0, 100]), torch.tensor([1., 1., 0., 0.]), 100).tolist()
    [1.0, 0.5, -1.0, -0.5]
    """
    if max_length <= 0:
        raise ValueError(f'cosine_length_scaling: max_length must be > 0, got {max_length}')
    x = lengths.to(torch.float32).clamp(0, float(max_length))
    c = correct.to(torch.float32)
    cos = torch.cos(x * (math.pi / float(max_length)))
    hi = torch.where(c > 0.5, torch.full_like(x, max_value_correct), torch.full_like(x, min_value_wrong))
    lo = torch.where(c > 0.5, torch.full_like(x, min_value_correct), torch.full_like(x, max_value_wrong))
    out = lo + 0.5 * (hi - lo) * (1.0 + cos)
    return torch.where(torch.isnan(c), torch.full_like(out, float('nan')), out)
