"""One entry point that scores samples, on token ids when the reward can.

A reward has a *tensor path* when it defines ``forward(input_ids, ...)`` (the first
parameter is named ``input_ids``) whose other required parameters are among
``lengths``, ``attention_mask``, ``gold_answers`` and ``ground_truths``, and, if it has
a ``tokenizer`` attribute, that is set (FormatReward and MathReward need one for their
token path). Such a reward gets the sampler's completion ids directly: no decoding and
no re-tokenising in between. The ids must come from the tokenizer the reward was built
with (the policy's).

Everything else is called the seed's way, ``reward(trajectories, ground_truths)``.
``CombinedReward`` is scored part by part, so each part takes its own best path.
"""
from __future__ import annotations

import functools
import inspect
import math
from array import array
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from twinkle.data_format import SampleResponse
from twinkle.reward.base import FunctionReward, as_reward, check_batch, ground_truth_text

__all__ = ['has_token_path', 'score', 'score_values', 'pad_completion_ids', 'TextScorer']

_TENSOR_ARGS = ('input_ids', 'lengths', 'attention_mask', 'gold_answers', 'ground_truths')


def _params(obj: Any, attr: str) -> Optional[Tuple[inspect.Parameter, ...]]:
    """The parameters of ``obj.<attr>`` (``self`` excluded), None if it has none.

    Inspecting a signature costs about 10 us; verl calls a reward function once per
    sample, so a method's parameters are cached per class.
    """
    if attr in getattr(obj, '__dict__', ()):  # set on the instance: not cacheable
        fn = getattr(obj, attr)
        try:
            return tuple(inspect.signature(fn).parameters.values()) if callable(fn) else None
        except (TypeError, ValueError):
            return None
    return _class_params(type(obj), attr)


@functools.lru_cache(maxsize=1024)
def _class_params(cls: type, attr: str) -> Optional[Tuple[inspect.Parameter, ...]]:
    raw = inspect.getattr_static(cls, attr, None)
    fn = getattr(cls, attr, None)
    if not callable(fn):
        return None
    try:
        params = tuple(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    # A plain function looked up on the class still has ``self``; a static or class
    # method (bound to the class already) has not.
    return params[1:] if inspect.isfunction(raw) else params


def has_token_path(reward: Any) -> bool:
    """True when ``reward`` can score token ids (see the module docstring).

    >>> class Len:
    ...     def forward(self, input_ids, lengths):
    ...         return lengths.float()
    >>> has_token_path(Len()), has_token_path(lambda t, g: [0.0] * len(t))
    (True, False)
    """
    if not callable(getattr(reward, 'forward', None)):
        return False
    if hasattr(reward, 'tokenizer') and getattr(reward, 'tokenizer') is None:
        return False
    params = _params(reward, 'forward')
    if params is None:
        return False
    named = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                             p.KEYWORD_ONLY)]
    if not named or named[0].name != 'input_ids':
        return False
    return all(p.name in _TENSOR_ARGS for p in named if p.default is p.empty)


def pad_completion_ids(completion_ids: Sequence[Sequence[int]], pad_id: int = 0,
                       device: Any = None):
    """Right-pads ragged id lists: ``(input_ids (B, L) int64, lengths (B,) int64)``.

    >>> ids, lengths = pad_completion_ids([[3, 4], [5]])
    >>> ids.tolist(), lengths.tolist()
    ([[3, 4], [5, 0]], [2, 1])
    """
    if isinstance(completion_ids, Tensor):
        raise TypeError('completion_ids must be a list of id lists; pass a padded tensor as '
                        'input_ids with lengths instead')
    lengths = torch.tensor([len(r) for r in completion_ids], dtype=torch.int64)
    width = max([1] + lengths.tolist())
    out = torch.full((len(completion_ids), width), int(pad_id), dtype=torch.int64)
    flat = [int(t) for row in completion_ids for t in row]
    out[torch.arange(width) < lengths[:, None]] = torch.tensor(flat, dtype=torch.int64)
    if device is not None:
        out, lengths = out.to(device), lengths.to(device)
    return out, lengths


