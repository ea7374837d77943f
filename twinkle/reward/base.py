"""The Reward interface and the helpers every reward shares.

A reward maps ``(trajectories, ground_truths)`` to one float per trajectory. A reward
that cannot decide a sample (the answer cannot be parsed, a checker timed out, the
ground truth is missing) may *abstain* by returning ``float('nan')`` for it: the
advantage functions leave NaN rewards out of every group statistic and give those
samples advantage 0, so an undecidable sample neither helps nor hurts the policy.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from twinkle.data_format import get_user_data

__all__ = [
    'Reward', 'FunctionReward', 'CombinedReward', 'as_reward', 'last_completion', 'last_prompt',
    'ground_truth_text', 'content_text', 'check_batch', 'check_token_inputs',
]

GROUND_TRUTH_KEYS = ('solution', 'ground_truth')


class Reward:
    """Base class of every reward.

    Subclasses implement ``__call__(trajectories, ground_truths) -> list[float]``.
    ``ground_truths`` has one entry per trajectory (or is None for rewards that need
    none, such as format checks).

    >>> class Length(Reward):
    ...     def __call__(self, trajectories, ground_truths=None):
    ...         return [float(len(last_completion(t))) for t in trajectories]
    >>> Length()([{'messages': [{'role': 'assistant', 'content': 'abc'}]}], None)
    [3.0]
    """

    #: A short name used in logs and by CombinedReward.
    name: Optional[str] = None

    def __call__(self, trajectories: List[Any], ground_truths: Optional[List[Any]] = None
                 ) -> List[float]:
        raise NotImplementedError(f'{type(self).__name__} must implement __call__')

    def reward_name(self) -> str:
        return self.name or type(self).__name__


class FunctionReward(Reward):
    """Wraps a plain function ``fn(trajectories, ground_truths) -> list[float]``."""

    def __init__(self, fn: Callable[..., Sequence[float]], name: Optional[str] = None):
        if not callable(fn):
            raise TypeError(f'reward must be callable, got {type(fn).__name__}')
        self.fn = fn
        self.name = name or getattr(fn, '__name__', None) or type(fn).__name__

    def __call__(self, trajectories, ground_truths=None):
        # per-prompt ground truths are repeated here, so the function can zip them
        ground_truths = check_batch(trajectories, ground_truths, self.reward_name(), False)
        out = self.fn(trajectories, ground_truths)
        return _as_float_list(out, len(trajectories), self.reward_name())


def as_reward(obj: Union[Reward, Callable[..., Sequence[float]]]) -> Reward:
    """Returns ``obj`` if it is a Reward, else wraps a plain function as one."""
    if isinstance(obj, Reward):
        return obj
    if callable(obj):
        try:
            inspect.signature(obj).bind(None, None)
        except TypeError:
            raise TypeError(
                f'reward function {getattr(obj, "__name__", obj)!r} must accept '
                '(trajectories, ground_truths)') from None
        except ValueError:  # builtins without a signature: trust them
            pass
        return FunctionReward(obj)
    raise TypeError(f'reward must be a Reward or a callable, got {type(obj).__name__}')


def _as_float_list(values: Any, n: int, who: str) -> List[float]:
    if hasattr(values, 'tolist'):
        values = values.tolist()
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError) as e:
        raise TypeError(f'reward {who!r} must return a list of numbers: {e}') from None
    if len(out) != n:
        raise ValueError(f'reward {who!r} returned {len(out)} values for {n} trajectories')
    return out


class CombinedReward(Reward):
    """A weighted sum of rewards that keeps every part for logging.

    Args:
        rewards: ``{reward: weight}`` (a dict keyed by Reward objects or functions), or
            a list of ``(reward, weight)`` pairs.
        nan_policy: 'propagate' (default): if any part abstains (NaN) for a sample the
            sum abstains too; 'zero': an abstaining part counts as 0.

    After a call, ``last_parts`` maps each part's name to its list of rewards.

    >>> fmt = lambda t, g: [1.0 for _ in t]
    >>> acc = lambda t, g: [0.0 for _ in t]
    >>> c = CombinedReward({fmt: 0.5, acc: 1.0})
    >>> c([{'messages': []}], [None])
    [0.5]
    """

    def __init__(self, rewards: Union[Mapping[Any, float], Sequence[Any]],
                 nan_policy: str = 'propagate', name: Optional[str] = None):
        items = list(rewards.items()) if isinstance(rewards, Mapping) else list(rewards)
        if not items:
            raise ValueError('CombinedReward.rewards is empty')
        if nan_policy not in ('propagate', 'zero'):
            raise ValueError(f"CombinedReward.nan_policy must be 'propagate' or 'zero', got {nan_policy!r}")
        self.parts: List[Reward] = []
        self.weights: List[float] = []
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ValueError(f'CombinedReward.rewards[{i}] must be a (reward, weight) pair')
            r, w = item
            w = float(w)
            if not math.isfinite(w):
                raise ValueError(f'CombinedReward weight for part {i} must be finite, got {w}')
            self.parts.append(as_reward(r))
            self.weights.append(w)
        self.names = _unique_names([p.reward_name() for p in self.parts])
        self.nan_policy = nan_policy
        self.name = name
        self.last_parts: Dict[str, List[float]] = {}

    def score_parts(self, trajectories, ground_truths=None) -> Dict[str, List[float]]:
        """Each part's rewards, by part name, without weighting."""
        n = len(trajectories)
        ground_truths = check_batch(trajectories, ground_truths, self.reward_name(), False)
        return {name: _as_float_list(p(trajectories, ground_truths), n, name)
                for name, p in zip(self.names, self.parts)}

    def __call__(self, trajectories, ground_truths=None):
        parts = self.score_parts(trajectories, ground_truths)
        self.last_parts = parts
        total = [0.0] * len(trajectories)
        for (name, vals), w in zip(parts.items(), self.weights):
            for i, v in enumerate(vals):
                if math.isnan(v) and self.nan_policy == 'zero':
                    continue
                total[i] += w * v
        return total


