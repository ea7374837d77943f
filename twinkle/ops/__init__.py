"""One typed function per compiled op, and the choice of backend.

Each function runs ``torch.ops.twinkle.<op>`` when the compiled library serves the
input's device, and otherwise the pure-torch reference in :mod:`twinkle.reference` with
the same signature. This is the only layer that touches ``torch.ops``. Importing it loads
the compiled library (once) and registers each op's fake kernel beside its wrapper.
"""

from twinkle.ops.dfa_scan import dfa_scan
from twinkle.ops.group_advantage import group_advantage

__all__ = ['group_advantage', 'dfa_scan']
