"""One typed function per compiled op, and the choice of backend (the only layer that touches
``torch.ops``): the compiled op where the library serves the input's device, else the
pure-torch reference in :mod:`twinkle.reference` with the same signature.
"""

from twinkle.ops.dfa_scan import dfa_scan
from twinkle.ops.group_advantage import group_advantage

__all__ = ['group_advantage', 'dfa_scan']
