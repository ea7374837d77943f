"""Integer constants the compiled ops, their references and their callers share.

Each enum mirrors one C++ enum in ``csrc/include/twinkle`` (listed in ``CPP_MIRRORS``);
``tests/test_constants.py`` parses those headers and fails if a value drifts. Pass
them to the ops as they are: an ``IntEnum`` is an ``int``.
"""

from __future__ import annotations

import enum


class DfaError(enum.IntEnum):
    """Final states ``dfa_scan`` returns instead of raising (a CUDA kernel cannot raise)."""

    BAD_ID = -1  # an id outside [0, V); first_dead holds its position
    BAD_TABLE = -2  # a start state, class id or transition out of range


class Baseline(enum.IntEnum):
    """What ``group_advantage`` subtracts from each reward."""

    MEAN = 0  # GRPO: the group mean
    LEAVE_ONE_OUT = 1  # RLOO: the mean of the other valid members
    SECOND_MAX = 2  # pass@k: the runner-up for a sole best member, else the reward itself


class Scale(enum.IntEnum):
    """What ``group_advantage`` divides by after the baseline."""

    NONE = 0  # Dr. GRPO, RLOO: no division
    GROUP = 1  # GRPO: the group's std + eps


#: Python enum -> (header under csrc/include, C++ enum name, enumerator prefix): a member
#: ``BAD_ID`` of ``DfaError`` is ``kDfaBadId`` in C++.
CPP_MIRRORS = {
    DfaError: ('twinkle/dfa_scan.h', 'DfaError', 'kDfa'),
    Baseline: ('twinkle/group_advantage.h', 'Baseline', 'kBaseline'),
    Scale: ('twinkle/group_advantage.h', 'Scale', 'kScale'),
}

__all__ = ['DfaError', 'Baseline', 'Scale']