def _reward_device(reward: Any, default: Any) -> torch.device:
    if isinstance(reward, torch.nn.Module):
        for t in list(reward.parameters()) + list(reward.buffers()):
            return t.device
    return torch.device(default) if default is not None else torch.device('cpu')


def _call_forward(reward: Any, input_ids: Tensor, lengths: Tensor, gts: Optional[List[Any]],
                  want_details: bool = False) -> Tuple[Tensor, Optional[list]]:
    names = {p.name for p in _params(reward, 'forward') or ()}
    kwargs = {}
    details = want_details and 'return_details' in names
    if details:
        kwargs['return_details'] = True
    if 'lengths' in names:
        kwargs['lengths'] = lengths
    if 'attention_mask' in names:
        width = input_ids.shape[1]
        kwargs['attention_mask'] = (torch.arange(width, device=input_ids.device)[None, :]
                                    < lengths[:, None]).to(torch.int64)
    if 'ground_truths' in names:
        kwargs['ground_truths'] = gts
    if 'gold_answers' in names:
        if gts is None:
            raise ValueError(f'{type(reward).__name__}.forward needs ground truths (gold_answers), '
                             'got None')
        keys = getattr(reward, 'keys', None)
        kwargs['gold_answers'] = [g if isinstance(g, str) or g is None
                                  else (ground_truth_text(g, keys) if keys else ground_truth_text(g))
                                  for g in gts]
    out = reward.forward(input_ids, **kwargs)
    verdicts = None
    if details:
        out, verdicts = out
    return torch.as_tensor(out, dtype=torch.float32), verdicts


def score(reward: Any, trajectories: Any = None, ground_truths: Optional[Sequence[Any]] = None,
          *, completion_ids: Optional[Sequence[Sequence[int]]] = None,
          input_ids: Optional[Tensor] = None, lengths: Optional[Tensor] = None,
          pad_id: int = 0, device: Any = None, token_path: Optional[bool] = None,
          details: Optional[Dict[str, list]] = None) -> Tensor:
    """Rewards for a batch, on token ids when ``reward`` has a tensor path.

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
        token_path: force (True) or forbid (False) the tensor path; None: use it when
            the reward has one and ids are given.
        details: a dict to fill, from the same call, with the per-sample verdicts of each
            reward (or ``CombinedReward`` part) that gives them (``return_details=True``,
            as MathReward does), keyed by the reward's name. Rewards without verdicts
            add nothing.

    Returns:
        ``rewards (B,)`` float32 (on the reward's device for the tensor path, else CPU);
        NaN where a reward abstained.

    >>> class Len(torch.nn.Module):
    ...     def forward(self, input_ids, lengths):
    ...         return lengths.float()
    >>> score(Len(), [{'messages': []}] * 2, completion_ids=[[1, 2, 3], [4]]).tolist()
    [3.0, 1.0]
    """
    out = score_values(reward, trajectories, ground_truths, completion_ids=completion_ids,
                       input_ids=input_ids, lengths=lengths, pad_id=pad_id, device=device,
                       token_path=token_path, details=details)
    return out if isinstance(out, Tensor) else torch.tensor(out, dtype=torch.float32)


