"""Pure-torch versions of every compiled op, with the same signatures: the shipped fallback
and the oracle of the op tests and benchmarks.
"""

from twinkle.reference.dfa_scan import dfa_scan
from twinkle.reference.group_advantage import group_advantage

__all__ = ['group_advantage', 'dfa_scan']
