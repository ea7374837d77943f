"""Backend choice shared by the op wrappers.

Each op module calls :func:`register_op` once when it loads: it loads the library, registers
the fake kernel (for torch.compile and ``opcheck``) and decides and logs each device's
backend, so :func:`use_compiled` is then a side-effect-free lookup that traces cleanly.
"""

from __future__ import annotations

import logging
from typing import Callable, Dict, Tuple

import torch

from twinkle import _ext

logger = logging.getLogger('twinkle')
_compiled: Dict[Tuple[str, str], bool] = {}


def register_op(op: str, fake: Callable) -> None:
    """Registers ``fake`` as the fake kernel of ``twinkle::<op>`` and decides its backends.

    Args:
        op: the op's name in ``TORCH_LIBRARY(twinkle, ...)``, e.g. 'group_advantage'.
        fake: a function with the op's schema that returns empty outputs of the right
            shapes, dtypes and devices.
    """
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for device_type in devices:
        _decide(op, device_type)
    if _ext.has_kernel(op, 'cpu') or _ext.has_kernel(op, 'cuda'):
        torch.library.register_fake(f'twinkle::{op}', fake)


def _decide(op: str, device_type: str) -> bool:
    compiled = _ext.has_kernel(op, device_type)
    _compiled[(op, device_type)] = compiled
    logger.info(
        'twinkle: %s on %s runs %s',
        op,
        device_type,
        'the compiled op' if compiled else 'the pure-torch reference',
    )
    return compiled


def use_compiled(op: str, device: torch.device) -> bool:
    """True when ``twinkle::<op>`` should run for tensors on ``device``."""
    hit = _compiled.get((op, device.type))
    return _decide(op, device.type) if hit is None else hit
