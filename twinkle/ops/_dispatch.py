"""Backend choice shared by the op wrappers."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Set

import torch

from twinkle import _ext

logger = logging.getLogger('twinkle')
_fakes_done: Set[str] = set()
_logged: Set[tuple] = set()
_lock = threading.Lock()


def use_compiled(op: str, device: torch.device, register_fake: Callable[[], None]) -> bool:
    """True when ``twinkle::<op>`` should run for tensors on ``device``.

    On the first positive answer for an op it registers the op's fake (meta) kernel so
    the op traces under torch.compile. Logs once per (op, device) which backend runs.
    """
    compiled = _ext.has_kernel(op, device.type)
    key = (op, device.type)
    if key not in _logged:
        with _lock:
            if compiled and op not in _fakes_done:
                register_fake()
                _fakes_done.add(op)
            if key not in _logged:
                _logged.add(key)
                logger.info('twinkle: %s on %s runs %s', op, device.type,
                            'the compiled op' if compiled else 'the pure-torch reference')
    return compiled


def resolve_backends(op: str, register_fake: Callable[[], None]) -> None:
    """Decides, eagerly, which backend serves ``op`` on each present device.

    The first decision loads the compiled library under a lock, which torch.compile
    cannot trace; modules that call an op inside ``forward``/``__call__`` call this at
    construction, so that a traced first call finds the answer cached.
    """
    use_compiled(op, torch.device('cpu'), register_fake)
    if torch.cuda.is_available():
        use_compiled(op, torch.device('cuda'), register_fake)

