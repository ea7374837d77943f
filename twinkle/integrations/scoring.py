"""One entry point that scores samples, on token ids when the reward reads them itself.

A reward uses the token path when it implements its own
:meth:`~twinkle.reward.Reward.score_ids` and has a tokenizer: it gets the sampler's
completion ids directly, with no decoding or re-tokenising (the ids must come from the
tokenizer it was built with). Everything else is called as
``reward(trajectories, ground_truths)`` (given ids only, the default ``score_ids``
decodes). ``CombinedReward`` is scored part by part, each part on its own best path (its
format parts that scan together in one scan, with the scores each would get alone).
"""

from __future__ import annotations

import inspect
import math
from array import array
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from twinkle.data_format import SampleResponse, pad_ids
from twinkle.reward.base import FunctionReward, Reward, as_reward, check_batch

__all__ = ['uses_token_path', 'score', 'score_values', 'pad_completion_ids', 'TextScorer']


def uses_token_path(reward: Any) -> bool:
    """True when ``reward`` reads token ids itself: it overrides ``Reward.score_ids`` and has a tokenizer.

    >>> from twinkle.reward import FormatReward, FunctionReward
    >>> uses_token_path(FormatReward()), uses_token_path(FunctionReward(lambda t, g: [0.0] * len(t)))
    (False, False)
    """
    return (
        isinstance(reward, Reward)
        and type(reward).score_ids is not Reward.score_ids
        and getattr(reward, 'tokenizer', None) is not None
    )


def pad_completion_ids(completion_ids: Sequence[Sequence[int]], pad_id: int = 0, device: Any = None):
    """Right-pads ragged id lists: ``(input_ids (B, L) int64, lengths (B,) int64)``
    (:func:`twinkle.data_format.pad_ids`, refusing a tensor that is already padded).

    >>> ids, lengths = pad_completion_ids([[3, 4], [5]])
    >>> ids.tolist(), lengths.tolist()
    ([[3, 4], [5, 0]], [2, 1])
    """
    if isinstance(completion_ids, Tensor):
        raise TypeError(
            'completion_ids must be a list of id lists; pass a padded tensor as '
            'input_ids with lengths instead'
        )
    return pad_ids(completion_ids, pad_id, device)


def _reward_device(reward: Any, default: Any) -> torch.device:
    if isinstance(reward, torch.nn.Module):
        for t in list(reward.parameters()) + list(reward.buffers()):
            return t.device
    return torch.device(default) if default is not None else torch.device('cpu')


def _score_ids(
    reward: Any, input_ids: Tensor, lengths: Tensor, gts: Optional[List[Any]], want_details: bool = False
) -> Tuple[Tensor, Optional[list]]:
    """``reward.score_ids`` (or ``explain_ids``, when verdicts are asked for and given)."""
    explain_ids = getattr(reward, 'explain_ids', None) if want_details else None
    if explain_ids is not None:
        verdicts = explain_ids(input_ids, lengths, gts)
        return torch.tensor(
            [v.reward for v in verdicts], dtype=torch.float32, device=input_ids.device
        ), verdicts
    out = reward.score_ids(input_ids, lengths, gts)
    return torch.as_tensor(out, dtype=torch.float32), None


def score(
    reward: Any,
    trajectories: Any = None,
    ground_truths: Optional[Sequence[Any]] = None,
    *,
    completion_ids: Optional[Sequence[Sequence[int]]] = None,
    input_ids: Optional[Tensor] = None,
    lengths: Optional[Tensor] = None,
    pad_id: int = 0,
    device: Any = None,
    token_path: Optional[bool] = None,
    details: Optional[Dict[str, list]] = None,
) -> Tensor:
    """Rewards for a batch, on token ids when ``reward`` uses the token path.

    Args:
        reward: a twinkle Reward, a ``CombinedReward``, or a function
            ``(trajectories, ground_truths) -> list[float]``.
        trajectories: B trajectories, or a :class:`~twinkle.data_format.SampleResponse`
            (then its trajectories, completion ids and, if ``ground_truths`` is None, its
            per-sample ground truths are used).
        ground_truths: B ground truths, one per prompt (repeated over each prompt's
            consecutive samples, see :func:`twinkle.reward.check_batch`), or None.
        completion_ids: B lists of completion token ids (a sampler's or TRL's).
        input_ids, lengths: the same ids already padded, (B, L) and (B,) integer.
        pad_id: padding id used when padding ``completion_ids``.
        device: where a reward that is not a module gets its tensors (default CPU).
        token_path: force (True) or forbid (False) the token path; None: use it when the
            reward uses it (see :func:`uses_token_path`) and ids are given.
        details: a dict to fill with the per-sample verdicts of each reward (or
            ``CombinedReward`` part) that gives them (``explain``/``explain_ids``, as
            MathReward has), keyed by the reward's name.

    Returns:
        ``rewards (B,)`` float32 (on the ids' device for the token path, else CPU); NaN
        where a reward abstained.

    >>> from twinkle.reward import Reward
    >>> class Len(Reward):
    ...     tokenizer = 'ids only'
    ...     def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
    ...         return lengths.float()
    >>> score(Len(), [{'messages': []}] * 2, completion_ids=[[1, 2, 3], [4]]).tolist()
    [3.0, 1.0]
    """
    options = dict(
        completion_ids=completion_ids,
        input_ids=input_ids,
        lengths=lengths,
        pad_id=pad_id,
        device=device,
        token_path=token_path,
        details=details,
    )
    out = _score_values(reward, trajectories, ground_truths, options)
    return out if isinstance(out, Tensor) else torch.tensor(out, dtype=torch.float32)