def _unique_names(names: List[str]) -> List[str]:
    seen: Dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f'{n}_{k}')
    return out


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def content_text(content: Any) -> Optional[str]:
    """A message content as text: a string, or the text parts of a list joined.

    Returns None when the content is neither (a reward should then abstain or score 0).
    """
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get('type', 'text') == 'text':
                t = part.get('text')
                if isinstance(t, str):
                    texts.append(t)
        return ''.join(texts)
    return None


def last_completion(traj: Any) -> Optional[str]:
    """The text of the last assistant message, '' when there is none.

    Returns None when that message's content is not text (e.g. None or a number).
    A bare string is taken as the completion itself.
    """
    if isinstance(traj, str):
        return traj
    messages = _get(traj, 'messages', None) or []
    for m in reversed(list(messages)):
        if _get(m, 'role') == 'assistant':
            return content_text(_get(m, 'content', ''))
    return ''


def last_prompt(traj: Any) -> Optional[str]:
    """The text of the last user message (the question the completion answers), or None
    when there is none (a bare string has none).

    >>> last_prompt({'messages': [{'role': 'user', 'content': 'How many?'},
    ...                           {'role': 'assistant', 'content': 'Three.'}]})
    'How many?'
    """
    if isinstance(traj, str):
        return None
    for m in reversed(list(_get(traj, 'messages', None) or [])):
        if _get(m, 'role') == 'user':
            return content_text(_get(m, 'content', ''))
    return None


def ground_truth_text(gt: Any, keys: Sequence[str] = GROUND_TRUTH_KEYS) -> Optional[str]:
    """The reference answer held by a ground-truth trajectory.

    Looks in ``user_data`` for each of ``keys`` in turn (default 'solution', then
    'ground_truth'), else takes the last message's content. A bare string or number
    is its own ground truth. Returns None when nothing usable is found.
    """
    if gt is None:
        return None
    if isinstance(gt, str):
        return gt
    if isinstance(gt, (int, float)) and not isinstance(gt, bool):
        return repr(gt) if isinstance(gt, float) else str(gt)
    for key in keys:
        v = get_user_data(gt, key)
        if v is not None:
            return v if isinstance(v, str) else str(v)
    messages = _get(gt, 'messages', None) or []
    if messages:
        return content_text(_get(messages[-1], 'content', ''))
    return None


