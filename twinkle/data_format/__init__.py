"""Conversation records that flow between sampler, reward and trainer.

``Message`` and ``Trajectory`` are ``dict`` subclasses with attribute access, so
``traj.messages[-1].content`` and ``traj['messages'][-1]['content']`` both work, and a plain
``dict`` with the same keys is accepted wherever a ``Trajectory`` is. ``user_data`` is a list
of ``(key, value)`` pairs (ordered, keys may repeat; a ``dict`` is turned into pairs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

__all__ = [
    'Message',
    'Trajectory',
    'SamplingParams',
    'Content',
    'ROLES',
    'Completion',
    'SampleResponse',
    'STOP_REASONS',
    'pad_ids',
]

ROLES = ('system', 'user', 'assistant', 'tool')

# A message's content: a string, or a list of parts such as {'type': 'text', 'text': ...}.
Content = Union[str, List[Dict[str, Any]]]


class _Record(dict):
    """A dict whose declared keys are also attributes."""

    _fields: Tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f'{type(self).__name__} has no field {name!r}') from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __repr__(self) -> str:
        body = ', '.join(f'{k}={v!r}' for k, v in self.items())
        return f'{type(self).__name__}({body})'

    def __reduce__(self):
        return (type(self)._from_dict, (dict(self),))

    @classmethod
    def _from_dict(cls, d):
        obj = dict.__new__(cls)
        dict.update(obj, d)
        return obj


class Message(_Record):
    """One chat turn.

    Args:
        role: 'system', 'user', 'assistant' or 'tool'.
        content: a string, or a list of parts (``{'type': 'text', 'text': ...}``).
        **extra: any other field (``tool_calls``, ``reasoning_content``, ``name``...).

    >>> m = Message(role='assistant', content='4')
    >>> m.content, m['role']
    ('4', 'assistant')
    """

    def __init__(self, role: str = 'user', content: Content = '', **extra: Any):
        if not isinstance(role, str) or role not in ROLES:
            raise ValueError(f'Message.role must be one of {ROLES}, got {role!r}')
        if not isinstance(content, (str, list)) and content is not None:
            raise TypeError(f'Message.content must be a str or a list of parts, got {type(content).__name__}')
        super().__init__(role=role, content=content, **extra)


def _to_message(m: Any, where: str) -> Message:
    if isinstance(m, Message):
        return m
    if isinstance(m, Mapping):
        if 'role' not in m:
            raise ValueError(f"{where} has no 'role' key: {dict(m)!r:.120}")
        return Message(**m)
    raise TypeError(f'{where} must be a Message or a mapping, got {type(m).__name__}')


def _to_pairs(user_data: Any) -> List[Tuple[str, Any]]:
    if user_data is None:
        return []
    if isinstance(user_data, Mapping):
        return list(user_data.items())
    pairs = []
    for i, item in enumerate(user_data):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f'Trajectory.user_data[{i}] must be a (key, value) pair, got {item!r:.80}')
        pairs.append((item[0], item[1]))
    return pairs


class Trajectory(_Record):
    """A conversation: prompt messages, and for a sampled trajectory the completion.

    Args:
        messages: the turns, oldest first. Dicts are turned into :class:`Message`.
        tools: tool schemas offered to the model.
        user_data: ``(key, value)`` pairs (or a dict), e.g. ``[('solution', '42')]``.
        **extra: any other field.

    >>> t = Trajectory(messages=[{'role': 'user', 'content': '2+2?'}],
    ...                user_data=[('solution', '4')])
    >>> t.get_user_data('solution'), t.messages[0].role
    ('4', 'user')
    """

    def __init__(
        self,
        messages: Optional[Sequence[Any]] = None,
        tools: Optional[List[Any]] = None,
        user_data: Any = None,
        **extra: Any,
    ):
        msgs = [_to_message(m, f'Trajectory.messages[{i}]') for i, m in enumerate(messages or [])]
        super().__init__(messages=msgs, tools=list(tools or []), user_data=_to_pairs(user_data), **extra)

    def get_user_data(self, key: str, default: Any = None) -> Any:
        """The first value stored under ``key`` in ``user_data``, else ``default``."""
        return get_user_data(self, key, default)

    def user_data_dict(self) -> Dict[str, Any]:
        """``user_data`` as a dict (for a repeated key the first value wins)."""
        out: Dict[str, Any] = {}
        for k, v in _to_pairs(self.get('user_data')):
            out.setdefault(k, v)
        return out


def get_user_data(traj: Mapping, key: str, default: Any = None) -> Any:
    """Reads ``key`` from a trajectory's ``user_data`` (pairs or dict), or ``default``."""
    data = traj.get('user_data') if isinstance(traj, Mapping) else getattr(traj, 'user_data', None)
    if data is None:
        return default
    if isinstance(data, Mapping):
        return data.get(key, default)
    for item in data:
        if isinstance(item, (tuple, list)) and len(item) == 2 and item[0] == key:
            return item[1]
    return default


