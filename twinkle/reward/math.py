"""MathReward and GSM8KReward: is the completion's final answer the gold answer?

Scores are 1.0 (equal), 0.0 (not equal, no committed answer, a sympy timeout) or NaN
(abstain) when the ground truth is unusable (see :mod:`twinkle.math.checker`); ``explain``,
``explain_ids`` and ``return_details=True`` give the method behind each score.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Sequence, Tuple, Union

from twinkle.math.checker import MathChecker, Verdict
from twinkle.math.config import MathConfig
from twinkle.math.spans import MarkerTable, decode_answer_spans, find_answer_spans
from twinkle.reward.base import (
    check_batch,
    check_token_inputs,
    ground_truth_text,
    last_completion,
    last_prompt,
    require_tokenizer,
)
from twinkle.reward.module import RewardModule

__all__ = ['MathReward', 'GSM8KReward']


class MathReward(RewardModule):
    """1.0 when the final answer equals the ground truth, else 0.0.

    Args:
        ground_truth_key: the ``user_data`` key holding the ground truth; then
            'ground_truth', then 'answer' are tried, else the ground-truth trajectory's
            last message. The text may be a full solution (its last ``\\boxed{}``), a
            GSM8K answer (``#### N``) or a bare value.
        config: a :class:`twinkle.math.MathConfig`; keyword overrides of its fields
            may be given directly (``MathReward(sympy_deadline_s=2.0)``).
        tokenizer: a Hugging Face tokenizer, needed only by the token path
            (:meth:`score_ids`, :meth:`explain_ids`).

    >>> reward_fn = MathReward()
    >>> traj = {'messages': [{'role': 'assistant', 'content': r'So $\\boxed{\\dfrac{1}{2}}$.'}]}
    >>> gt = {'messages': [], 'user_data': [('solution', '0.5')]}
    >>> reward_fn([traj], [gt])
    [1.0]
    >>> rewards, details = reward_fn([traj], [gt], return_details=True)
    >>> details[0].method, details[0].answer
    ('exact', '\\\\dfrac{1}{2}')
    """

    name = 'math'

    def __init__(
        self,
        ground_truth_key: str = 'solution',
        config: Optional[MathConfig] = None,
        tokenizer: Any = None,
        **config_overrides: Any,
    ):
        if not isinstance(ground_truth_key, str) or not ground_truth_key:
            raise ValueError(f'MathReward.ground_truth_key must be a non-empty str, got {ground_truth_key!r}')
        config = config or MathConfig()
        if config_overrides:
            names = {f.name for f in dataclasses.fields(MathConfig)}
            bad = sorted(set(config_overrides) - names)
            if bad:
                raise TypeError(
                    f'MathReward got unknown options {bad}; MathConfig fields are {sorted(names)}'
                )
            config = dataclasses.replace(config, **config_overrides)
        if config.sympy_deadline_s <= 0:
            raise ValueError(f'MathConfig.sympy_deadline_s must be > 0, got {config.sympy_deadline_s}')
        if config.num_workers < 1:
            raise ValueError(f'MathConfig.num_workers must be >= 1, got {config.num_workers}')
        super().__init__(tokenizer=tokenizer)
        self.ground_truth_key = ground_truth_key
        self.keys: Tuple[str, ...] = tuple(dict.fromkeys((ground_truth_key, 'ground_truth', 'answer')))
        self.config = config
        self.checker = MathChecker(config)
        self._table = None  # the tokenizer's MarkerTable, fetched on the first token-path call

    # ---------------------------------------------------------------------------------
    def explain(self, trajectories: Sequence[Any], ground_truths: Sequence[Any]) -> List[Verdict]:
        """One :class:`twinkle.math.Verdict` per trajectory (reward, answer, gold, method, reason, seconds).

        >>> v = MathReward().explain(['The answer is 8 or 9?'], ['8'])[0]
        >>> v.reward, v.method, v.reason
        (0.0, 'no_answer', 'hedged')
        """
        gts = check_batch(trajectories, ground_truths, type(self).__name__, True)
        completions = [last_completion(t) for t in trajectories]
        golds = [ground_truth_text(g, self.keys) for g in gts]
        questions = [last_prompt(t) for t in trajectories]
        if all(q is None for q in questions):
            questions = None
        return self.checker.check(completions, golds, questions=questions)

    def score_trajectories(
        self,
        trajectories: Sequence[Any],
        ground_truths: Optional[Sequence[Any]] = None,
        return_details: bool = False,
    ) -> Union[List[float], Tuple[List[float], List[Verdict]]]:
        """Rewards for a batch: the standard call ``reward(trajectories, ground_truths)``.

        Args:
            trajectories: B trajectories (dicts, ``Trajectory`` objects or strings).
            ground_truths: B ground truths, or one per prompt when the B trajectories
                are P groups of B // P consecutive samples.
            return_details: also return the per-sample :class:`Verdict` list.

        Returns:
            ``list[float]`` of length B (and the verdicts when asked).
        """
        verdicts = self.explain(trajectories, ground_truths)
        rewards = [v.reward for v in verdicts]
        return (rewards, verdicts) if return_details else rewards

    def score_texts(self, completions: Sequence[Any], ground_truths: Sequence[Any]) -> List[float]:
        """Rewards for plain strings (no trajectories): completions and ground-truth texts.

        >>> MathReward().score_texts([r'\\boxed{3\\sqrt{2}}'], [r'\\sqrt{18}'])
        [1.0]
        """
        return self.checker.score(completions, ground_truths)

    # ---------------------------------------------------------------------------------
    def score_ids(
        self, input_ids: Any, lengths: Any = None, ground_truths: Any = None, *, attention_mask: Any = None
    ) -> Any:
        """Rewards for completion token ids (also the module's ``forward``).

        Args:
            input_ids: ``(B, L)`` integer tensor of completion tokens.
            lengths: ``(B,)`` integer tensor (or list): valid tokens per row (right
                padding; clamped to ``[0, L]``), or None (every row is L long).
            ground_truths: B ground truths (texts or trajectories), or one per prompt.
            attention_mask: ``(B, L)`` 0/1 or bool, or None: masked positions are skipped
                wherever they are (left padding, holes).

        Returns:
            ``rewards (B,)`` float32 tensor on ``input_ids.device`` (NaN = abstain), the
            verdicts of the decoded rows (a tokenizer that splits markers into unflagged
            pieces gets whole rows decoded).

        >>> import torch
        >>> class Tok:
        ...     def __len__(self):
        ...         return 128
        ...     def decode(self, ids, skip_special_tokens=True):
        ...         return ''.join(chr(i) for i in ids)
        >>> ids = torch.tensor([[ord(c) for c in 'x #### 4'], [ord(c) for c in 'so 5.   ']])
        >>> MathReward(tokenizer=Tok()).score_ids(ids, torch.tensor([8, 5]), ['4', '4']).tolist()
        [1.0, 0.0]
        """
        import torch

        verdicts, device = self._verdicts_ids(input_ids, lengths, ground_truths, attention_mask)
        return torch.tensor([v.reward for v in verdicts], dtype=torch.float32, device=device)

    def explain_ids(
        self, input_ids: Any, lengths: Any = None, ground_truths: Any = None, *, attention_mask: Any = None
    ) -> List[Verdict]:
        """One :class:`twinkle.math.Verdict` per row of token ids (arguments as :meth:`score_ids`)."""
        return self._verdicts_ids(input_ids, lengths, ground_truths, attention_mask)[0]

    def _verdicts_ids(
        self, input_ids: Any, lengths: Any, ground_truths: Any, attention_mask: Any
    ) -> Tuple[List[Verdict], Any]:
        """The token path: decodes only each row's answer span (:mod:`twinkle.math.spans`)."""
        ids, lengths, golds = self._token_inputs(input_ids, lengths, ground_truths, attention_mask)
        spans, rows = find_answer_spans(ids, lengths, self._marker_table(), self.config)
        texts, extractions = decode_answer_spans(rows, spans, self._decode, self.config.strict)
        return self.checker.check(texts, golds, extractions), ids.device

    def _token_inputs(
        self, input_ids: Any, lengths: Any, ground_truths: Any, attention_mask: Any
    ) -> Tuple[Any, Any, List[Optional[str]]]:
        """Validated ``(input_ids, lengths, golds)``, masked positions moved out (no host sync)."""
        import torch

        who = type(self).__name__
        require_tokenizer(self, 'score_ids')
        if lengths is not None and not isinstance(lengths, torch.Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths is not None and lengths.is_floating_point():  # whole numbers given as floats are accepted
            lengths = lengths.to(torch.int64)
        check_token_inputs(input_ids, attention_mask, lengths, who, values=False)
        if attention_mask is not None:
            input_ids, lengths = _left_align(input_ids, lengths, attention_mask)
        golds = check_batch(list(range(input_ids.shape[0])), ground_truths, who, True)
        golds = [g if isinstance(g, str) or g is None else ground_truth_text(g, self.keys) for g in golds]
        return input_ids, lengths, golds

    def _marker_table(self) -> MarkerTable:
        """The tokenizer's :class:`MarkerTable`, fetched on the first token-path call."""
        if self._table is None:
            self._table = MarkerTable.of(self.tokenizer)
        return self._table

    def _decode(self, rows: List[List[int]]) -> List[str]:
        if not rows:
            return []
        if hasattr(self.tokenizer, 'batch_decode'):
            return list(self.tokenizer.batch_decode(rows, skip_special_tokens=True))
        return [self.tokenizer.decode(r, skip_special_tokens=True) for r in rows]


def _left_align(input_ids: Any, lengths: Any, attention_mask: Any) -> Tuple[Any, Any]:
    """``(ids, lengths)`` with each row's kept ids moved to the front in order (right-padded layout)."""
    import torch

    b, width = input_ids.shape
    keep = attention_mask.to(device=input_ids.device, dtype=torch.bool)
    if lengths is not None:
        keep = keep & (
            torch.arange(width, device=input_ids.device)[None, :] < lengths.to(input_ids.device)[:, None]
        )
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
    return input_ids.gather(1, order), keep.sum(1)


class GSM8KReward(MathReward):
    """MathReward with GSM8K defaults: the gold is read from user_data 'answer' first.

    A GSM8K gold ends in ``#### N``; completions are judged by MathReward's rules.

    >>> GSM8KReward()(['He pays 3 * 4 = 12 dollars.\\n#### 12'], ['... so 12.\\n#### 12'])
    [1.0]
    """

    name = 'gsm8k'

    def __init__(
        self,
        ground_truth_key: str = 'answer',
        config: Optional[MathConfig] = None,
        tokenizer: Any = None,
        **config_overrides: Any,
    ):
        super().__init__(ground_truth_key, config, tokenizer, **config_overrides)
