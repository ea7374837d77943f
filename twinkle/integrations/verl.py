"""twinkle rewards in verl's Reward Loop (verl 0.9.1); set-up in ``docs/integrations.md``.

Two ways in:

1. A custom reward function (``reward.custom_reward_function``: ``path:
   pkg://twinkle.integrations.verl``, ``name: compute_score``), run by verl's own managers.
   :func:`compute_score` returns ``score`` and twinkle's explanation (``outcome``,
   ``method``, ``answer``, ``timeout``, ``abstained``, ``acc``), which verl logs as
   ``reward_extra_info``. The sympy deadline kills worker processes rather than using
   SIGALRM, so it holds in verl's thread executor too.
2. :class:`TwinkleRewardManager` (``reward.reward_manager``: ``source: importlib``,
   ``name: TwinkleRewardManager``, ``module.path: pkg://twinkle.integrations.verl``; or
   ``source: register``, ``name: twinkle``) scores a chunk's response token ids in one call.

verl has no "no reward" value, so an abstention (NaN) scores ``nan_value`` (0.0 by default)
with ``abstained`` 1.0. Use ``pkg://`` paths: a file path makes verl run this module twice.

>>> compute_score('openai/gsm8k', 'So the answer is $\\\\boxed{72}$.', '72')['score']
1.0
"""

from __future__ import annotations

import importlib
import inspect
import math
import sys
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence

from twinkle.integrations._batching import AsyncBatcher
from twinkle.integrations.outcomes import Explained, Explainer, check_nan_value, explain

__all__ = [
    'VerlScorer',
    'compute_score',
    'compute_score_batch',
    'default_reward',
    'TwinkleRewardManager',
    'verl_fields',
]


def default_reward(tokenizer: Any = None):
    """``MathReward`` (with ``tokenizer`` for its token path), the reward used by default."""
    from twinkle.reward.math import MathReward

    return MathReward(tokenizer=tokenizer)


def _text(x: Any) -> Optional[str]:
    """A ground truth as text: verl parquet columns may hold numbers or numpy scalars."""
    if x is None or isinstance(x, str):
        return x
    if hasattr(x, 'item') and getattr(x, 'ndim', 1) == 0:
        x = x.item()
    if isinstance(x, float) and math.isfinite(x) and x == int(x):
        return str(int(x))
    return str(x)


def verl_fields(e: Explained, i: int, nan_value: float) -> Dict[str, Any]:
    """Sample ``i`` as verl's reward dict: ``score`` plus explanation fields.

    Every sample gets the same keys and types (verl stacks them by the first sample's keys), and
    flags are floats so verl's validation metrics average them into rates.
    """
    value = e.values[i]
    score = nan_value if value != value else value  # NaN: the only value unequal to itself
    fields = {'score': score, 'acc': score}
    fields.update(e.info(i))
    return fields


