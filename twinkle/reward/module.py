"""Rewards that are torch modules: ``forward`` is :meth:`~twinkle.reward.Reward.score_ids`.

Every built-in reward derives from :class:`RewardModule`:

* ``reward(trajectories, ground_truths)``, the standard call, runs
  :meth:`RewardModule.score_trajectories` (a list of floats);
* ``reward(input_ids, ...)`` (a tensor first) is the module call: hooks, then ``forward``.

Device policy: a reward's tables are built on the CPU and follow the ids: the first call
with ids on another device copies them there and keeps the copy, and the rewards come
back on ``input_ids.device``. ``.to(device)`` moves the tables ahead of time.
"""

from __future__ import annotations

from typing import Any, List, Optional

import torch
from torch import Tensor

from twinkle.reward.base import Reward

__all__ = ['RewardModule']


class RewardModule(Reward, torch.nn.Module):
    """Base of the built-in rewards: a :class:`Reward` and a ``torch.nn.Module``.

    Subclasses implement :meth:`score_trajectories` (the string path) and
    :meth:`score_ids` (the token path, which ``forward`` calls).
    """

    def __init__(self, *, tokenizer: Any = None, name: Optional[str] = None):
        torch.nn.Module.__init__(self)
        self.tokenizer = tokenizer
        if name is not None:  # else the class's name, if it sets one
            self.name = name

    def __call__(self, *args, **kwargs):
        # Tensors go to nn.Module (hooks, forward); anything else is the standard call.
        if args and isinstance(args[0], Tensor) or 'input_ids' in kwargs:
            return torch.nn.Module.__call__(self, *args, **kwargs)
        return self.score_trajectories(*args, **kwargs)

    def score_trajectories(self, trajectories: Any, ground_truths: Any = None) -> List[float]:
        """One float per trajectory: the standard call ``reward(trajectories, ground_truths)``."""
        raise NotImplementedError(f'{type(self).__name__} must implement score_trajectories')

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """:meth:`score_ids` (the same arguments), as the module's call."""
        return self.score_ids(*args, **kwargs)

    def reward_name(self) -> str:
        return self.name or type(self).__name__

    def buffer_on(self, name: str, device: torch.device) -> Tensor:
        """Buffer ``name`` on ``device``: itself, or its copy there, made once and kept."""
        t = self._buffers[name]
        if t.device == device:
            return t
        copies = self.__dict__.setdefault('_device_copies', {})
        got = copies.get((name, device))
        if got is None:
            got = copies[(name, device)] = t.to(device)
        return got

    def _apply(self, fn, recurse=True):
        self.__dict__.pop('_device_copies', None)  # .to() and friends: the buffers move
        return super()._apply(fn, recurse)
