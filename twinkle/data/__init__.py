"""Prompt batches that carry their ground truths, for the sampling loop of the reward API::

    for batch in PromptDataLoader(rows, batch_size=8):
        response = sampler.sample(batch, num_samples=4)
        rewards = reward_fn(response.trajectories, batch.ground_truths)
        advantages = advantage_fn(rewards, num_generations=4)

A batch holds P prompts and P ground truths; the sampler returns ``B = P * N`` trajectories,
prompt-major. twinkle's rewards repeat ground truth ``p`` over samples ``p*N .. p*N+N-1``
(:func:`twinkle.reward.check_batch`); a plain function that zips them needs
``response.ground_truths`` or ``repeat_per_sample(batch.ground_truths, N)``.

Rows may be a string (the prompt, no ground truth); a mapping with a prompt column
(``prompt_key``, default the first of 'prompt', 'messages', 'question', 'problem', 'query':
a string or a list of chat messages) and a ground-truth column (``ground_truth_key``,
default the first of 'solution', 'ground_truth', 'answer', or verl's
``reward_model['ground_truth']``; else a trailing assistant message), other columns going to
``user_data``; or a :class:`~twinkle.data_format.Trajectory`. A ground truth becomes a
``Trajectory`` with one assistant message and ``user_data=[('solution', answer)]``.
"""

from __future__ import annotations

import json
import math
import os
import random
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence

from twinkle.data_format import Message, Trajectory

__all__ = [
    'PromptBatch',
    'PromptDataLoader',
    'collate',
    'to_prompt',
    'to_ground_truth',
    'repeat_per_sample',
    'load_jsonl',
    'PROMPT_KEYS',
    'GROUND_TRUTH_KEYS',
]

PROMPT_KEYS = ('prompt', 'messages', 'question', 'problem', 'query')
GROUND_TRUTH_KEYS = ('solution', 'ground_truth', 'answer')


class PromptBatch(list):
    """A list of prompt trajectories with their per-prompt ``ground_truths``.

    Args:
        prompts: the P prompts (Trajectory).
        ground_truths: P ground truths (Trajectory or None each), or None.
        rows: the rows they came from (kept for logging).

    >>> b = collate([{'prompt': '1+1?', 'solution': '2'}])
    >>> b[0].messages[0].content, b.ground_truths[0].get_user_data('solution')
    ('1+1?', '2')
    """

    def __init__(
        self,
        prompts: Iterable[Trajectory] = (),
        ground_truths: Optional[Sequence[Any]] = None,
        rows: Optional[Sequence[Any]] = None,
    ):
        super().__init__(prompts)
        if ground_truths is not None and len(ground_truths) != len(self):
            raise ValueError(
                f'PromptBatch.ground_truths has {len(ground_truths)} entries for {len(self)} prompts'
            )
        self.ground_truths: Optional[List[Any]] = None if ground_truths is None else list(ground_truths)
        self.rows = list(rows) if rows is not None else None

    @property
    def prompts(self) -> List[Trajectory]:
        return list(self)

    def ground_truths_per_sample(self, num_samples: int) -> Optional[List[Any]]:
        """The ground truths repeated ``num_samples`` times each (prompt-major)."""
        if self.ground_truths is None:
            return None
        return repeat_per_sample(self.ground_truths, num_samples)

    def __repr__(self) -> str:
        return f'PromptBatch({len(self)} prompts, ground_truths={self.ground_truths is not None})'


def repeat_per_sample(items: Sequence[Any], num_samples: int) -> List[Any]:
    """Repeats each item ``num_samples`` times, keeping the order (prompt-major).

    >>> repeat_per_sample(['a', 'b'], 2)
    ['a', 'a', 'b', 'b']
    """
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
        raise ValueError(f'num_samples must be a positive int, got {num_samples!r}')
    return [x for x in items for _ in range(num_samples)]


def _pick(row: Mapping, key: Optional[str], candidates: Sequence[str], what: str) -> Optional[str]:
    if key is not None:
        if key not in row:
            raise KeyError(f'{what}={key!r} is not a column of the row (columns: {sorted(map(str, row))})')
        return key
    for k in candidates:
        if k in row:
            return k
    return None


def _messages_of(value: Any, where: str) -> List[Message]:
    if isinstance(value, str):
        return [Message(role='user', content=value)]
    if isinstance(value, Sequence):
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, Mapping):
                raise TypeError(f'{where}[{i}] must be a chat message (mapping), got {type(m).__name__}')
            out.append(m if isinstance(m, Message) else Message(**m))
        return out
    raise TypeError(f'{where} must be a string or a list of chat messages, got {type(value).__name__}')