class VerlScorer:
    """verl's reward-function pair for any twinkle reward.

    Args:
        reward: a twinkle Reward or reward function; default :func:`default_reward`.
        by_data_source: optional ``{data_source: reward}`` overrides (verl batches mix
            datasets; each source is scored with its reward, the rest with ``reward``).
        nan_value: the score given where a reward abstains (NaN).

    >>> scorer = VerlScorer(lambda t, g: [float(s == g[0]) for s in t])
    >>> scorer.compute_score('gsm8k', '4', '4')['score'], scorer.compute_score('gsm8k', '5', '4')['score']
    (1.0, 0.0)
    >>> [d['score'] for d in scorer.compute_score_batch(['a', 'a'], ['1', '2'], ['1', '1'])]
    [1.0, 0.0]
    """

    def __init__(
        self,
        reward: Any = None,
        *,
        by_data_source: Optional[Mapping[str, Any]] = None,
        nan_value: float = 0.0,
    ):
        from twinkle.reward.base import as_reward

        self.reward = as_reward(reward if reward is not None else default_reward())
        self.by_data_source: Dict[str, Any] = {
            str(k): as_reward(v) for k, v in (by_data_source or {}).items()
        }
        self.nan_value = check_nan_value(nan_value, 'VerlScorer')
        # One Explainer per reward, made here: verl calls once per sample.
        self._explainers: Dict[int, Explainer] = {
            id(r): Explainer(r) for r in (self.reward, *self.by_data_source.values())
        }

    def compute_score(
        self,
        data_source: Any,
        solution_str: str,
        ground_truth: Any,
        extra_info: Optional[dict] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """One sample's reward dict (the signature verl's managers call).

        Args:
            data_source: the row's ``data_source`` (chooses the reward).
            solution_str: the decoded response.
            ground_truth: the row's ``reward_model['ground_truth']``.
            extra_info: the row's ``extra_info`` (unused).
            **kwargs: ``custom_reward_function.reward_kwargs`` and verl's extras (unused).

        Returns:
            ``{'score', 'acc', 'outcome', 'method', 'answer', 'timeout', 'abstained'}``.
        """
        # verl calls once per sample: the batch path's checks and grouping, for one.
        if not isinstance(solution_str, str):
            raise TypeError(f'compute_score: solution_str must be a str, got {type(solution_str).__name__}')
        reward = (
            self.by_data_source.get(_text(data_source), self.reward) if self.by_data_source else self.reward
        )
        e = self._explainers[id(reward)]([solution_str], [_text(ground_truth)])
        return verl_fields(e, 0, self.nan_value)

    def compute_score_batch(
        self,
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Optional[Sequence[Any]] = None,
        **kwargs: Any,
    ) -> List[Dict[str, Any]]:
        """A batch's reward dicts, one reward call per data source (verl's legacy ``BatchRewardManager`` signature).

        Args:
            data_sources: (B,) data sources (a list or numpy array).
            solution_strs: (B,) decoded responses.
            ground_truths: (B,) ground truths.
            extra_infos: (B,) extra infos, or None (unused).
            **kwargs: ``custom_reward_function.reward_kwargs`` (unused).

        Returns:
            B dicts, as :meth:`compute_score` returns.
        """
        n = len(solution_strs)
        if len(data_sources) != n or len(ground_truths) != n:
            raise ValueError(
                f'compute_score_batch: data_sources ({len(data_sources)}), '
                f'solution_strs ({n}) and ground_truths ({len(ground_truths)}) '
                'must have the same length'
            )
        if extra_infos is not None and len(extra_infos) != n:
            raise ValueError(
                f'compute_score_batch: extra_infos has {len(extra_infos)} entries for {n} samples'
            )
        for i, s in enumerate(solution_strs):
            if not isinstance(s, str):
                raise TypeError(
                    f'compute_score_batch: solution_strs[{i}] must be a str, got {type(s).__name__}'
                )
        groups: Dict[int, List[int]] = {}
        rewards: Dict[int, Any] = {}
        for i, src in enumerate(data_sources):
            r = self.by_data_source.get(_text(src), self.reward)
            groups.setdefault(id(r), []).append(i)
            rewards[id(r)] = r
        out: List[Dict[str, Any]] = [{}] * n
        for key, idx in groups.items():
            e = self._explainers[key]([solution_strs[i] for i in idx], [_text(ground_truths[i]) for i in idx])
            for j, i in enumerate(idx):
                out[i] = verl_fields(e, j, self.nan_value)
        return out


#: Keywords verl itself may add to a reward-function call (with a reward-model router).
_VERL_EXTRAS = frozenset({'reward_router_address', 'reward_model_tokenizer'})
_SCORERS: Dict[tuple, VerlScorer] = {}
_SCORERS_LOCK = threading.Lock()


def _scorer(kwargs: Mapping[str, Any]) -> VerlScorer:
    """The scorer for these ``reward_kwargs`` (MathConfig options), built once per set."""
    if not kwargs:
        scorer = _SCORERS.get(())
        if scorer is not None:
            return scorer
    opts = {k: v for k, v in kwargs.items() if k not in _VERL_EXTRAS}
    key = tuple(sorted(opts.items()))
    scorer = _SCORERS.get(key)
    if scorer is None:
        with _SCORERS_LOCK:  # verl calls from several executor threads at once
            scorer = _SCORERS.get(key)
            if scorer is None:
                from twinkle.reward.math import MathReward

                scorer = _SCORERS[key] = VerlScorer(MathReward(**opts))
    return scorer


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Optional[dict] = None, **kwargs: Any
) -> Dict[str, Any]:
    """verl's per-sample reward function, scoring with ``MathReward``.

    ``custom_reward_function.reward_kwargs`` arrive as ``**kwargs``: :class:`twinkle.math.MathConfig`
    options (``sympy_deadline_s: 2.0``); an unknown one is a TypeError naming it.

    >>> d = compute_score('math', r'so the answer is $\\boxed{\\frac{1}{2}}$', '0.5')
    >>> d['score'], d['outcome'], d['method'], d['answer']
    (1.0, 'correct', 'exact', '\\\\frac{1}{2}')
    """
    return _scorer(kwargs).compute_score(data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Optional[Sequence[Any]] = None,
    **kwargs: Any,
) -> List[Dict[str, Any]]:
    """verl's legacy batch reward function, scoring with ``MathReward``.

    >>> [d['score'] for d in compute_score_batch(['gsm8k'] * 2, ['#### 72', '#### 70'], ['72', '72'])]
    [1.0, 0.0]
    """
    return _scorer(kwargs).compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos)


# ---------------------------------------------------------------------------------------
# The reward manager (needs verl)