def check_batch(trajectories: Any, ground_truths: Any, who: str, need_ground_truths: bool
                ) -> Optional[List[Any]]:
    """Validates a reward call and returns one ground truth per trajectory.

    ``ground_truths`` may hold one entry per trajectory, or one per prompt when the
    trajectories are grouped (the ``k`` samples of a prompt consecutive, as samplers
    return them): with B trajectories and P ground truths, P dividing B, ground truth
    ``p`` serves trajectories ``p*k .. p*k+k-1`` where ``k = B // P``.
    """
    if isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, '__len__'):
        raise TypeError(f'{who}: trajectories must be a list, got {type(trajectories).__name__}')
    if ground_truths is None:
        if need_ground_truths:
            raise ValueError(f'{who}: ground_truths is required (one per trajectory or per prompt), '
                             'got None')
        return None
    if isinstance(ground_truths, (str, bytes)) or not hasattr(ground_truths, '__len__'):
        raise TypeError(f'{who}: ground_truths must be a list, got {type(ground_truths).__name__}')
    b, p = len(trajectories), len(ground_truths)
    if p == b:
        return list(ground_truths)
    if p == 0 or b % p != 0:
        raise ValueError(f'{who}: ground_truths has {p} entries for {b} trajectories; expected one '
                         'per trajectory, or one per prompt with the same number of samples each')
    k = b // p
    return [g for g in ground_truths for _ in range(k)]


def _is_integer_dtype(t: Any) -> bool:
    import torch
    return not (t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool)


def check_token_inputs(input_ids: Any, attention_mask: Any, lengths: Any, who: str,
                       values: bool = True) -> None:
    """Validates a token-path call: ``input_ids (B, L)``, ``attention_mask (B, L)``, ``lengths (B,)``.

    Shapes and dtypes are checked on every call (no device sync). With ``values`` (and
    never under ``torch.compile``), ``0 <= lengths <= L`` is checked too, at the cost of
    one host sync; otherwise the scan clamps lengths to ``[0, L]``.

    Raises:
        TypeError: a non-tensor, or ids or lengths that are not integers.
        ValueError: a shape other than the above, or a length outside ``[0, L]``.

    >>> import torch
    >>> check_token_inputs(torch.zeros(2, 3, dtype=torch.long), None, torch.tensor([3, 0]), 'R')
    >>> check_token_inputs(torch.zeros(2, 3, dtype=torch.long), torch.ones(3), None, 'R')
    Traceback (most recent call last):
    ...
    ValueError: R: attention_mask must have the shape of input_ids (B, L) = (2, 3), got (3,)
    """
    import torch
    for name, t in (('input_ids', input_ids), ('attention_mask', attention_mask), ('lengths', lengths)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f'{who}: {name} must be a torch.Tensor, got {type(t).__name__}')
    if input_ids.dim() != 2:
        raise ValueError(f'{who}: input_ids must be (B, L), got shape {tuple(input_ids.shape)}')
    if not _is_integer_dtype(input_ids):
        raise TypeError(f'{who}: input_ids must hold integer token ids, got dtype {input_ids.dtype}')
    b, l = input_ids.shape
    if attention_mask is not None and tuple(attention_mask.shape) != (b, l):
        raise ValueError(f'{who}: attention_mask must have the shape of input_ids (B, L) = ({b}, {l}), got '
                         f'{tuple(attention_mask.shape)}')
    if lengths is None:
        return
    if not _is_integer_dtype(lengths):
        raise TypeError(f'{who}: lengths must be an integer tensor (B,) of valid ids per row, got dtype '
                        f'{lengths.dtype}')
    if tuple(lengths.shape) != (b,):
        raise ValueError(f'{who}: lengths must be (B,) = ({b},) like input_ids, got shape '
                         f'{tuple(lengths.shape)}')
    if values and b and not torch.compiler.is_compiling():
        low, high = (int(v) for v in torch.aminmax(lengths))  # one op, one sync
        if low < 0 or high > l:
            raise ValueError(lengths_range_message(who, l, low, high))


def lengths_range_message(who: str, width: int, low: int, high: int) -> str:
    """The error for lengths outside ``[0, L]``, one wording for every token path."""
    return f'{who}: lengths must lie in [0, L] = [0, {width}], got values from {low} to {high}'