def score_values(reward: Any, trajectories: Any = None,
                 ground_truths: Optional[Sequence[Any]] = None, *,
                 completion_ids: Optional[Sequence[Sequence[int]]] = None,
                 input_ids: Optional[Tensor] = None, lengths: Optional[Tensor] = None,
                 pad_id: int = 0, device: Any = None, token_path: Optional[bool] = None,
                 details: Optional[Dict[str, list]] = None) -> Union[Tensor, List[float]]:
    """:func:`score`, without building a tensor where none is needed.

    A reward scored on strings that returns a list gives its values as a list of Python
    floats, rounded to float32 as :func:`score`'s tensor holds them; the token path and
    ``CombinedReward`` give the tensor. Trainers that call once per sample want floats,
    and a one-element tensor costs more than a short sample's math check.

    >>> score_values(lambda t, g: [0.1] * len(t), ['a'])
    [0.10000000149011612]
    """
    kwargs = dict(completion_ids=completion_ids, input_ids=input_ids, lengths=lengths,
                  pad_id=pad_id, device=device, token_path=token_path, details=details)
    reward, trajectories, ground_truths, kwargs = _unpack_response(
        reward, trajectories, ground_truths, kwargs)
    parts = getattr(reward, 'parts', None)
    if parts is not None and hasattr(reward, 'weights') and hasattr(reward, 'nan_policy'):
        return _score_combined(reward, trajectories, ground_truths, **kwargs)
    details = kwargs['details']
    if _uses_tokens(reward, kwargs):
        out, verdicts, b = _score_tokens(reward, ground_truths, **kwargs)
        if out.shape != (b,):
            raise ValueError(f'{type(reward).__name__} returned shape {tuple(out.shape)} '
                             f'for {b} samples')
    else:
        out, verdicts = TextScorer(reward)(trajectories, ground_truths, details is not None)
    if verdicts is not None:
        details[_reward_name(reward)] = list(verdicts)
    return out


def _unpack_response(reward, trajectories, ground_truths, kwargs):
    """A SampleResponse's trajectories, ids and ground truths; a FunctionReward wrapping
    a tensor-path module as that module."""
    if isinstance(trajectories, SampleResponse):
        response = trajectories
        trajectories = response.trajectories
        if kwargs.get('completion_ids') is None and kwargs.get('input_ids') is None:
            kwargs['completion_ids'] = response.token_ids
        if ground_truths is None:
            ground_truths = response.ground_truths
    if isinstance(reward, FunctionReward) and has_token_path(reward.fn):
        reward = reward.fn
    return reward, trajectories, ground_truths, kwargs


def _uses_tokens(reward: Any, kwargs: Dict[str, Any]) -> bool:
    token_path = kwargs.get('token_path')
    have_ids = kwargs.get('completion_ids') is not None or kwargs.get('input_ids') is not None
    if token_path is None:
        return have_ids and has_token_path(reward)
    if token_path:
        if not has_token_path(reward):
            raise ValueError(f'token_path=True but {type(reward).__name__} has no tensor path '
                             '(forward(input_ids, ...) with its tokenizer set)')
        if not have_ids:
            raise ValueError('token_path=True needs completion_ids (or input_ids and lengths)')
    return bool(token_path)


def _score_tokens(reward, ground_truths, *, completion_ids=None, input_ids=None, lengths=None,
                  pad_id=0, device=None, details=None, **_):
    dev = _reward_device(reward, device)
    if input_ids is None:
        input_ids, lengths = pad_completion_ids(completion_ids, pad_id, dev)
    elif lengths is None:
        raise ValueError('input_ids needs lengths (B,) alongside')
    else:
        input_ids, lengths = input_ids.to(dev), torch.as_tensor(lengths).to(dev)
    b = input_ids.shape[0]
    gts = check_batch(range(b), ground_truths, type(reward).__name__, False)
    out, verdicts = _call_forward(reward, input_ids, lengths, gts, details is not None)
    return out, verdicts, b


