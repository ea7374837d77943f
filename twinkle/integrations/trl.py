"""twinkle rewards as TRL ``GRPOTrainer`` reward functions.

TRL calls ``fn(prompts=..., completions=..., completion_ids=..., **columns)`` with one entry
per completion (strings or chat message lists) and the dataset's other columns repeated per
completion. The adapter is a plain function (TRL takes a ``torch.nn.Module`` for a reward
model) and returns None where the reward abstained (NaN): TRL's "no reward for this sample".

>>> from twinkle.integrations.trl import as_trl_reward
>>> fn = as_trl_reward(lambda t, g: [float(t[0]['messages'][-1]['content'] == g[0])])
>>> fn(prompts=['2+2?'], completions=['4'], completion_ids=[[7]], solution=['4'])
[1.0]
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

from twinkle.data_format import Message, Trajectory
from twinkle.integrations.outcomes import Explainer
from twinkle.integrations.scoring import nan_to_none, uses_token_path
from twinkle.reward.base import as_reward

__all__ = ['as_trl_reward', 'to_trajectories', 'GROUND_TRUTH_COLUMNS']

#: Dataset columns tried, in order, for the ground truth when none is named.
GROUND_TRUTH_COLUMNS = ('solution', 'ground_truth', 'answer', 'reward_model')


def _as_messages(x: Any, role: str, where: str) -> List[Message]:
    if isinstance(x, str):
        return [Message(role=role, content=x)]
    if isinstance(x, (list, tuple)):
        return [m if isinstance(m, Message) else Message(**m) for m in x]
    raise TypeError(f'{where} must be a string or a list of chat messages, got {type(x).__name__}')


def to_trajectories(prompts: Sequence[Any], completions: Sequence[Any]) -> List[Trajectory]:
    """TRL's prompts and completions (strings or message lists) as trajectories.

    >>> to_trajectories(['hi'], ['yo'])[0].messages[-1].content
    'yo'
    """
    if len(prompts) != len(completions):
        raise ValueError(
            f'prompts ({len(prompts)}) and completions ({len(completions)}) must have the same length'
        )
    out = []
    for i, (p, c) in enumerate(zip(prompts, completions)):
        msgs = _as_messages(p, 'user', f'prompts[{i}]') + _as_messages(c, 'assistant', f'completions[{i}]')
        out.append(Trajectory(messages=msgs))
    return out


def _ground_truths(kwargs: dict, column: Optional[str], n: int) -> Optional[List[Any]]:
    if column is not None:
        if column not in kwargs:
            raise KeyError(
                f'ground_truth_column={column!r} is not among the dataset columns TRL '
                f'passed: {sorted(k for k in kwargs if not k.startswith("log_"))}'
            )
        values = kwargs[column]
    else:
        values = next((kwargs[c] for c in GROUND_TRUTH_COLUMNS if c in kwargs), None)
        if values is None:
            return None
    values = list(values)
    if len(values) != n:
        raise ValueError(f'the ground-truth column has {len(values)} entries for {n} completions')
    return [v.get('ground_truth') if isinstance(v, dict) and 'ground_truth' in v else v for v in values]


def _log_outcomes(e: Any, label: str, log_metric: Any, log_extra: Any) -> None:
    """Outcome rates to TRL's ``log_metric`` and per-sample columns to ``log_extra``, where TRL has them."""
    if callable(log_metric):
        n = max(len(e.outcomes), 1)
        for outcome, count in e.counts().items():
            if outcome != 'scored':
                log_metric(f'twinkle/{label}/{outcome}', count / n)
    if callable(log_extra):
        log_extra(f'{label}/outcome', list(e.outcomes))
        log_extra(f'{label}/method', [v.method for v in e.verdicts])


def as_trl_reward(
    reward: Any,
    *,
    ground_truth_column: Optional[str] = None,
    name: Optional[str] = None,
    use_token_ids: Optional[bool] = None,
    pad_id: int = 0,
) -> Callable[..., List[Optional[float]]]:
    """A GRPOTrainer reward function that scores with a twinkle reward.

    Args:
        reward: a twinkle Reward (FormatReward, MathReward, CombinedReward...) or a
            function ``(trajectories, ground_truths) -> list[float]``.
        ground_truth_column: the dataset column holding the ground truth; by default the
            first of :data:`GROUND_TRUTH_COLUMNS` TRL passes (verl-style
            ``reward_model`` dicts give their 'ground_truth'), else None.
        name: the name TRL logs the reward under (default: the reward's name).
        use_token_ids: score ``completion_ids`` through the reward's token path (it must
            have been built with the policy's tokenizer). None: when it has one.
        pad_id: padding id for the packed ids.

    Returns:
        ``fn(prompts, completions, completion_ids=None, **columns) -> list`` of floats,
        None where the reward abstained. For a reward that explains its scores it also
        logs each outcome's share (``twinkle/<name>/timeout``...) and per-sample
        ``<name>/outcome`` and ``<name>/method`` columns, where TRL offers the hooks.

    >>> from twinkle.reward import Reward
    >>> class Length(Reward):  # a token-path reward: scores ids, never text
    ...     tokenizer = 'set'
    ...     def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
    ...         return lengths.float()
    ...     def __call__(self, trajectories, ground_truths=None):
    ...         raise AssertionError('the string path should not run')
    >>> as_trl_reward(Length())(prompts=['p', 'p'], completions=['ab', 'c'],
    ...                         completion_ids=[[1, 2], [3]])
    [2.0, 1.0]
    """
    if isinstance(reward, str) or not callable(reward):
        raise TypeError(f'reward must be a twinkle Reward or a reward function, got {type(reward).__name__}')
    target = reward if uses_token_path(reward) or hasattr(reward, 'parts') else as_reward(reward)
    explainer = Explainer(target)
    label = name or (
        target.reward_name()
        if hasattr(target, 'reward_name')
        else getattr(reward, '__name__', type(reward).__name__)
    )

    def trl_reward(
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Optional[Sequence[Sequence[int]]] = None,
        **kwargs: Any,
    ) -> List[Optional[float]]:
        n = len(completions)
        gts = _ground_truths(kwargs, ground_truth_column, n)
        trajectories = to_trajectories(prompts, completions)
        ids = completion_ids if use_token_ids is not False else None
        if use_token_ids and completion_ids is None:
            raise ValueError('use_token_ids=True but TRL passed no completion_ids')
        e = explainer(trajectories, gts, completion_ids=ids, pad_id=pad_id, token_path=use_token_ids)
        if e.verdicts is not None:
            _log_outcomes(e, label, kwargs.get('log_metric'), kwargs.get('log_extra'))
        return nan_to_none(e.values)

    trl_reward.__name__ = trl_reward.__qualname__ = str(label)
    trl_reward.twinkle_reward = reward
    return trl_reward
