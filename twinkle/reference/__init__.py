"""Pure-torch versions of every compiled op, with the same signatures.

They are the shipped fallback (any device, no compiler needed) and the oracle the op
tests compare against. Benchmarks import them as the ``torch_ref`` provider.
"""

from twinkle.reference.dfa_scan import dfa_scan
from twinkle.reference.group_advantage import group_advantage

__all__ = ['group_advantage', 'dfa_scan']
