"""twinkle rewards as slime custom reward functions (``--custom-rm-path twinkle.integrations.slime.rm``).

slime awaits ``rm(args, sample)`` per sample, or ``rm(args, samples) -> list`` with
``--group-rm``, on one asyncio loop shared by every generation. Nothing here blocks it:
concurrent calls are gathered and scored in one twinkle call in a thread.

A sample's response token ids (``tokens[-response_length:]``) are scored when the reward has
a token path, else its ``response`` text; the explanation goes to
``sample.metadata['twinkle']``. An abstained sample (NaN) gets ``nan_value`` (0.0), and with
``remove_abstained=True`` also ``sample.remove_sample = True`` (no loss; it still counts in
advantage normalisation).

>>> import asyncio
>>> from types import SimpleNamespace
>>> s = SimpleNamespace(response='So $\\\\boxed{4}$.', label='4', metadata={}, tokens=[],
...                     response_length=0, remove_sample=False)
>>> asyncio.run(rm(None, s)), s.metadata['twinkle']['outcome']
(1.0, 'correct')
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Union

from twinkle.integrations._batching import AsyncBatcher
from twinkle.integrations.outcomes import Explainer, check_nan_value
from twinkle.integrations.scoring import uses_token_path

__all__ = ['rm', 'group_rm', 'make_rm', 'SlimeScorer']


class SlimeScorer:
    """slime's custom reward function for any twinkle reward: ``await scorer(args, sample_or_samples)``.

    Args:
        reward: a twinkle Reward or reward function; default ``MathReward()``.
        nan_value: the reward given where the reward abstains (NaN).
        remove_abstained: also set ``sample.remove_sample`` on abstained samples.
        max_workers: threads that run batched scoring calls (the event loop never does).
        max_batch: samples per batched call at most.
    """

    def __init__(
        self,
        reward: Any = None,
        *,
        nan_value: float = 0.0,
        remove_abstained: bool = False,
        max_workers: int = 2,
        max_batch: int = 4096,
    ):
        self._reward = reward
        self._explainer: Optional[Explainer] = None
        self.nan_value = check_nan_value(nan_value, 'SlimeScorer')
        self.remove_abstained = bool(remove_abstained)
        if max_workers < 1:
            raise ValueError(f'SlimeScorer: max_workers must be >= 1, got {max_workers}')
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix='twinkle-slime')
        self.batcher = AsyncBatcher(self._score_sync, max_batch=max_batch, executor=self._pool)

    @property
    def reward(self):
        if self._reward is None:  # built on first use, in the rollout process
            from twinkle.reward.math import MathReward

            self._reward = MathReward()
        return self._reward

    async def __call__(
        self, args: Any, sample: Union[Any, Sequence[Any]], **kwargs: Any
    ) -> Union[float, List[float]]:
        if isinstance(sample, (list, tuple)):
            return await self.group(args, sample)
        return await self.batcher.submit(sample)

    async def group(self, args: Any, samples: Sequence[Any], **kwargs: Any) -> List[float]:
        """The ``--group-rm`` form: one reward per sample, scored in one batch."""
        for i, s in enumerate(samples):
            if isinstance(s, (list, tuple)):
                raise TypeError(f'samples[{i}] is a list: pass one group of samples at a time')
        return list(await asyncio.gather(*(self.batcher.submit(s) for s in samples)))

    @property
    def explainer(self) -> Explainer:
        if self._explainer is None:
            self._explainer = Explainer(self.reward)
        return self._explainer

    def _score_sync(self, samples: List[Any]) -> List[float]:
        reward = self.reward
        golds = [_label(s) for s in samples]
        ids = [_response_ids(s) for s in samples] if uses_token_path(reward) else None
        if ids is not None and all(x is not None for x in ids):
            e = self.explainer(None, golds, completion_ids=ids)
        else:
            texts = [_response(s, i) for i, s in enumerate(samples)]
            e = self.explainer(texts, golds)
        out = []
        for i, s in enumerate(samples):
            v = e.values[i]
            abstained = math.isnan(v)
            meta = getattr(s, 'metadata', None)
            if isinstance(meta, dict):
                meta['twinkle'] = e.info(i)
            if abstained and self.remove_abstained:
                s.remove_sample = True
            out.append(self.nan_value if abstained else v)
        return out

    def rm(self) -> Callable[..., Awaitable[Any]]:
        """This scorer as a plain async function, for ``--custom-rm-path``."""

        async def rm(args: Any, sample: Any, **kwargs: Any):
            return await self(args, sample, **kwargs)

        return rm


def _label(sample: Any) -> Optional[str]:
    label = getattr(sample, 'label', None)
    return None if label is None else str(label)


def _response(sample: Any, i: int) -> str:
    text = getattr(sample, 'response', None)
    if not isinstance(text, str):
        raise TypeError(f'sample {i}: response must be a str, got {type(text).__name__}')
    return text


def _response_ids(sample: Any) -> Optional[List[int]]:
    n = int(getattr(sample, 'response_length', 0) or 0)
    tokens = getattr(sample, 'tokens', None)
    if n <= 0 or tokens is None or len(tokens) < n:
        return None
    return [int(t) for t in tokens[len(tokens) - n :]]


def make_rm(reward: Any = None, **options: Any) -> Callable[..., Awaitable[Any]]:
    """A slime custom reward function scoring with ``reward``.

    Args:
        reward: a twinkle Reward or reward function; default ``MathReward()``.
        **options: :class:`SlimeScorer` options (``nan_value``, ``remove_abstained``...).

    Returns:
        ``async rm(args, sample_or_samples)``: a float for a sample, a list for a list.
    """
    return SlimeScorer(reward, **options).rm()


_DEFAULT: Dict[str, SlimeScorer] = {}


def _default() -> SlimeScorer:
    if 'scorer' not in _DEFAULT:
        _DEFAULT['scorer'] = SlimeScorer()
    return _DEFAULT['scorer']


async def rm(args: Any, sample: Any, **kwargs: Any) -> Union[float, List[float]]:
    """slime's custom reward function with ``MathReward``: ``rm(args, sample) -> float``,
    or ``rm(args, samples) -> list[float]`` (``--group-rm``)."""
    return await _default()(args, sample, **kwargs)


async def group_rm(args: Any, samples: Sequence[Any], **kwargs: Any) -> List[float]:
    """The ``--group-rm`` form by name: ``group_rm(args, samples) -> list[float]``."""
    return await _default().group(args, samples, **kwargs)