#: :func:`score`'s keyword-only options and their defaults, read from its signature.
_OPTIONS: Dict[str, Any] = {
    p.name: p.default for p in inspect.signature(score).parameters.values() if p.kind is p.KEYWORD_ONLY
}


def score_values(
    reward: Any, trajectories: Any = None, ground_truths: Optional[Sequence[Any]] = None, **options: Any
) -> Union[Tensor, List[float]]:
    """:func:`score` (the same arguments), without building a tensor where none is needed.

    A reward scored on strings that returns a list gives Python floats rounded to float32
    (what :func:`score`'s tensor holds); the token path and ``CombinedReward`` give the
    tensor. Trainers that call once per sample want floats: a tensor costs more.

    >>> score_values(lambda t, g: [0.1] * len(t), ['a'])
    [0.10000000149011612]
    """
    unknown = options.keys() - _OPTIONS.keys()
    if unknown:
        raise TypeError(f'score_values() got unexpected keyword arguments {sorted(unknown)}')
    return _score_values(reward, trajectories, ground_truths, {**_OPTIONS, **options})


def _score_values(
    reward: Any, trajectories: Any, ground_truths: Optional[Sequence[Any]], kwargs: Dict[str, Any]
) -> Union[Tensor, List[float]]:
    """:func:`score_values` on a complete dict of :func:`score`'s options."""
    reward, trajectories, ground_truths, kwargs = _unpack_response(
        reward, trajectories, ground_truths, kwargs
    )
    parts = getattr(reward, 'parts', None)
    if parts is not None and hasattr(reward, 'weights') and hasattr(reward, 'nan_policy'):
        return _score_combined(reward, trajectories, ground_truths, **kwargs)
    details = kwargs['details']
    if _uses_tokens(reward, kwargs):
        out, verdicts, b = _score_tokens(reward, ground_truths, **kwargs)
        if out.shape != (b,):
            raise ValueError(f'{type(reward).__name__} returned shape {tuple(out.shape)} for {b} samples')
    else:
        out, verdicts = TextScorer(reward)(trajectories, ground_truths, details is not None)
    if verdicts is not None:
        details[_reward_name(reward)] = list(verdicts)
    return out


def _unpack_response(reward, trajectories, ground_truths, kwargs):
    """Unpacks a SampleResponse, and unwraps a FunctionReward around a Reward."""
    if isinstance(trajectories, SampleResponse):
        response = trajectories
        trajectories = response.trajectories
        if kwargs.get('completion_ids') is None and kwargs.get('input_ids') is None:
            kwargs['completion_ids'] = response.token_ids
        if ground_truths is None:
            ground_truths = response.ground_truths
    if isinstance(reward, FunctionReward) and isinstance(reward.fn, Reward):
        reward = reward.fn
    return reward, trajectories, ground_truths, kwargs


def _uses_tokens(reward: Any, kwargs: Dict[str, Any]) -> bool:
    token_path = kwargs.get('token_path')
    have_ids = kwargs.get('completion_ids') is not None or kwargs.get('input_ids') is not None
    if token_path is None:
        return have_ids and uses_token_path(reward)
    if token_path:
        if not isinstance(reward, Reward) or getattr(reward, 'tokenizer', None) is None:
            raise ValueError(
                f'token_path=True but {type(reward).__name__} has no tokenizer to read '
                'ids with (build it with tokenizer=)'
            )
        if not have_ids:
            raise ValueError('token_path=True needs completion_ids (or input_ids and lengths)')
    return bool(token_path)


def _padded_ids(reward, completion_ids, input_ids, lengths, pad_id, device) -> Tuple[Tensor, Tensor]:
    """``(input_ids, lengths)`` on the reward's device: ``completion_ids`` padded, or the
    given padded ids with their lengths."""
    dev = _reward_device(reward, device)
    if input_ids is None:
        return pad_completion_ids(completion_ids, pad_id, dev)
    if lengths is None:
        raise ValueError('input_ids needs lengths (B,) alongside')
    return input_ids.to(dev), torch.as_tensor(lengths).to(dev)


def _score_tokens(
    reward,
    ground_truths,
    *,
    completion_ids=None,
    input_ids=None,
    lengths=None,
    pad_id=0,
    device=None,
    details=None,
    **_,
):
    input_ids, lengths = _padded_ids(reward, completion_ids, input_ids, lengths, pad_id, device)
    b = input_ids.shape[0]
    gts = check_batch(range(b), ground_truths, type(reward).__name__, False)
    out, verdicts = _score_ids(reward, input_ids, lengths, gts, details is not None)
    return out, verdicts, b


