"""twinkle rewards as an OpenRLHF reward function (OpenRLHF 0.11.2); set-up in
``docs/integrations.md``.

OpenRLHF loads the ``.py`` file given as ``--reward.remote_url`` and calls its
``reward_func(queries, prompts, labels)`` once per sample; point it at this file (scores
with ``MathReward``) or at a file setting ``reward_func = make_reward_func(<a reward>)``.
The answer is ``rewards``, ``scores`` and ``extra_logs`` (0/1 flags per outcome and per
method, ``twinkle/outcome/timeout``..., so logged means are rates). A raised error would
leave the sample unrewarded, so a bad label abstains instead, and NaN becomes
``nan_value`` (0.0) with ``twinkle/outcome/abstain`` set.

>>> out = reward_func(['<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n'
...                    'It is $\\\\boxed{4}$.<|im_end|>'],
...                   ['<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n'], ['4'])
>>> out['rewards'].tolist(), out['extra_logs']['twinkle/outcome/correct'].tolist()
([1.0], [1.0])
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from twinkle.integrations.outcomes import OUTCOMES, Explainer, check_nan_value

__all__ = ['reward_func', 'make_reward_func', 'response_text', 'strip_end_tokens', 'LOG_KEYS']

# End-of-turn tokens a decoded query ends with (ChatML, Llama 2/3, Phi, Gemma, GPT-2 and
# SentencePiece styles); a start token (<|im_start|>) is text the model wrote, and stays.
_END_TOKENS = re.compile(
    r'(?:\s*(?:<\|(?:im_end|endoftext|eot_id|end_of_text|end|eom_id)\|>'
    r'|</s>|<eos>|<end_of_turn>|<pad>))+\s*\Z'
)


def strip_end_tokens(text: str) -> str:
    """``text`` without the end-of-turn tokens at its end (and the whitespace around them).

    >>> strip_end_tokens('<answer>5</answer><|im_end|>\\n<|endoftext|>')
    '<answer>5</answer>'
    >>> strip_end_tokens('a </s> in the middle.\\n</s>')
    'a </s> in the middle.'
    """
    m = _END_TOKENS.search(text)
    return text[: m.start()] if m else text


def _methods() -> tuple:
    from twinkle.math.checker import METHODS

    return METHODS


def log_keys(prefix: str = 'twinkle/') -> List[str]:
    """The ``extra_logs`` keys, the same for every sample and call.

    >>> log_keys()[:2]
    ['twinkle/outcome/correct', 'twinkle/outcome/incorrect']
    """
    return [f'{prefix}outcome/{o}' for o in OUTCOMES] + [f'{prefix}method/{m}' for m in _methods()]


LOG_KEYS = log_keys()


def response_text(query: str, prompt: Any) -> str:
    """The response inside an OpenRLHF query: after the prompt, without trailing special tokens
    (a query that does not start with the prompt is taken whole).

    >>> response_text('Q: 1+1?\\nA: 2<|im_end|><|endoftext|>', 'Q: 1+1?\\n')
    'A: 2'
    """
    if not isinstance(query, str):
        raise TypeError(f'queries must hold strings, got {type(query).__name__}')
    if isinstance(prompt, str) and prompt and query.startswith(prompt):
        query = query[len(prompt) :]
    return strip_end_tokens(query)


def make_reward_func(
    reward: Any = None, *, nan_value: float = 0.0, log_prefix: str = 'twinkle/'
) -> Callable[..., Dict[str, Any]]:
    """An OpenRLHF ``reward_func`` scoring with a twinkle reward.

    Args:
        reward: a twinkle Reward (``MathReward``, ``CombinedReward``...) or reward
            function; default ``MathReward()``.
        nan_value: the reward and score given where the reward abstains (NaN).
        log_prefix: prefix of the ``extra_logs`` keys.

    Returns:
        ``reward_func(queries, prompts, labels, **kwargs) -> {'rewards', 'scores',
        'extra_logs'}``: ``rewards`` and ``scores`` are ``(B,)`` float32 tensors, each
        ``extra_logs`` value a ``(B,)`` float32 tensor of 0/1 flags.

    >>> fn = make_reward_func(lambda t, g: [float(x == y) for x, y in zip(t, g)])
    >>> fn(['Q A'], ['Q '], ['A'])['rewards'].tolist()
    [1.0]
    """
    nan_value = check_nan_value(nan_value, 'make_reward_func')
    keys = log_keys(log_prefix)
    outcome_rows = {o: j for j, o in enumerate(OUTCOMES)}
    methods = {m: len(OUTCOMES) + j for j, m in enumerate(_methods())}
    holder: Dict[str, Any] = {}
    lock = threading.Lock()

    def explainer() -> Explainer:
        # Built on the first call, in the rollout actor that uses it, not at file load.
        if 'explainer' not in holder:
            with lock:
                if 'explainer' not in holder:
                    if reward is None:
                        from twinkle.reward.math import MathReward

                        holder['explainer'] = Explainer(MathReward())
                    else:
                        holder['explainer'] = Explainer(reward)
        return holder['explainer']

    def reward_func(
        queries: Sequence[str], prompts: Sequence[Any], labels: Sequence[Any], **kwargs: Any
    ) -> Dict[str, Any]:
        n = len(queries)
        if len(prompts) != n or len(labels) != n:
            raise ValueError(
                f'reward_func: queries ({n}), prompts ({len(prompts)}) and labels '
                f'({len(labels)}) must have the same length'
            )
        texts = [response_text(q, p) for q, p in zip(queries, prompts)]
        golds = [None if g is None else str(g) for g in labels]
        e = explainer()(texts, golds)
        values = [_no_nan(v, nan_value) for v in e.values]
        # One tensor for rewards, scores and every flag row: OpenRLHF calls once per
        # sample, and a tensor per row (or an indexed write per flag) adds up.
        rows = [[0.0] * n for _ in range(len(keys))]
        for i, o in enumerate(e.outcomes):
            rows[outcome_rows[o]][i] = 1.0
            if e.verdicts is not None:
                rows[methods[e.verdicts[i].method]][i] = 1.0
        table = torch.tensor([values, values] + rows, dtype=torch.float32)
        return {'rewards': table[0], 'scores': table[1], 'extra_logs': dict(zip(keys, table[2:].unbind(0)))}

    reward_func.twinkle_reward = reward
    return reward_func


_F32_MAX = float(torch.finfo(torch.float32).max)


def _no_nan(v: float, nan_value: float) -> float:
    """``torch.nan_to_num(v, nan=nan_value)`` for one float32 value."""
    if v != v:  # NaN: the only value unequal to itself
        return nan_value
    if v in (math.inf, -math.inf):
        return math.copysign(_F32_MAX, v)
    return v


_DEFAULT: Optional[Callable[..., Dict[str, Any]]] = None


def reward_func(
    queries: Sequence[str], prompts: Sequence[Any], labels: Sequence[Any], **kwargs: Any
) -> Dict[str, Any]:
    """OpenRLHF's reward function, scoring with ``MathReward`` (see the module docstring)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = make_reward_func()
    return _DEFAULT(queries, prompts, labels, **kwargs)
