"""The scorer behind the server, the offline CLI and the Ray actors.

A :class:`Scorer` holds the rewards named on a command line (``math``, ``format=0.5``,
``my_pkg.rewards:length``) and scores a batch in one call per reward, so every caller
gets the rewards' batched paths. Per sample it returns the weighted reward, each part's
reward and an explanation per part: the outcome (:data:`OUTCOMES`) and, for rewards that
explain themselves, the fields of their :class:`twinkle.math.Verdict`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import re
import warnings
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

# Outcomes and their rules are the trainer adapters' own (twinkle.integrations.outcomes):
# the server's metrics and the offline summary count the same things.
from twinkle.integrations.outcomes import OUTCOMES  # noqa: E402
from twinkle.integrations.outcomes import outcome_of_method as outcome_of  # noqa: E402

__all__ = [
    'RewardSpec',
    'SampleScore',
    'Scorer',
    'OUTCOMES',
    'BUILTIN_REWARDS',
    'parse_reward_spec',
    'add_reward_argument',
    'build_reward',
    'outcome_of',
    'solved',
    'as_json_number',
    'sample_record',
    'as_trajectory',
]

#: Rewards known by name; ``module:attr`` names any other.
BUILTIN_REWARDS = ('math', 'gsm8k', 'format', 'has_think_and_answer', 'tag_count', 'boxed')

# Former names of built-in rewards, still accepted with a DeprecationWarning: the reward is
# the new name's, its part keeps the name it was given.
_DEPRECATED_NAMES = {'seed_format': 'has_think_and_answer'}

# Options a math reward accepts from the command line (MathConfig fields).
_MATH_OPTIONS = ('sympy_deadline_s', 'num_workers', 'extraction')

_SPEC = re.compile(r'^(?P<source>[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?)(?:=(?P<weight>.+))?$')


class RewardSpec(NamedTuple):
    """One reward of a scorer: where it comes from and its weight.

    Attributes:
        source: a built-in name (:data:`BUILTIN_REWARDS`) or ``module:attr``.
        weight: its weight in the total.
    """

    source: str
    weight: float = 1.0


class SampleScore(NamedTuple):
    """One sample's result.

    Attributes:
        reward: the weighted total; NaN when a part abstained (``nan_policy='propagate'``).
        parts: each reward's own value, by part name (NaN: that reward abstained).
        explanation: by part name, a dict with 'outcome' (one of :data:`OUTCOMES`) and,
            for explaining rewards, 'answer', 'gold', 'method', 'reason' and 'rule'.
    """

    reward: float
    parts: Dict[str, float]
    explanation: Dict[str, Dict[str, Any]]


def parse_reward_spec(text: Any) -> RewardSpec:
    """Parses ``name``, ``name=weight`` or ``module:attr=weight``.

    >>> parse_reward_spec('format=0.5')
    RewardSpec(source='format', weight=0.5)
    >>> parse_reward_spec('my_pkg.rewards:length').source
    'my_pkg.rewards:length'
    """
    if isinstance(text, RewardSpec):
        return text
    if not isinstance(text, str):
        raise TypeError(
            f'reward must be a str such as "math" or "format=0.5", got {type(text).__name__} {text!r}'
        )
    m = _SPEC.match(text.strip())
    if m is None:
        raise ValueError(
            f'reward {text!r} is not NAME, NAME=WEIGHT or MODULE:ATTR[=WEIGHT] '
            f'(built-in names: {", ".join(BUILTIN_REWARDS)})'
        )
    source, weight = m.group('source'), m.group('weight')
    if source in _DEPRECATED_NAMES:
        warnings.warn(
            f'reward name {source!r} is deprecated and will be removed; use '
            f'{_DEPRECATED_NAMES[source]!r}, the same reward (its part is then named so)',
            DeprecationWarning,
            stacklevel=2,
        )
    elif ':' not in source and source not in BUILTIN_REWARDS:
        raise ValueError(
            f'reward {source!r} is not a built-in reward ({", ".join(BUILTIN_REWARDS)}); '
            'name another one as module:attr'
        )
    try:
        w = 1.0 if weight is None else float(weight)
    except ValueError:
        raise ValueError(f'reward {text!r}: weight {weight!r} is not a number') from None
    if not math.isfinite(w):
        raise ValueError(f'reward {text!r}: weight must be finite, got {w}')
    return RewardSpec(source, w)


def add_reward_argument(parser: argparse.ArgumentParser) -> None:
    """The repeatable ``--reward SPEC`` option of the command lines (into ``rewards``)."""
    parser.add_argument(
        '--reward',
        action='append',
        dest='rewards',
        metavar='SPEC',
        help=f'a reward: {", ".join(BUILTIN_REWARDS)} or module:attr, optionally =WEIGHT; '
        'repeat for several (default: math)',
    )


def solved(outcome: str, reward: float) -> bool:
    """Whether a sample counts as solved for pass@k: a correct verdict, or a 'scored' reward above 0.

    >>> solved('correct', 1.0), solved('scored', 0.25), solved('scored', 0.0), solved('timeout', 0.0)
    (True, True, False, False)
    """
    return outcome == 'correct' or (outcome == 'scored' and reward > 0)


def _build_builtin(source: str, math_options: Mapping[str, Any]) -> Any:
    # Imports are local: the format rewards pull in torch tables, the math one sympy's
    # worker pool; a scorer pays only for the rewards it names.
    if source in ('math', 'gsm8k'):
        from twinkle.reward.math import GSM8KReward, MathReward

        cls = MathReward if source == 'math' else GSM8KReward
        return cls(**dict(math_options))
    from twinkle.reward import format as fmt

    source = _DEPRECATED_NAMES.get(source, source)
    if source == 'has_think_and_answer':
        return fmt.has_think_and_answer
    classes = {'format': fmt.FormatReward, 'tag_count': fmt.TagCountReward, 'boxed': fmt.BoxedReward}
    if source not in classes:
        raise ValueError(f'reward {source!r} is not a built-in reward ({", ".join(BUILTIN_REWARDS)})')
    return classes[source]()


def _build_imported(source: str) -> Any:
    module_name, _, attr = source.partition(':')
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f'reward {source!r}: cannot import {module_name!r}: {e}') from None
    for part in attr.split('.'):
        if not hasattr(obj, part):
            raise ValueError(f'reward {source!r}: {module_name!r} has no attribute {attr!r}')
        obj = getattr(obj, part)
    # A class is built with no arguments; an instance or a function is used as it is.
    return obj() if inspect.isclass(obj) else obj


def build_reward(spec: RewardSpec, math_options: Optional[Mapping[str, Any]] = None) -> Any:
    """The reward object of one spec (a twinkle Reward, or a function wrapped as one).

    >>> build_reward(RewardSpec('math'), {'sympy_deadline_s': 2.0}).config.sympy_deadline_s
    2.0
    """
    from twinkle.reward.base import as_reward

    if ':' in spec.source:
        return as_reward(_build_imported(spec.source))
    return as_reward(_build_builtin(spec.source, math_options or {}))


def _unique(names: List[str]) -> List[str]:
    # 'math' twice (two weights, two deadlines) becomes 'math' and 'math_1', as in
    # CombinedReward (the same rule), so parts stay apart in logs and output columns.
    from twinkle.reward.base import _unique_names

    return _unique_names(names)


def _part_name(spec: RewardSpec, reward: Any) -> str:
    if ':' not in spec.source:
        return spec.source
    return reward.reward_name() if hasattr(reward, 'reward_name') else spec.source


class Scorer:
    """Rewards by name, scored together on batches, with explanations.

    Args:
        rewards: reward specs (``'math'``, ``'format=0.5'``, ``'pkg.mod:attr'``, or
            :class:`RewardSpec`); at least one.
        nan_policy: 'propagate' (a part's NaN makes the total NaN) or 'zero' (it counts
            as 0), as in :class:`twinkle.reward.CombinedReward`.
        math_options: :class:`twinkle.math.MathConfig` overrides for the math rewards
            ('sympy_deadline_s', 'num_workers', 'extraction').

    Thread-safe as far as its rewards are (the built-in ones are): the server scores
    batches from several threads.

    >>> scorer = Scorer(['math'])
    >>> s = scorer.score([r'So $\\boxed{\\frac12}$.'], ['0.5'])[0]
    >>> s.reward, s.explanation['math']['outcome'], s.explanation['math']['method']
    (1.0, 'correct', 'exact')
    """

    def __init__(
        self,
        rewards: Sequence[Any],
        nan_policy: str = 'propagate',
        math_options: Optional[Mapping[str, Any]] = None,
    ):
        if isinstance(rewards, (str, RewardSpec)) or not rewards:
            raise ValueError(f'Scorer.rewards must be a non-empty list of reward specs, got {rewards!r}')
        if nan_policy not in ('propagate', 'zero'):
            raise ValueError(f"Scorer.nan_policy must be 'propagate' or 'zero', got {nan_policy!r}")
        math_options = dict(math_options or {})
        bad = sorted(set(math_options) - set(_MATH_OPTIONS))
        if bad:
            raise ValueError(f'Scorer.math_options: unknown options {bad}; known: {list(_MATH_OPTIONS)}')
        self.specs: Tuple[RewardSpec, ...] = tuple(parse_reward_spec(r) for r in rewards)
        self.rewards = [build_reward(s, math_options) for s in self.specs]
        self.weights = [s.weight for s in self.specs]
        self.names = _unique([_part_name(s, r) for s, r in zip(self.specs, self.rewards)])
        self.nan_policy = nan_policy
        self.math_options = math_options
        from twinkle.reward.format import _fused_groups

        # Format rewards that can scan together (as CombinedReward's): one scan per group,
        # each part with the values it would get alone.
        self._fused = _fused_groups(self.rewards, 'Scorer', self.names)

    def describe(self) -> List[Dict[str, Any]]:
        """The parts as ``[{'name', 'source', 'weight'}]`` (for /health and summaries)."""
        return [{'name': n, 'source': s.source, 'weight': s.weight} for n, s in zip(self.names, self.specs)]

    def score(
        self, trajectories: Sequence[Any], ground_truths: Optional[Sequence[Any]] = None
    ) -> List[SampleScore]:
        """Scores a batch.

        Args:
            trajectories: B trajectories (dicts with 'messages', or completion strings).
            ground_truths: B ground truths (strings, numbers, ground-truth trajectories
                or None), or None when no reward needs them.

        Returns:
            B :class:`SampleScore`.
        """
        n = len(trajectories)
        if ground_truths is not None and len(ground_truths) != n:
            raise ValueError(f'Scorer.score: {len(ground_truths)} ground truths for {n} trajectories')
        columns: List[Any] = [None] * len(self.rewards)
        if n:
            for idx, scan in self._fused:
                for i, (values, _) in zip(idx, scan.part_values(trajectories, ground_truths, lists=False)):
                    # float32, as score() gives a part alone
                    columns[i] = (values.astype(np.float32).tolist(), None)
        for i, r in enumerate(self.rewards):
            if columns[i] is None:
                columns[i] = self._score_part(r, trajectories, ground_truths, n)
        return [self._sample(i, columns) for i in range(n)]

    def _score_part(
        self, reward: Any, trajectories: Sequence[Any], ground_truths: Any, n: int
    ) -> Tuple[List[float], Optional[list]]:
        """One reward on the whole batch: (values, verdicts or None)."""
        if not n:
            return [], None
        explain = getattr(reward, 'explain', None)
        if callable(explain):
            gts = list(ground_truths) if ground_truths is not None else [None] * n
            verdicts = explain(trajectories, gts)
            return [float(v.reward) for v in verdicts], verdicts
        from twinkle.integrations.scoring import score

        values = score(reward, trajectories, ground_truths, token_path=False)
        return [float(v) for v in values.tolist()], None

    def _sample(self, i: int, columns: Sequence[Tuple[List[float], Optional[list]]]) -> SampleScore:
        parts: Dict[str, float] = {}
        explanation: Dict[str, Dict[str, Any]] = {}
        total = 0.0
        for name, w, (values, verdicts) in zip(self.names, self.weights, columns):
            v = values[i]
            parts[name] = v
            if verdicts is None:
                explanation[name] = {'outcome': outcome_of(v)}
            else:
                explanation[name] = _verdict_dict(verdicts[i])
            if math.isnan(v) and self.nan_policy == 'zero':
                continue
            total += w * v
        return SampleScore(total, parts, explanation)


def as_trajectory(completion: Any, prompt: Optional[str] = None) -> Dict[str, Any]:
    """A completion (and its prompt) as the reward API's trajectory: a user turn, an assistant turn.

    >>> as_trajectory('4', 'What is 2+2?')['messages'][-1]
    {'role': 'assistant', 'content': '4'}
    """
    messages = [{'role': 'user', 'content': prompt}] if prompt is not None else []
    messages.append({'role': 'assistant', 'content': completion})
    return {'messages': messages}


def _verdict_dict(v: Any) -> Dict[str, Any]:
    # 'seconds' is left out: it is timing, not part of the verdict, and would make two
    # scorings of the same sample differ.
    return {
        'outcome': outcome_of(float(v.reward), v.method),
        'answer': v.answer,
        'gold': v.gold,
        'method': v.method,
        'reason': v.reason,
        'rule': v.rule,
    }


def as_json_number(x: float) -> Optional[float]:
    """NaN (abstain) as None, since JSON has no NaN.

    >>> as_json_number(float('nan')), as_json_number(0.5)
    (None, 0.5)
    """
    return None if math.isnan(x) else x


def sample_record(s: SampleScore) -> Dict[str, Any]:
    """A :class:`SampleScore` as a JSON-ready dict ('reward', 'rewards', 'explanation'), NaN as None.

    >>> sample_record(SampleScore(float('nan'), {'math': float('nan')}, {'math': {'outcome': 'abstain'}}))
    {'reward': None, 'rewards': {'math': None}, 'explanation': {'math': {'outcome': 'abstain'}}}
    """
    return {
        'reward': as_json_number(s.reward),
        'rewards': {k: as_json_number(v) for k, v in s.parts.items()},
        'explanation': s.explanation,
    }
