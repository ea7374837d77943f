"""The Reward interface and the helpers every reward shares.

A reward maps ``(trajectories, ground_truths)`` to one float per trajectory, and *abstains*
on a sample it cannot decide (unparsable answer, checker timeout, missing ground truth) by
returning NaN: the advantages leave NaN out of every group statistic and give it advantage 0.

The token path is one declared method, ``score_ids(input_ids, lengths=None,
ground_truths=None, *, attention_mask=None) -> (B,) float32``: by default it decodes with the
reward's tokenizer; the built-in rewards read the ids directly (:mod:`twinkle.reward.module`).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from twinkle import _ext
from twinkle.data_format import get_user_data

__all__ = [
    'Reward',
    'FunctionReward',
    'TokenizerRequired',
    'as_reward',
    'last_completion',
    'last_prompt',
    'ground_truth_text',
    'content_text',
    'check_batch',
    'check_token_inputs',
    'completion_ids',
]

GROUND_TRUTH_KEYS = ('solution', 'ground_truth')


class TokenizerRequired(ValueError):
    """A token-path call on a reward that has no tokenizer to read the ids with."""


def require_tokenizer(reward: Any, what: str) -> Any:
    """``reward.tokenizer``, or :class:`TokenizerRequired` naming the reward and the call."""
    tok = getattr(reward, 'tokenizer', None)
    if tok is None:
        who = reward.reward_name() if hasattr(reward, 'reward_name') else type(reward).__name__
        raise TokenizerRequired(
            f'{who}: {what} needs a tokenizer; pass tokenizer= when building the '
            'reward (the string path is reward(trajectories, ground_truths))'
        )
    return tok


class Reward:
    """Base class of every reward.

    Subclasses implement ``__call__(trajectories, ground_truths) -> list[float]``.
    ``ground_truths`` has one entry per trajectory (or is None for rewards that need
    none, such as format checks). :meth:`score_ids` is the token path.

    >>> class Length(Reward):
    ...     def __call__(self, trajectories, ground_truths=None):
    ...         return [float(len(last_completion(t))) for t in trajectories]
    >>> Length()([{'messages': [{'role': 'assistant', 'content': 'abc'}]}], None)
    [3.0]
    """

    #: A short name used in logs and by CombinedReward.
    name: Optional[str] = None
    #: The tokenizer :meth:`score_ids` reads ids with (None: the reward has no token path).
    tokenizer: Any = None

    def __call__(self, trajectories: List[Any], ground_truths: Optional[List[Any]] = None) -> List[float]:
        raise NotImplementedError(f'{type(self).__name__} must implement __call__')

    def reward_name(self) -> str:
        return self.name or type(self).__name__

    def score_ids(
        self, input_ids: Any, lengths: Any = None, ground_truths: Any = None, *, attention_mask: Any = None
    ) -> Any:
        """Rewards for completion token ids.

        This default decodes each row with :attr:`tokenizer` (special tokens skipped) and calls the
        reward on the texts, each as a one-message trajectory.

        Args:
            input_ids: (B, L) integer tensor of completion ids (no prompt).
            lengths: (B,) integer valid ids per row (right padding), or None (all L).
            ground_truths: one per row or one per prompt (see :func:`check_batch`), or None.
            attention_mask: (B, L) 0/1 or bool, or None; masked positions are skipped.

        Returns:
            ``rewards (B,)`` float32 on ``input_ids.device``; NaN where the reward abstains.

        Raises:
            TokenizerRequired: the reward has no tokenizer.
        """
        import torch

        tok = require_tokenizer(self, 'score_ids')
        who = self.reward_name()
        check_token_inputs(input_ids, attention_mask, lengths, who)
        rows = completion_ids(input_ids, lengths, attention_mask)
        texts = tok.batch_decode(rows, skip_special_tokens=True)
        values = self([completion_trajectory(t) for t in texts], ground_truths)
        return torch.tensor(
            _as_float_list(values, len(rows), who), dtype=torch.float32, device=input_ids.device
        )


def completion_trajectory(text: str) -> Any:
    """A completion text as the one-message trajectory rewards read."""
    from twinkle.data_format import Message, Trajectory

    return Trajectory(messages=[Message(role='assistant', content=text)])


def completion_ids(input_ids: Any, lengths: Any = None, attention_mask: Any = None) -> List[List[int]]:
    """Each row's ids as a list: ``input_ids[b, :lengths[b]]`` with masked positions left out.

    >>> import torch
    >>> completion_ids(torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2]),
    ...                torch.tensor([[0, 1, 1], [1, 1, 1]]))
    [[6, 7], [8, 9]]
    """
    import torch

    b, width = input_ids.shape
    keep = torch.ones(b, width, dtype=torch.bool, device=input_ids.device)
    if lengths is not None:
        keep &= torch.arange(width, device=input_ids.device)[None, :] < lengths.to(input_ids.device)[:, None]
    if attention_mask is not None:
        keep &= attention_mask.to(device=input_ids.device, dtype=torch.bool)
    ids, keep = input_ids.cpu().tolist(), keep.cpu().tolist()
    return [[i for i, k in zip(row, m) if k] for row, m in zip(ids, keep)]


class FunctionReward(Reward):
    """Wraps a plain function ``fn(trajectories, ground_truths) -> list[float]``.

    With a ``tokenizer``, :meth:`score_ids` decodes ids and calls the function on the texts.
    """

    def __init__(
        self, fn: Callable[..., Sequence[float]], name: Optional[str] = None, *, tokenizer: Any = None
    ):
        if not callable(fn):
            raise TypeError(f'reward must be callable, got {type(fn).__name__}')
        self.fn = fn
        self.name = name or getattr(fn, '__name__', None) or type(fn).__name__
        self.tokenizer = tokenizer

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
                f'reward function {getattr(obj, "__name__", obj)!r} must accept (trajectories, ground_truths)'
            ) from None
        except ValueError:  # builtins without a signature: trust them
            pass
        return FunctionReward(obj)
    raise TypeError(f'reward must be a Reward or a callable, got {type(obj).__name__}')


def _as_float_list(values: Any, n: int, who: str) -> List[float]:
    if hasattr(values, 'tolist'):
        values = values.tolist()
    if type(values) is list and len(values) == n:
        scanner = _ext.loaded_scanner()  # its check is ~2 ns an item, float() ~20-30
        if scanner is not None and scanner.all_float(values):
            return values.copy()
    try:
        out = list(map(float, values))
    except (TypeError, ValueError) as e:
        raise TypeError(f'reward {who!r} must return a list of numbers: {e}') from None
    if len(out) != n:
        raise ValueError(f'reward {who!r} returned {len(out)} values for {n} trajectories')
    return out


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


def check_batch(
    trajectories: Any, ground_truths: Any, who: str, need_ground_truths: bool
) -> Optional[List[Any]]:
    """Validates a reward call and returns one ground truth per trajectory.

    ``ground_truths`` holds one entry per trajectory, or one per prompt when the B trajectories
    are grouped (each prompt's ``k = B // P`` samples consecutive): ground truth ``p`` then serves
    trajectories ``p*k .. p*k+k-1``.
    """
    if isinstance(trajectories, (str, bytes)) or not hasattr(trajectories, '__len__'):
        raise TypeError(f'{who}: trajectories must be a list, got {type(trajectories).__name__}')
    if ground_truths is None:
        if need_ground_truths:
            raise ValueError(f'{who}: ground_truths is required (one per trajectory or per prompt), got None')
        return None
    if isinstance(ground_truths, (str, bytes)) or not hasattr(ground_truths, '__len__'):
        raise TypeError(f'{who}: ground_truths must be a list, got {type(ground_truths).__name__}')
    b, p = len(trajectories), len(ground_truths)
    if p == b:
        return list(ground_truths)
    if p == 0 or b % p != 0:
        raise ValueError(
            f'{who}: ground_truths has {p} entries for {b} trajectories; expected one '
            'per trajectory, or one per prompt with the same number of samples each'
        )
    k = b // p
    return [g for g in ground_truths for _ in range(k)]


_INTEGER_DTYPES: dict = {}  # dtype -> is it an integer dtype (a dict lookup per call)


def _is_integer_dtype(t: Any) -> bool:
    d = t.dtype
    got = _INTEGER_DTYPES.get(d)
    if got is None:
        import torch

        got = _INTEGER_DTYPES[d] = not (d.is_floating_point or d.is_complex or d == torch.bool)
    return got


def check_token_inputs(
    input_ids: Any, attention_mask: Any, lengths: Any, who: str, values: bool = True
) -> None:
    """Validates a token-path call: ``input_ids (B, L)``, ``attention_mask (B, L)``, ``lengths (B,)``.

    Shapes and dtypes are checked on every call (no device sync); with ``values`` (never under
    ``torch.compile``) also ``0 <= lengths <= L``, at one host sync.

    Raises:
        TypeError: a non-tensor or a sparse one, or ids or lengths that are not integers.
        ValueError: a shape other than the above, or a length outside ``[0, L]``.

    >>> import torch
    >>> check_token_inputs(torch.zeros(2, 3, dtype=torch.long), None, torch.tensor([3, 0]), 'R')
    >>> check_token_inputs(torch.zeros(2, 3, dtype=torch.long), torch.ones(3), None, 'R')
    Traceback (most recent call last):
    ...
    ValueError: R: attention_mask must have the shape of input_ids (B, L) = (2, 3), got (3,)
    """
    import torch

    tensor = torch.Tensor
    # One test for the common case; the loop only names the argument that fails it.
    if not (
        isinstance(input_ids, tensor)
        and (attention_mask is None or isinstance(attention_mask, tensor))
        and (lengths is None or isinstance(lengths, tensor))
    ):
        for name, t in (('input_ids', input_ids), ('attention_mask', attention_mask), ('lengths', lengths)):
            if (t is not None or name == 'input_ids') and not isinstance(t, tensor):
                raise TypeError(f'{who}: {name} must be a torch.Tensor, got {type(t).__name__}')
    strided = torch.strided
    if not (
        input_ids.layout is strided
        and (attention_mask is None or attention_mask.layout is strided)
        and (lengths is None or lengths.layout is strided)
    ):
        for name, t in (('input_ids', input_ids), ('attention_mask', attention_mask), ('lengths', lengths)):
            if t is not None and t.layout is not strided:
                raise TypeError(f'{who}: {name} must be a dense tensor, got layout {t.layout}')
    shape = input_ids.shape
    if len(shape) != 2:
        raise ValueError(f'{who}: input_ids must be (B, L), got shape {tuple(shape)}')
    if not _is_integer_dtype(input_ids):
        raise TypeError(f'{who}: input_ids must hold integer token ids, got dtype {input_ids.dtype}')
    b, l = shape
    if attention_mask is not None and attention_mask.shape != shape:
        raise ValueError(
            f'{who}: attention_mask must have the shape of input_ids (B, L) = ({b}, {l}), got '
            f'{tuple(attention_mask.shape)}'
        )
    if lengths is None:
        return
    if not _is_integer_dtype(lengths):
        raise TypeError(
            f'{who}: lengths must be an integer tensor (B,) of valid ids per row, got dtype {lengths.dtype}'
        )
    if lengths.shape != (b,):
        raise ValueError(
            f'{who}: lengths must be (B,) = ({b},) like input_ids, got shape {tuple(lengths.shape)}'
        )
    if values and b and not torch.compiler.is_compiling():
        low, high = (int(v) for v in torch.aminmax(lengths))  # one op, one sync
        if low < 0 or high > l:
            raise ValueError(lengths_range_message(who, l, low, high))


def lengths_range_message(who: str, width: int, low: int, high: int) -> str:
    """The error for lengths outside ``[0, L]``, one wording for every token path."""
    return f'{who}: lengths must lie in [0, L] = [0, {width}], got values from {low} to {high}'