def _load_object(spec: str) -> Any:
    """``'pkg.module:name'`` (or ``'pkg.module.name'``) to the object it names."""
    module, sep, name = spec.partition(':')
    if not sep:
        module, _, name = spec.rpartition('.')
    if not module or not name:
        raise ValueError(f"twinkle_reward must be 'package.module:name', got {spec!r}")
    return getattr(importlib.import_module(module), name)


def _manager_base():
    try:
        from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
    except ImportError as e:
        raise ImportError(f'TwinkleRewardManager needs verl (pip install verl): {e}') from e
    return RewardManagerBase


def _make_manager_class():
    base = _manager_base()

    class TwinkleRewardManager(base):
        """A verl reward manager that scores a whole chunk in one twinkle call.

        Each concurrent ``run_single`` queues its sample's response ids and ground truth; one flush,
        after every queued call has run (or after ``batch_wait_s``, to gather streamed samples),
        scores them all with the reward's token path in a thread, deduplicated and decided together.

        Options, under ``reward.reward_kwargs``: ``twinkle_reward`` ('pkg.module:name' of a Reward
        or of a function of the tokenizer returning one; default ``MathReward``), ``nan_value``
        (default 0.0), ``batch_wait_s`` (default 0.0) and ``max_batch`` (default 4096).
        """

        def __init__(
            self,
            config,
            tokenizer,
            compute_score=None,
            reward_router_address=None,
            reward_model_tokenizer=None,
            **kwargs,
        ):
            super().__init__(config, tokenizer, compute_score)
            opts = dict(config.reward.get('reward_kwargs') or {}) if config is not None else {}
            self.reward = self.build_reward(tokenizer, opts.get('twinkle_reward'))
            self.nan_value = check_nan_value(opts.get('nan_value', 0.0), 'TwinkleRewardManager')
            self.pad_id = getattr(tokenizer, 'pad_token_id', None) or 0
            try:
                self.batcher = AsyncBatcher(
                    self._score_sync,
                    wait_s=float(opts.get('batch_wait_s', 0.0)),
                    max_batch=int(opts.get('max_batch', 4096)),
                )
            except ValueError as e:
                raise ValueError(f'TwinkleRewardManager (reward.reward_kwargs): {e}') from None

        @property
        def batches(self):
            """Sizes of the recent batched calls."""
            return self.batcher.sizes

        def build_reward(self, tokenizer, spec: Optional[str] = None):
            """The twinkle reward to score with: ``spec`` if given, else MathReward."""
            if spec is None:
                return default_reward(tokenizer)
            obj = _load_object(str(spec))
            if isinstance(obj, type):  # a Reward class: built with the policy's tokenizer
                return obj(tokenizer=tokenizer) if _has_param(obj, 'tokenizer') else obj()
            if _is_factory(obj):  # a function of the tokenizer
                return obj(tokenizer)
            return obj

        async def run_single(self, data) -> dict:
            item = data[-1:][0]  # multi-sequence outputs: the last sequence, as verl's managers
            response_ids = item.batch['responses']
            valid = int(item.batch['attention_mask'][-response_ids.shape[-1] :].sum())
            ids = response_ids[:valid].tolist()
            gold = _text(item.non_tensor_batch['reward_model'].get('ground_truth'))
            fields = await self.batcher.submit((ids, gold))
            return {'reward_score': fields['score'], 'reward_extra_info': fields}

        def _score_sync(self, items: List[tuple]) -> List[dict]:
            from twinkle.integrations.scoring import uses_token_path

            ids = [i for i, _ in items]
            golds = [g for _, g in items]
            if uses_token_path(self.reward):
                e = explain(self.reward, None, golds, completion_ids=ids, pad_id=self.pad_id)
            else:  # a string-only reward: decode, as verl's own managers do
                texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
                e = explain(self.reward, texts, golds)
            return [verl_fields(e, i, self.nan_value) for i in range(len(ids))]

    return TwinkleRewardManager


def _has_param(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _is_factory(obj: Any) -> bool:
    """A plain function of one positional argument (not a reward, which takes two)."""
    if not inspect.isfunction(obj):
        return False
    params = [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(params) == 1


def _register(cls) -> None:
    """Registers ``cls`` as verl reward manager 'twinkle', once per process."""
    from verl.experimental.reward_loop.reward_manager import registry

    if 'twinkle' not in registry.REWARD_MANAGER:
        registry.register('twinkle')(cls)


_MANAGER = None


def _manager():
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = _make_manager_class()
        _register(_MANAGER)
    return _MANAGER


def __getattr__(name: str):
    # Built on first access so that this module imports without verl.
    if name == 'TwinkleRewardManager':
        return _manager()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


if 'verl.experimental.reward_loop.reward_manager' in sys.modules:
    # Loaded inside a verl process (as its custom reward function, say): register now, so
    # that ``reward_manager.name: twinkle`` resolves there.
    _manager()
