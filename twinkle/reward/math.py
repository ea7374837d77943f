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
from twinkle.reward.base import Reward, check_batch, ground_truth_text, last_completion

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
        return self.checker.check(completions, golds)

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
    def forward(self, input_ids: Any, lengths: Any, gold_answers: Sequence[Any]) -> Any:
        """Rewards for token ids (the tensor path).

        Only the last ``config.tail_tokens`` tokens of each row are decoded (the final
        answer lives at the end; decoding whole 8k-token completions would dominate the
        cost). The decoded tail then takes the string path, so answers are judged by the
        same rules. A ``</think>`` earlier than the tail is not seen: the tail is taken
        as the response. The device-side marker scan (finding the span without decoding)
        is the format engine's job and can replace the decode here.

        Args:
            input_ids: ``(B, L)`` integer tensor of completion tokens, right-padded.
            lengths: ``(B,)`` integer tensor, the number of valid tokens in each row.
            gold_answers: B gold answers (strings), or one per prompt.

        Returns:
            ``rewards (B,)`` float32 tensor on ``input_ids.device`` (NaN = abstain).

        >>> import torch
        >>> class Tok:
        ...     def decode(self, ids, skip_special_tokens=True):
        ...         return ''.join(chr(i) for i in ids)
        >>> ids = torch.tensor([[ord(c) for c in 'x #### 4'], [ord(c) for c in 'so 5.   ']])
        >>> MathReward(tokenizer=Tok()).forward(ids, torch.tensor([8, 5]), ['4', '4']).tolist()
        [1.0, 0.0]
        """
        import torch
        if self.tokenizer is None:
            raise ValueError('MathReward.forward needs a tokenizer: MathReward(tokenizer=...)')
        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            raise ValueError('MathReward.forward: input_ids must be a (B, L) tensor')
        b, seq_len = input_ids.shape
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (b,):
            raise ValueError(f'MathReward.forward: lengths must have shape ({b},), '
                             f'got {tuple(lengths.shape)}')
        golds = check_batch(list(range(b)), list(gold_answers), 'MathReward.forward', True)
        tail = max(1, int(self.config.tail_tokens))
        ids_cpu = input_ids.detach().to('cpu')
        lens = lengths.detach().to('cpu').clamp(0, seq_len).tolist()  # one host sync per batch
        texts = []
        for row, n in zip(ids_cpu, lens):
            n = int(n)
            texts.append(self.tokenizer.decode(row[max(0, n - tail):n].tolist(),
                                               skip_special_tokens=True))
        golds = [g if isinstance(g, str) or g is None else ground_truth_text(g, self.keys)
                 for g in golds]
        rewards = self.checker.score(texts, golds)
        return torch.tensor(rewards, dtype=torch.float32, device=input_ids.device)


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