class TextScorer:
    """The string path of :func:`score` for one reward, its per-reward decisions (the
    Reward wrapper, whether it gives verdicts, its name) made once.

    Trainers that call once per sample (verl, OpenRLHF) keep one: those decisions cost
    several microseconds, a fair share of a short sample's math check.

    Args:
        reward: a twinkle Reward or reward function (not a ``CombinedReward``: its
            parts each take their own path through :func:`score`).

    >>> TextScorer(lambda t, g: [float(len(x)) for x in t])(['ab', 'c'], None)
    ([2.0, 1.0], None)
    """

    __slots__ = ('reward', 'fn', 'gives_verdicts', 'name')

    def __init__(self, reward: Any):
        self.reward = reward
        self.fn = as_reward(reward)
        self.gives_verdicts = _takes(self.fn, 'return_details')
        self.name = _reward_name(reward) if self.gives_verdicts else ''

    def __call__(self, trajectories: Sequence[Any], ground_truths: Optional[Sequence[Any]],
                 want_verdicts: bool = False) -> Tuple[Union[Tensor, List[float]], Optional[list]]:
        """``(values, verdicts)``: B floats rounded to float32 (a ``(B,)`` float32 tensor
        when the reward returns one), and the B verdicts when asked for and given (else
        None)."""
        if trajectories is None:
            raise ValueError(f'{type(self.reward).__name__} has no tensor path: trajectories '
                             'are required')
        verdicts = None
        if want_verdicts and self.gives_verdicts:
            values, verdicts = self.fn(trajectories, ground_truths, return_details=True)
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
            raise ValueError(f'{type(self.reward).__name__} returned shape {shape} for {b} '
                             'samples')
        return out, verdicts


def _float32_list(values: Sequence[Any]) -> List[float]:
    """``values`` as Python floats rounded to float32 (what a float32 tensor holds): the
    same as ``torch.tensor([float(v) for v in values], dtype=torch.float32).tolist()``,
    at a fraction of the cost for a few values."""
    return array('f', [float(v) for v in values]).tolist()


def _takes(fn: Any, name: str) -> bool:
    """True when ``fn`` (a function, or an object through its ``__call__``) has a
    parameter ``name``. Cached per function and per class: verl asks once per sample."""
    if inspect.ismethod(fn):
        fn = fn.__func__
    if inspect.isfunction(fn):
        return name in _function_params(fn)
    if '__call__' in getattr(fn, '__dict__', ()):  # set on the instance: not cacheable
        params = _params(fn, '__call__')
        return params is not None and any(p.name == name for p in params)
    return name in _class_param_names(type(fn), '__call__')


@functools.lru_cache(maxsize=1024)
def _class_param_names(cls: type, attr: str) -> frozenset:
    return frozenset(p.name for p in _class_params(cls, attr) or ())


@functools.lru_cache(maxsize=1024)
def _function_params(fn: Any) -> frozenset:
    """A function's parameter names (cached: a signature costs about 10 us)."""
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _reward_name(reward: Any) -> str:
    if hasattr(reward, 'reward_name'):
        return str(reward.reward_name())
    return str(getattr(reward, 'name', None) or getattr(reward, '__name__', type(reward).__name__))


def _score_combined(reward, trajectories, ground_truths, *, token_path=None, details=None,
                    **kwargs) -> Tensor:
    parts = {}
    total = None
    for name, part, w in zip(reward.names, reward.parts, reward.weights):
        use = None if token_path is None else (token_path and has_token_path(part))
        sub = {} if details is not None else None
        vals = score(part, trajectories, ground_truths, token_path=use, details=sub,
                     **kwargs).cpu()
        for verdicts in (sub or {}).values():  # a part's verdicts go under its name here
            details[name] = verdicts
        parts[name] = vals.tolist()
        if reward.nan_policy == 'zero':
            vals = torch.nan_to_num(vals, nan=0.0)
        total = w * vals if total is None else total + w * vals
    if hasattr(reward, 'last_parts'):
        reward.last_parts = parts
    return total.to(torch.float32)


def nan_to_none(values: Sequence[float]) -> List[Optional[float]]:
    """NaN (abstain) as None, TRL's convention for "no reward".

    >>> nan_to_none([1.0, float('nan')])
    [1.0, None]
    """
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]