def _answer_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, Mapping) and 'ground_truth' in value:  # verl's reward_model column
        return _answer_text(value['ground_truth'])
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _split_row(
    row: Any, prompt_key: Optional[str], ground_truth_key: Optional[str], system_prompt: Optional[str]
):
    """(prompt Trajectory, answer text or None) of one row."""
    gt_keys = (ground_truth_key,) if ground_truth_key else GROUND_TRUTH_KEYS
    if isinstance(row, str):
        msgs, answer, user_data, extra = _messages_of(row, 'row'), None, [], {}
    elif isinstance(row, Trajectory):
        msgs = list(row.messages)
        user_data = list(row.get('user_data') or [])
        answer = next((_answer_text(v) for k, v in user_data if k in gt_keys), None)
        extra = {k: v for k, v in row.items() if k not in ('messages', 'tools', 'user_data')}
        extra['tools'] = row.get('tools')
    elif isinstance(row, Mapping):
        pk = _pick(row, prompt_key, PROMPT_KEYS, 'prompt_key')
        if pk is None:
            raise KeyError(
                f'row has no prompt column (looked for {PROMPT_KEYS}); columns: '
                f'{sorted(map(str, row))}; pass prompt_key='
            )
        msgs = _messages_of(row[pk], f'row[{pk!r}]')
        gk = _pick(row, ground_truth_key, GROUND_TRUTH_KEYS + ('reward_model',), 'ground_truth_key')
        answer = _answer_text(row[gk]) if gk is not None else None
        # A dict in Trajectory form keeps its user_data pairs; other columns join them.
        user_data = (
            [] if row.get('user_data') is None else list(Trajectory(user_data=row['user_data']).user_data)
        )
        if answer is None:
            answer = next((_answer_text(v) for k, v in user_data if k in gt_keys), None)
        user_data += [(k, v) for k, v in row.items() if k not in (pk, gk, 'user_data', 'tools')]
        extra = {'tools': row.get('tools')} if row.get('tools') else {}
    else:
        raise TypeError(f'a row must be a string, a mapping or a Trajectory, got {type(row).__name__}')
    if answer is None and msgs and msgs[-1].get('role') == 'assistant':
        answer = _answer_text(msgs[-1].get('content'))
        msgs = msgs[:-1]
    if system_prompt is not None and not (msgs and msgs[0].get('role') == 'system'):
        msgs = [Message(role='system', content=system_prompt)] + msgs
    if not msgs:
        raise ValueError(f'row has an empty prompt: {row!r:.120}')
    return Trajectory(messages=msgs, user_data=user_data, **extra), answer


def to_prompt(
    row: Any,
    *,
    prompt_key: Optional[str] = None,
    ground_truth_key: Optional[str] = None,
    system_prompt: Optional[str] = None,
) -> Trajectory:
    """The prompt trajectory of one row (see the module docstring for row formats).

    >>> to_prompt({'prompt': '2+2?', 'solution': '4', 'level': 1}).user_data
    [('level', 1)]
    """
    return _split_row(row, prompt_key, ground_truth_key, system_prompt)[0]


def to_ground_truth(
    row: Any, *, prompt_key: Optional[str] = None, ground_truth_key: Optional[str] = None
) -> Optional[Trajectory]:
    """The ground-truth trajectory of one row, or None when it has none.

    >>> to_ground_truth({'question': 'q', 'answer': 7}).get_user_data('solution')
    '7'
    """
    answer = _split_row(row, prompt_key, ground_truth_key, None)[1]
    return _gt_trajectory(answer)


def _gt_trajectory(answer: Optional[str]) -> Optional[Trajectory]:
    if answer is None:
        return None
    return Trajectory(messages=[Message(role='assistant', content=answer)], user_data=[('solution', answer)])


def collate(
    rows: Sequence[Any],
    *,
    prompt_key: Optional[str] = None,
    ground_truth_key: Optional[str] = None,
    system_prompt: Optional[str] = None,
) -> PromptBatch:
    """Turns rows into a :class:`PromptBatch` (usable as a torch DataLoader's collate_fn).

    ``ground_truths`` is None when no row has one, else one entry per prompt (None where missing).

    >>> b = collate(['hello', {'prompt': 'x?', 'answer': 'y'}])
    >>> len(b), [g if g is None else g.get_user_data('solution') for g in b.ground_truths]
    (2, [None, 'y'])
    """
    if isinstance(rows, (str, bytes, Mapping)):
        raise TypeError(f'rows must be a list of rows, got {type(rows).__name__}')
    prompts, answers = [], []
    for row in rows:
        p, a = _split_row(row, prompt_key, ground_truth_key, system_prompt)
        prompts.append(p)
        answers.append(a)
    gts = None if all(a is None for a in answers) else [_gt_trajectory(a) for a in answers]
    return PromptBatch(prompts, gts, rows=rows)


class PromptDataLoader:
    """Batches of prompts with ground truths, over any indexable dataset.

    Args:
        dataset: a list of rows, a ``datasets.Dataset``, or anything with ``__len__`` and
            ``__getitem__`` returning rows (see the module docstring).
        batch_size: prompts per batch.
        shuffle: reshuffle the order each epoch (call :meth:`set_epoch`).
        seed: the shuffle's seed (combined with the epoch).
        drop_last: drop a last, smaller batch.
        prompt_key, ground_truth_key, system_prompt: as in :func:`collate`.

    >>> rows = [{'prompt': f'{i}+1?', 'solution': str(i + 1)} for i in range(5)]
    >>> loader = PromptDataLoader(rows, batch_size=2)
    >>> len(loader), [len(b) for b in loader]
    (3, [2, 2, 1])
    >>> next(iter(loader)).ground_truths[1].get_user_data('solution')
    '2'
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        prompt_key: Optional[str] = None,
        ground_truth_key: Optional[str] = None,
        system_prompt: Optional[str] = None,
    ):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        if not (hasattr(dataset, '__len__') and hasattr(dataset, '__getitem__')) or isinstance(
            dataset, (str, bytes, Mapping)
        ):
            raise TypeError(
                f'dataset must be indexable (a list of rows or a datasets.Dataset), '
                f'got {type(dataset).__name__}'
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.keys = dict(
            prompt_key=prompt_key, ground_truth_key=ground_truth_key, system_prompt=system_prompt
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeds the next shuffle."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[PromptBatch]:
        order = list(range(len(self.dataset)))
        if self.shuffle:
            random.Random(self.seed * 1_000_003 + self.epoch).shuffle(order)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            yield collate([self.dataset[i] for i in idx], **self.keys)


def load_jsonl(path: str) -> List[dict]:
    """Reads a JSON-lines file into a list of rows (blank lines skipped).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a line is not valid JSON (names the line).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'load_jsonl: path {path!r} is not a file')
    rows = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f'load_jsonl: {path}:{n} is not valid JSON: {e}') from None
    return rows