class TextScorer:
    """The string path of :func:`score` for one reward, its per-reward decisions made once.

    Trainers that call once per sample (verl, OpenRLHF) keep one.

    Args:
        reward: a twinkle Reward or reward function (not a ``CombinedReward``, whose
            parts take their own paths).

    >>> TextScorer(lambda t, g: [float(len(x)) for x in t])(['ab', 'c'], None)
    ([2.0, 1.0], None)
    """

    __slots__ = ('reward', 'fn', 'gives_verdicts', 'name')

    def __init__(self, reward: Any):
        self.reward = reward
        self.fn = as_reward(reward)
        self.gives_verdicts = callable(getattr(self.fn, 'explain', None))
        self.name = _reward_name(reward) if self.gives_verdicts else ''

    def __call__(
        self, trajectories: Sequence[Any], ground_truths: Optional[Sequence[Any]], want_verdicts: bool = False
    ) -> Tuple[Union[Tensor, List[float]], Optional[list]]:
        """``(values, verdicts)``: B floats rounded to float32 (a ``(B,)`` float32 tensor when
        the reward returns one), and the B verdicts when asked for and given, else None."""
        if trajectories is None:
            raise ValueError(
                f'{type(self.reward).__name__}: trajectories are required (no token '
                'ids were given, or the reward does not read them)'
            )
        verdicts = None
        if want_verdicts and self.gives_verdicts:
            verdicts = self.fn.explain(trajectories, ground_truths)
            values = [v.reward for v in verdicts]
        else:
            values = self.fn(trajectories, ground_truths)
        b = len(trajectories)
        if isinstance(values, Tensor):
            out = values.to(torch.float32)
            shape = tuple(out.shape)
        else:
            out = _float32_list(values)
            shape = (len(out),)
        if shape != (b,):
            raise ValueError(f'{type(self.reward).__name__} returned shape {shape} for {b} samples')
        return out, verdicts


def _float32_list(values: Sequence[Any]) -> List[float]:
    """``values`` as Python floats rounded to float32, as a float32 tensor's ``tolist()`` gives."""
    # array('f') rounds as the tensor does, at a fraction of its cost for a few values.
    return array('f', [float(v) for v in values]).tolist()


def _reward_name(reward: Any) -> str:
    if hasattr(reward, 'reward_name'):
        return str(reward.reward_name())
    return str(getattr(reward, 'name', None) or getattr(reward, '__name__', type(reward).__name__))


def _score_combined(
    reward, trajectories, ground_truths, *, token_path=None, details=None, **kwargs
) -> Tensor:
    """Each part scored on its own best path, combined by the reward's own ``combine``; the
    format parts the reward scans together (its ``fused_scans``) in one scan per group."""
    from twinkle.reward.combined import _part_values

    def use_of(part) -> Optional[bool]:
        return None if token_path is None else (token_path and uses_token_path(part))

    def own(i, name, part) -> Tensor:
        sub = {} if details is not None else None
        got = score(part, trajectories, ground_truths, token_path=use_of(part), details=sub, **kwargs).cpu()
        for verdicts in (sub or {}).values():  # a part's verdicts go under its name here
            details[name] = verdicts
        return got

    values = _part_values(
        reward,
        lambda g, i: _score_fused(
            reward.fused_scans[g], trajectories, ground_truths, use_of(reward.parts[i]), kwargs
        ),
        own,
    )
    n = len(next(iter(values.values())))
    return reward.combine(values, n).to(torch.float32)


def _score_fused(scan, trajectories, ground_truths, token_path, kwargs) -> Optional[List[Tensor]]:
    """Per format part of one fused scan, what :func:`score` gives that part alone: float32 on
    the CPU, read from token ids where the part would read them, else from the texts (None
    without texts: each part then says what is missing)."""
    opts = {**kwargs, 'token_path': token_path}
    if _uses_tokens(scan, opts):
        input_ids, lengths = _padded_ids(
            scan,
            kwargs['completion_ids'],
            kwargs['input_ids'],
            kwargs['lengths'],
            kwargs['pad_id'],
            kwargs['device'],
        )
        check_batch(range(input_ids.shape[0]), ground_truths, scan.reward_name(), False)
        return [v.to(torch.float32).cpu() for v in scan.part_scores_ids(input_ids, lengths)]
    if trajectories is None:
        return None
    # float64 to float32 as the parts' own lists are rounded (_float32_list)
    return [
        torch.from_numpy(v.astype(np.float32))
        for v, _ in scan.part_values(trajectories, ground_truths, lists=False)
    ]


def nan_to_none(values: Sequence[float]) -> List[Optional[float]]:
    """NaN (abstain) as None, TRL's convention for "no reward".

    >>> nan_to_none([1.0, float('nan')])
    [1.0, None]
    """
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]
