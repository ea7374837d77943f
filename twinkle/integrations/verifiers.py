"""twinkle rewards for verifiers environments (prime-rl's), both of its APIs; set-up in
``docs/integrations.md``.

* verifiers 0.4 (``verifiers.v1``): :func:`math_reward` is a plugged reward function
  (``vf.RewardFunctionConfig(fn='twinkle.integrations.verifiers:math_reward')``);
  :func:`task_reward_func` makes one for another reward or answer field.
* verifiers 0.3 and earlier (``vf.Rubric``): :func:`reward_func` gives
  ``async fn(completion, answer, state)`` and :func:`make_rubric` a rubric with
  zero-weight outcome metrics.

Both are async and non-blocking: concurrent rollouts are gathered into one twinkle call run
in a thread. An abstained sample (NaN) scores ``nan_value`` (0.0) with its ``abstain`` flag set.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from twinkle.integrations._batching import AsyncBatcher
from twinkle.integrations.outcomes import OUTCOMES, Explainer, check_nan_value
from twinkle.reward.base import content_text, last_completion

__all__ = [
    'reward_func',
    'make_rubric',
    'task_reward_func',
    'math_reward',
    'completion_text',
    'RUBRIC_METRICS',
]

#: The outcomes :func:`make_rubric` adds as zero-weight metrics.
RUBRIC_METRICS = ('timeout', 'unparsable', 'abstain')


def completion_text(completion: Any) -> str:
    """The text of a verifiers completion: a string, or the last assistant message of a list.

    >>> completion_text([{'role': 'assistant', 'content': 'x'}, {'role': 'tool', 'content': 'y'}])
    'x'
    """
    if isinstance(completion, str):
        return completion
    if completion is None:
        return ''
    messages = [
        m
        if isinstance(m, dict)
        else {'role': getattr(m, 'role', None), 'content': getattr(m, 'content', None)}
        for m in completion
    ]
    return last_completion({'messages': messages}) or ''


class _Scorer:
    """(text, gold) pairs from concurrent calls, scored in batches off the event loop."""

    def __init__(self, reward: Any, nan_value: float, where: str):
        self._reward = reward
        self._explainer: Optional[Explainer] = None
        self.nan_value = check_nan_value(nan_value, where)
        self.batcher = AsyncBatcher(self._score_sync)

    @property
    def reward(self):
        if self._reward is None:
            from twinkle.reward.math import MathReward

            self._reward = MathReward()
        return self._reward

    def _score_sync(self, items: List[Tuple[str, Optional[str]]]) -> List[Tuple[float, dict]]:
        if self._explainer is None:
            self._explainer = Explainer(self.reward)
        e = self._explainer([t for t, _ in items], [g for _, g in items])
        out = []
        for i in range(len(items)):
            v = e.values[i]
            out.append((self.nan_value if math.isnan(v) else v, e.info(i)))
        return out

    async def __call__(self, text: str, gold: Any) -> Tuple[float, dict]:
        return await self.batcher.submit((text, None if gold is None else str(gold)))


def _name(reward: Any, name: Optional[str]) -> str:
    if name:
        return name
    if reward is None:
        return 'math'
    if hasattr(reward, 'reward_name'):
        return str(reward.reward_name())
    return str(getattr(reward, '__name__', type(reward).__name__))


# --- the classic Rubric API ----------------------------------------------------------------


def reward_func(
    reward: Any = None, *, name: Optional[str] = None, nan_value: float = 0.0
) -> Callable[..., Any]:
    """A ``vf.Rubric`` reward function ``async fn(completion, answer, state) -> float``.

    Args:
        reward: a twinkle Reward or reward function; default ``MathReward()``.
        name: the function's name, which verifiers logs it under (default: the
            reward's name, 'math').
        nan_value: the score where the reward abstains (NaN).

    The verdict is left in ``state['twinkle'][name]`` (outcome, method, answer, timeout,
    abstained) for the metrics of :func:`make_rubric`.

    >>> import asyncio
    >>> fn = reward_func()
    >>> state = {}
    >>> asyncio.run(fn([{'role': 'assistant', 'content': '#### 4'}], '4', state))
    1.0
    >>> state['twinkle']['math']['outcome']
    'correct'
    """
    label = _name(reward, name)
    scorer = _Scorer(reward, nan_value, 'reward_func')

    async def fn(completion: Any, answer: Any, state: Any = None) -> float:
        value, info = await scorer(completion_text(completion), answer)
        if state is not None:
            state.setdefault('twinkle', {})[label] = info
        return value

    fn.__name__ = fn.__qualname__ = label
    fn.scorer = scorer
    return fn


def _outcome_metric(label: str, outcome: str) -> Callable[..., float]:
    def metric(state: Any) -> float:
        info = (state.get('twinkle') or {}).get(label) if state is not None else None
        return float(info is not None and info['outcome'] == outcome)

    metric.__name__ = metric.__qualname__ = f'{label}_{outcome}'
    return metric


def make_rubric(
    reward: Any = None,
    *,
    weight: float = 1.0,
    name: Optional[str] = None,
    metrics: Sequence[str] = RUBRIC_METRICS,
    nan_value: float = 0.0,
    parser: Any = None,
):
    """A ``vf.Rubric`` scoring with a twinkle reward, with outcome metrics.

    Args:
        reward: a twinkle Reward or reward function; default ``MathReward()``.
        weight: the reward's weight.
        name: the reward's name in verifiers' metrics (default 'math').
        metrics: outcomes (of ``twinkle.integrations.outcomes.OUTCOMES``) logged as
            zero-weight per-rollout metrics named ``<name>_<outcome>``.
        nan_value: the score where the reward abstains (NaN).
        parser: passed to ``vf.Rubric`` (twinkle extracts the answer itself).

    Returns:
        ``vf.Rubric(funcs=[reward, *metrics], weights=[weight, 0, ...])``; needs a
        verifiers release with ``vf.Rubric`` (0.3 and earlier).
    """
    import verifiers as vf

    if not hasattr(vf, 'Rubric'):
        raise ImportError(
            f'verifiers {getattr(vf, "__version__", "?")} has no vf.Rubric (it '
            'moved to verifiers.v1 tasks in 0.4): use task_reward_func there'
        )
    bad = [m for m in metrics if m not in OUTCOMES]
    if bad:
        raise ValueError(f'metrics must be among {OUTCOMES}, got {bad}')
    fn = reward_func(reward, name=name, nan_value=nan_value)
    funcs = [fn] + [_outcome_metric(fn.__name__, m) for m in metrics]
    kwargs = {} if parser is None else {'parser': parser}
    return vf.Rubric(funcs=funcs, weights=[float(weight)] + [0.0] * len(metrics), **kwargs)


# --- the verifiers.v1 task API -------------------------------------------------------------


def task_reward_func(
    reward: Any = None, *, answer_field: str = 'answer', name: Optional[str] = None, nan_value: float = 0.0
) -> Callable[..., Any]:
    """A ``verifiers.v1`` reward function ``async fn(task, trace) -> float``.

    It scores ``trace.last_reply`` against ``task.<answer_field>``, records one 0/1 metric per
    outcome (``<name>/timeout``...) and the verdict in ``trace.info['twinkle'][name]``.

    Args:
        reward: a twinkle Reward or reward function; default ``MathReward()``.
        answer_field: the task data field holding the gold answer.
        name: prefix of the metrics it records (default: the reward's name, 'math').
        nan_value: the score where the reward abstains (NaN).
    """
    label = _name(reward, name)
    scorer = _Scorer(reward, nan_value, 'task_reward_func')

    async def fn(task: Any, trace: Any) -> float:
        if not hasattr(task, answer_field):
            raise AttributeError(
                f'task data {type(task).__name__} has no field {answer_field!r} (answer_field)'
            )
        value, info = await scorer(_reply(trace), getattr(task, answer_field))
        for outcome in OUTCOMES:
            trace.record_metric(f'{label}/{outcome}', float(info['outcome'] == outcome))
        trace.info.setdefault('twinkle', {})[label] = info
        return value

    fn.__name__ = fn.__qualname__ = label
    fn.scorer = scorer
    return fn


def _reply(trace: Any) -> str:
    reply = getattr(trace, 'last_reply', None)
    return reply if isinstance(reply, str) else content_text(reply) or ''


_DEFAULT: Dict[str, Callable[..., Any]] = {}


async def math_reward(task: Any, trace: Any) -> float:
    """``MathReward`` of ``trace.last_reply`` against ``task.answer``, a plugged ``verifiers.v1`` reward function."""
    if 'fn' not in _DEFAULT:
        _DEFAULT['fn'] = task_reward_func()
    return await _DEFAULT['fn'](task, trace)