@dataclass(frozen=True)
class SamplingParams:
    """How a sampler draws completions.

    Args:
        max_tokens: most new tokens per completion.
        temperature: 0 means greedy.
        top_p, top_k: nucleus and top-k truncation (``top_k=0``: off).
        seed: makes sampling repeatable when set.
        stop: strings that end a completion (not included in it).
    """

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: Optional[int] = None
    stop: Tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        if not isinstance(self.max_tokens, int) or self.max_tokens <= 0:
            raise ValueError(f'SamplingParams.max_tokens must be a positive int, got {self.max_tokens!r}')
        if self.temperature < 0:
            raise ValueError(f'SamplingParams.temperature must be >= 0, got {self.temperature!r}')
        if not 0 < self.top_p <= 1:
            raise ValueError(f'SamplingParams.top_p must be in (0, 1], got {self.top_p!r}')
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f'SamplingParams.top_k must be an int >= 0, got {self.top_k!r}')
        if isinstance(self.stop, str):
            object.__setattr__(self, 'stop', (self.stop,))
        else:
            object.__setattr__(self, 'stop', tuple(self.stop))

    @classmethod
    def coerce(cls, value: Union[SamplingParams, Mapping[str, Any], None]) -> SamplingParams:
        """Accepts a SamplingParams, a dict of its fields, or None (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(f'sampling_params has unknown fields {sorted(unknown)}')
            return cls(**value)
        raise TypeError(f'sampling_params must be SamplingParams, a dict or None, got {type(value).__name__}')

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------
# What a sampler returns.
#
# Invariants (every sampler keeps them, and the advantages rely on them):
#   * samples are ordered prompt-major: flat index ``b = p * N + s`` is sample ``s`` of
#     prompt ``p`` (N = num_samples), so ``GRPOAdvantage()(rewards, num_generations=N)``
#     groups them correctly;
#   * ``token_ids`` are the completion only (no prompt, no padding), and end with the
#     end-of-sequence token when ``stop_reason == 'eos'`` (as vLLM and TRL keep it);
#   * ``text`` is ``token_ids`` decoded with special tokens skipped, cut before the first
#     stop string when ``stop_reason == 'stop'``.

#: Why a completion ended: the model emitted an end-of-sequence token ('eos'), a stop
#: string of the sampling parameters appeared ('stop'), or max_tokens ran out ('length').
STOP_REASONS = ('eos', 'stop', 'length')


@dataclass
class Completion:
    """One sampled completion of one prompt.

    Args:
        token_ids: the completion's token ids (no prompt, no padding).
        text: the decoded completion (special tokens skipped, stop string cut off).
        stop_reason: one of :data:`STOP_REASONS`.
        stop_string: the stop string that ended it, when ``stop_reason == 'stop'``.

    A token in which a stop string starts is dropped from ``token_ids`` (they never decode to
    more than ``text``); its part before the stop string is only in ``text``.

    >>> c = Completion([12, 7, 2], '<a>7', 'eos')
    >>> c.num_tokens, c.stop_reason
    (3, 'eos')
    """

    token_ids: List[int]
    text: str
    stop_reason: str
    stop_string: Optional[str] = None

    def __post_init__(self):
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(
                f'Completion.stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}'
            )
        self.token_ids = [int(t) for t in self.token_ids]

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


class SampleResponse:
    """The completions of a batch of prompts, ``num_samples`` per prompt.

    Args:
        prompts: the P prompt trajectories, in batch order.
        completions: ``completions[p][s]`` is sample ``s`` of prompt ``p``; every prompt
            has the same number N of samples.
        prompt_token_ids: optional ``[p]`` list of each prompt's token ids as fed to the
            model (after the chat template).
        ground_truths: optional per-prompt ground truths (what a batch from
            :mod:`twinkle.data` carries); exposed per sample by :attr:`ground_truths`.

    Flat views have length ``B = P * N``, prompt-major. Each of :attr:`trajectories` is the
    prompt (with its ``tools`` and ``user_data``) plus one assistant message with the
    completion text, and carries ``completion_ids`` and ``stop_reason``.

    >>> r = SampleResponse([Trajectory(messages=[{'role': 'user', 'content': 'hi'}])],
    ...                    [[Completion([5, 2], 'yo', 'eos'), Completion([6], 'ok', 'length')]])
    >>> r.num_prompts, r.num_samples, len(r)
    (1, 2, 2)
    >>> r.texts, r.trajectories[1].messages[-1].content
    (['yo', 'ok'], 'ok')
    >>> ids, lengths = r.padded(pad_id=0)
    >>> ids.tolist(), lengths.tolist()
    ([[5, 2], [6, 0]], [2, 1])
    """

    def __init__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Sequence[Completion]],
        prompt_token_ids: Optional[Sequence[Sequence[int]]] = None,
        ground_truths: Optional[Sequence[Any]] = None,
    ):
        prompts = [p if isinstance(p, Trajectory) else Trajectory(**dict(p)) for p in prompts]
        completions = [list(c) for c in completions]
        if len(completions) != len(prompts):
            raise ValueError(
                f'SampleResponse.completions has {len(completions)} entries for {len(prompts)} prompts'
            )
        sizes = {len(c) for c in completions}
        if len(sizes) > 1:
            raise ValueError(
                f'SampleResponse.completions: every prompt needs the same number of '
                f'samples, got sizes {sorted(sizes)}'
            )
        for p, row in enumerate(completions):
            for s, c in enumerate(row):
                if not isinstance(c, Completion):
                    raise TypeError(
                        f'SampleResponse.completions[{p}][{s}] must be a Completion, got {type(c).__name__}'
                    )
        if prompt_token_ids is not None and len(prompt_token_ids) != len(prompts):
            raise ValueError(
                f'SampleResponse.prompt_token_ids has {len(prompt_token_ids)} '
                f'entries for {len(prompts)} prompts'
            )
        if ground_truths is not None and len(ground_truths) != len(prompts):
            raise ValueError(
                f'SampleResponse.ground_truths has {len(ground_truths)} entries for '
                f'{len(prompts)} prompts (they are per prompt)'
            )
        self.prompts: List[Trajectory] = prompts
        self.completions: List[List[Completion]] = completions
        self.prompt_token_ids = (
            None if prompt_token_ids is None else [[int(t) for t in ids] for ids in prompt_token_ids]
        )
        self.prompt_ground_truths = None if ground_truths is None else list(ground_truths)
        self.num_samples: int = sizes.pop() if sizes else 0
        self._trajectories: Optional[List[Trajectory]] = None

    # -- sizes -------------------------------------------------------------------------
    @property
    def num_prompts(self) -> int:
        return len(self.prompts)

    def __len__(self) -> int:
        return self.num_prompts * self.num_samples

    def __repr__(self) -> str:
        return f'SampleResponse(num_prompts={self.num_prompts}, num_samples={self.num_samples})'

    # -- flat, prompt-major views ------------------------------------------------------
    def _flat(self) -> List[Completion]:
        return [c for row in self.completions for c in row]

    @property
    def trajectories(self) -> List[Trajectory]:
        """(B,) prompt messages plus the assistant completion, prompt-major."""
        if self._trajectories is None:
            out = []
            for prompt, row in zip(self.prompts, self.completions):
                for c in row:
                    msgs = list(prompt.get('messages') or [])
                    msgs.append(Message(role='assistant', content=c.text))
                    extra = {k: v for k, v in prompt.items() if k not in ('messages', 'tools', 'user_data')}
                    extra.update(completion_ids=c.token_ids, stop_reason=c.stop_reason)
                    out.append(
                        Trajectory(
                            messages=msgs,
                            tools=prompt.get('tools'),
                            user_data=prompt.get('user_data'),
                            **extra,
                        )
                    )
            self._trajectories = out
        return self._trajectories

    @property
    def token_ids(self) -> List[List[int]]:
        """(B,) completion token ids, prompt-major."""
        return [c.token_ids for c in self._flat()]

    completion_ids = token_ids

    @property
    def texts(self) -> List[str]:
        """(B,) decoded completions, prompt-major."""
        return [c.text for c in self._flat()]

    @property
    def stop_reasons(self) -> List[str]:
        """(B,) stop reasons (see :data:`STOP_REASONS`), prompt-major."""
        return [c.stop_reason for c in self._flat()]

    @property
    def group_ids(self) -> List[int]:
        """(B,) the prompt index of every sample: ``[0]*N + [1]*N + ...``."""
        return [p for p in range(self.num_prompts) for _ in range(self.num_samples)]

    @property
    def ground_truths(self) -> Optional[List[Any]]:
        """(B,) the batch's ground truths repeated per sample, or None if it had none."""
        if self.prompt_ground_truths is None:
            return None
        return [g for g in self.prompt_ground_truths for _ in range(self.num_samples)]

    def padded(self, pad_id: int = 0, device: Any = None) -> Tuple[Any, Any]:
        """The completion ids as right-padded tensors (:func:`pad_ids`): ``(input_ids (B, L), lengths (B,))``."""
        return pad_ids(self.token_ids, pad_id, device)


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int = 0, device: Any = None) -> Tuple[Any, Any]:
    """Right-pads ragged id lists: ``(input_ids (B, L) int64, lengths (B,) int64)``, L the
    longest row (at least 1), on ``device`` (default CPU).

    >>> ids, lengths = pad_ids([[3, 4], [5]])
    >>> ids.tolist(), lengths.tolist()
    ([[3, 4], [5, 0]], [2, 1])
    """
    import torch

    lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
    width = max([1] + lengths.tolist())
    out = torch.full((len(rows), width), int(pad_id), dtype=torch.int64)
    # One list -> tensor conversion and one masked scatter, not a copy per row.
    out[torch.arange(width) < lengths[:, None]] = torch.tensor(
        [int(t) for r in rows for t in r], dtype=torch.int64
    )
    if device is not None:
        out, lengths = out.to(device), lengths.to(device)
    return out, lengths
