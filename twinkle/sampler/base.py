"""The Sampler interface, and the post-processing every backend shares.

A sampler returns ``N = num_samples`` completions for each of P prompts as a
:class:`~twinkle.data_format.SampleResponse`, prompt-major (flat index ``p * N + s``), the
order :class:`twinkle.advantage.GRPOAdvantage` expects with ``num_generations=N``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

from twinkle.data_format import Completion, Message, SampleResponse, SamplingParams, Trajectory

__all__ = ['Sampler', 'normalize_batch', 'finish_completion']


def normalize_batch(batch: Any) -> Tuple[List[Trajectory], Optional[List[Any]]]:
    """(prompts, per-prompt ground truths or None) of a batch: a :class:`twinkle.data.PromptBatch`
    (or a list with ``ground_truths``), or a list of trajectories, message dicts or strings.
    """
    if isinstance(batch, (str, bytes, Mapping)) or not isinstance(batch, Sequence):
        raise TypeError(
            'batch must be a list of prompts (Trajectory, dict with messages, or str) '
            f'or a twinkle.data.PromptBatch, got {type(batch).__name__}'
        )
    prompts = []
    for i, item in enumerate(batch):
        if isinstance(item, str):
            prompts.append(Trajectory(messages=[Message(role='user', content=item)]))
        elif isinstance(item, Trajectory):
            prompts.append(item)
        elif isinstance(item, Mapping) and 'messages' in item:
            prompts.append(Trajectory(**dict(item)))
        else:
            raise TypeError(
                f'batch[{i}] must be a Trajectory, a dict with messages or a str, got {type(item).__name__}'
            )
        if not prompts[-1].messages:
            raise ValueError(f'batch[{i}] has no messages')
    gts = getattr(batch, 'ground_truths', None)
    if gts is not None and len(gts) != len(prompts):
        raise ValueError(f'batch.ground_truths has {len(gts)} entries for {len(prompts)} prompts')
    return prompts, (list(gts) if gts is not None else None)


def finish_completion(
    ids: Sequence[int], eos_ids: Sequence[int], stop: Sequence[str], decode: Callable[[List[int]], str]
) -> Completion:
    """Cuts a raw generated row where it ends (the first stop string or eos token) and says why.

    Args:
        ids: generated ids (no prompt); may run past the end (padding, later tokens).
        eos_ids: ids that end a sequence; the first one kept is the last token.
        stop: stop strings; the earliest occurrence in the decoded text ends it.
        decode: ids -> text with special tokens skipped.

    >>> dec = lambda t: ''.join('abcdefgh'[i] for i in t if i < 8)
    >>> finish_completion([0, 1, 9, 2], [9], [], dec)
    Completion(token_ids=[0, 1, 9], text='ab', stop_reason='eos', stop_string=None)
    >>> finish_completion([0, 1, 2, 3], [9], ['cd'], dec).text
    'ab'
    """
    ids = [int(t) for t in ids]
    eos = set(int(e) for e in eos_ids)
    cut = next((i for i, t in enumerate(ids) if t in eos), None)
    body = ids if cut is None else ids[:cut]
    text = decode(body)
    if stop:
        hits = [(text.find(s), s) for s in stop if s]
        hits = [(i, s) for i, s in hits if i >= 0]
        if hits:
            at, s = min(hits)
            return Completion(_ids_within(body, text[:at], decode), text[:at], 'stop', s)
    if cut is not None:
        return Completion(ids[: cut + 1], text, 'eos')
    return Completion(ids, text, 'length')


def _ids_within(ids: List[int], prefix: str, decode: Callable[[List[int]], str]) -> List[int]:
    """The longest ``ids[:k]`` whose text is a prefix of ``prefix`` (binary search over k)."""
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        t = decode(ids[:mid])
        if len(t) <= len(prefix) and prefix.startswith(t):
            lo = mid
        else:
            hi = mid - 1
    return ids[:lo]


class Sampler:
    """Base of every sampler: ``sample(batch, num_samples, sampling_params)``.

    Subclasses implement :meth:`_generate(prompts, num_samples, params)`, returning
    ``(prompt_token_ids, completions)`` with ``completions[p]`` the completions of prompt ``p``.

    >>> class Echo(Sampler):
    ...     def _generate(self, prompts, num_samples, params):
    ...         text = lambda p: p.messages[-1].content
    ...         return None, [[Completion([], text(p), 'eos')] * num_samples for p in prompts]
    >>> r = Echo().sample(['hi', 'yo'], num_samples=2)
    >>> r.texts
    ['hi', 'hi', 'yo', 'yo']
    """

    def sample(
        self,
        batch: Any,
        num_samples: int = 1,
        sampling_params: Union[SamplingParams, Mapping[str, Any], None] = None,
    ) -> SampleResponse:
        """Samples ``num_samples`` completions for every prompt of ``batch``.

        Args:
            batch: a :class:`twinkle.data.PromptBatch`, or a list of prompt
                trajectories, dicts with 'messages', or strings (one user message each).
            num_samples: N completions per prompt.
            sampling_params: a :class:`~twinkle.data_format.SamplingParams`, a dict of
                its fields, or None: the sampler's ``default_sampling_params`` (set at
                construction), else SamplingParams' defaults.

        Returns:
            A :class:`~twinkle.data_format.SampleResponse` with ``P * N`` samples,
            prompt-major; it carries the batch's ground truths when it had them.
        """
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f'num_samples must be a positive int, got {num_samples!r}')
        if sampling_params is None:
            sampling_params = getattr(self, 'default_sampling_params', None)
        params = SamplingParams.coerce(sampling_params)
        prompts, gts = normalize_batch(batch)
        if not prompts:
            return SampleResponse([], [], [], gts)
        prompt_ids, completions = self._generate(prompts, num_samples, params)
        return SampleResponse(prompts, completions, prompt_ids, gts)

    def _generate(
        self, prompts: List[Trajectory], num_samples: int, params: SamplingParams
    ) -> Tuple[Optional[List[List[int]]], List[List[Completion]]]:
        raise NotImplementedError(f'{type(self).__name__} must implement _generate')
