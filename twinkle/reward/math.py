"""MathReward and GSM8KReward: is the completion's final answer the gold answer?

Scores are 1.0 (equal), 0.0 (not equal, no committed answer, a sympy timeout) or NaN
(abstain) when the ground truth is unusable: missing, empty, or not parsable (and not
string-equal to the prediction). The method behind each score is available through
``explain`` or ``return_details=True``; see :mod:`twinkle.math` for the rules.
"""
from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Sequence, Tuple, Union

from twinkle.math.checker import MathChecker, Verdict
from twinkle.math.config import MathConfig
from twinkle.math.spans import MarkerTable, decode_answer_spans, find_answer_spans
from twinkle.reward.base import (Reward, check_batch, check_token_inputs, ground_truth_text,
                                 last_completion, last_prompt)

__all__ = ['MathReward', 'GSM8KReward']


class MathReward(Reward):
    """1.0 when the final answer equals the ground truth, else 0.0.

    Args:
        ground_truth_key: the ``user_data`` key holding the ground truth; then
            'ground_truth', then 'answer' are tried, else the ground-truth trajectory's
            last message. The text may be a full solution (its last ``\\boxed{}``), a
            GSM8K answer (``#### N``) or a bare value.
        config: a :class:`twinkle.math.MathConfig`; keyword overrides of its fields
            may be given directly (``MathReward(sympy_deadline_s=2.0)``).
        tokenizer: a Hugging Face tokenizer, needed only by :meth:`forward`.

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

    def __init__(self, ground_truth_key: str = 'solution', config: Optional[MathConfig] = None,
                 tokenizer: Any = None, **config_overrides: Any):
        if not isinstance(ground_truth_key, str) or not ground_truth_key:
            raise ValueError(f'MathReward.ground_truth_key must be a non-empty str, '
                             f'got {ground_truth_key!r}')
        config = config or MathConfig()
        if config_overrides:
            names = {f.name for f in dataclasses.fields(MathConfig)}
            bad = sorted(set(config_overrides) - names)
            if bad:
                raise TypeError(f'MathReward got unknown options {bad}; MathConfig fields are '
                                f'{sorted(names)}')
            config = dataclasses.replace(config, **config_overrides)
        if config.sympy_deadline_s <= 0:
            raise ValueError(f'MathConfig.sympy_deadline_s must be > 0, '
                             f'got {config.sympy_deadline_s}')
        if config.num_workers < 1:
            raise ValueError(f'MathConfig.num_workers must be >= 1, got {config.num_workers}')
        self.ground_truth_key = ground_truth_key
        self.keys: Tuple[str, ...] = tuple(
            dict.fromkeys((ground_truth_key, 'ground_truth', 'answer')))
        self.config = config
        self.checker = MathChecker(config)
        self.tokenizer = tokenizer
        self._table = None  # the tokenizer's MarkerTable, fetched on the first forward

    # ---------------------------------------------------------------------------------
    def explain(self, trajectories: Sequence[Any], ground_truths: Sequence[Any]) -> List[Verdict]:
        """One :class:`twinkle.math.Verdict` per trajectory: reward, extracted answer,
        gold, method ('exact', 'numeric', 'structural', 'symbolic', 'no_answer',
        'unparsable', 'timeout', 'unparsable_gold'), reason and seconds.

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

    def __call__(self, trajectories: Sequence[Any], ground_truths: Optional[Sequence[Any]] = None,
                 return_details: bool = False
                 ) -> Union[List[float], Tuple[List[float], List[Verdict]]]:
        """Rewards for a batch.

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

    def score_texts(self, completions: Sequence[Any], golds: Sequence[Any]) -> List[float]:
        """Rewards for plain strings (no trajectories).

        >>> MathReward().score_texts([r'\\boxed{3\\sqrt{2}}'], [r'\\sqrt{18}'])
        [1.0]
        """
        return self.checker.score(completions, golds)

    # ---------------------------------------------------------------------------------
    def forward(self, input_ids: Any, lengths: Any, gold_answers: Sequence[Any],
                return_details: bool = False) -> Any:
        """Rewards for token ids (the tensor path).

        Only each row's answer span is decoded: decoding the whole tail of every row was
        98% of a GRPO step (about 110 ms for 1024 rows of ~1,100 Qwen3 tokens on a
        2-core CPU host, against about 21 ms now; see ``twinkle.math.spans``).

        1. A per-token table of marker fragments (:class:`twinkle.math.spans.
           MarkerTable`, built once per tokenizer) flags the tokens of ``\\boxed``,
           ``<answer>``, "answer", ``####``, ``<think>``/``</think>`` and code fences.
        2. On the device, :func:`twinkle.math.spans.marker_slots` keeps per row the
           positions of the last ``config.span_slots`` flagged tokens; no host sync.
        3. One host transfer brings them back with the ids, and
           :func:`twinkle.math.spans.spans_from_slots` (numpy, vectorized over rows)
           takes per row the span from the last cluster of markers (less
           ``config.span_slack_tokens`` of context) to the end, or the last
           ``config.span_tail_tokens`` tokens when there is no marker (steps 2 and 3:
           :func:`twinkle.math.spans.find_answer_spans`).
        4. One ``batch_decode`` decodes the spans; each takes the string path
           (:func:`twinkle.math.spans.decode_answer_spans`). A span
           whose verdict may depend on earlier text (``extract_scoped`` says so: a marker
           at its very start, boxes that may join earlier ones, a concluding sentence
           while earlier markers exist) is decoded again from the last ``</think>`` (or
           the row start).

        So the verdict is the one on the whole decoded row, whatever the span settings
        (they trade speed only). The exception: a marker the model split into tokens none
        of which holds a flagged piece ('bo' + 'xed'); the tokenizer's own encoding is
        probed at table build, and a tokenizer that splits markers that way (one
        character per token) gets whole rows decoded.

        Args:
            input_ids: ``(B, L)`` integer tensor of completion tokens, right-padded.
            lengths: ``(B,)`` integer tensor (or list), the number of valid tokens in each
                row.
            gold_answers: B gold answers (strings), or one per prompt.
            return_details: also return the per-row :class:`twinkle.math.Verdict` list.

        Returns:
            ``rewards (B,)`` float32 tensor on ``input_ids.device`` (NaN = abstain), and
            the verdicts when asked.

        >>> import torch
        >>> class Tok:
        ...     def __len__(self):
        ...         return 128
        ...     def decode(self, ids, skip_special_tokens=True):
        ...         return ''.join(chr(i) for i in ids)
        >>> ids = torch.tensor([[ord(c) for c in 'x #### 4'], [ord(c) for c in 'so 5.   ']])
        >>> MathReward(tokenizer=Tok()).forward(ids, torch.tensor([8, 5]), ['4', '4']).tolist()
        [1.0, 0.0]
        """
        import torch
        ids, lengths, golds = self._token_inputs(input_ids, lengths, gold_answers)
        spans, rows = find_answer_spans(ids, lengths, self._marker_table(), self.config)
        texts, extractions = decode_answer_spans(rows, spans, self._decode, self.config.strict)
        verdicts = self.checker.check(texts, golds, extractions)
        rewards = torch.tensor([v.reward for v in verdicts], dtype=torch.float32,
                               device=ids.device)
        return (rewards, verdicts) if return_details else rewards

    def _token_inputs(self, input_ids: Any, lengths: Any, gold_answers: Sequence[Any]
                      ) -> Tuple[Any, Any, List[Optional[str]]]:
        """Validated ``(input_ids, lengths, golds)`` of a token-path call. ``lengths`` may
        be a list, an array or a tensor; values outside ``[0, L]`` are clamped, not
        refused (the spans clamp them), so the check costs no host sync."""
        import torch
        if self.tokenizer is None:
            raise ValueError('MathReward.forward needs a tokenizer: MathReward(tokenizer=...)')
        if not isinstance(lengths, torch.Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths.is_floating_point():  # whole numbers as floats were always taken
            lengths = lengths.to(torch.int64)
        check_token_inputs(input_ids, None, lengths, type(self).__name__, values=False)
        golds = check_batch(list(range(input_ids.shape[0])), list(gold_answers),
                            'MathReward.forward', True)
        golds = [g if isinstance(g, str) or g is None else ground_truth_text(g, self.keys)
                 for g in golds]
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


class GSM8KReward(MathReward):
    """MathReward with GSM8K defaults: the gold is read from user_data 'answer' first.

    A GSM8K answer ends in ``#### N``; N is the gold. Completions are judged by the same
    rules as MathReward (``#### 72``, ``\\boxed{72}``, "The answer is $72$."...).

    >>> GSM8KReward()(['He pays 3 * 4 = 12 dollars.\\n#### 12'], ['... so 12.\\n#### 12'])
    [1.0]
    """

    name = 'gsm8k'

    def __init__(self, ground_truth_key: str = 'answer', config: Optional[MathConfig] = None,
                 tokenizer: Any = None, **config_overrides: Any):
        super().__init__(ground_truth_key, config, tokenizer, **config_overrides)
