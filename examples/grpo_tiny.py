"""GRPO on CPU in minutes: a tiny random-init causal LM learns to answer ``####D``.

The task: the prompt is a single digit D; the right completion is ``####D`` followed
by end-of-sequence (three tokens: ``####``, ``D``, ``<eos>``; ``max_tokens=3``), i.e.
GSM8K's answer format around a copy of the prompt. The model (Llama architecture,
hidden 64, 2 layers, a 14-token vocabulary) starts near reward 0; it learns the
format in about 30 steps, then slowly learns to copy the digit (the ``math`` part
climbs from chance, 0.1, over a few hundred steps).

Rewards (twinkle's, weighted by :class:`twinkle.reward.CombinedReward`):

* ``starts``  0.25  ``FormatReward('####', mode='match')``: the completion opens with
  the marker (dense, early signal);
* ``format``  0.25  ``FormatReward(r'####\\d', mode='fullmatch')``: exactly the marker,
  one digit, then stop;
* ``math``    1.00  ``MathReward()``: the answer after ``####`` equals the digit (GSM8K
  style), so the best total is 1.5.

Where twinkle's FormatReward / MathReward are not installed, regex stand-ins with the
same verdicts run instead (the output says which ran).

The loop is the standard training loop: ``sampler.sample`` ->
``reward_fn(response.trajectories, batch.ground_truths)`` ->
``GRPOAdvantage()(rewards, num_generations=G)``, then a clipped policy-gradient (PPO-style)
update written in plain PyTorch: per token ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A)``
with ``r = pi / pi_old``, averaged over a sequence's completion tokens, then over the batch;
no KL term, no reference model.

Run::

    python examples/grpo_tiny.py                  # 300 steps, plot in examples/output/
    python examples/grpo_tiny.py --steps 50 --plot /tmp/curve.png
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from typing import Dict, List, Optional

import torch

from twinkle.advantage import GRPOAdvantage
from twinkle.data import PromptDataLoader
from twinkle.reward import CombinedReward, Reward, check_batch, ground_truth_text, last_completion
from twinkle.sampler import TransformersSampler
from twinkle.sampler.testing import tiny_causal_lm, tiny_tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PLOT = os.path.join(HERE, 'output', 'grpo_tiny.png')
MARKER = '####'


# -- rewards ----------------------------------------------------------------------------


class _RegexFormat(Reward):
    """Stand-in for FormatReward: 1.0 when ``re.<mode>(pattern, completion)`` matches."""

    def __init__(self, pattern: str, mode: str):
        self.pattern, self.mode = re.compile(pattern), mode

    def __call__(self, trajectories, ground_truths=None):
        match = getattr(self.pattern, self.mode)
        return [float(match(last_completion(t) or '') is not None) for t in trajectories]


class _MarkedAnswer(Reward):
    """Stand-in for MathReward on this task: the text after the last ``####`` equals
    the ground truth."""

    def __call__(self, trajectories, ground_truths=None):
        gts = check_batch(trajectories, ground_truths, 'MarkedAnswer', True)
        out = []
        for t, g in zip(trajectories, gts):
            text = last_completion(t) or ''
            ok = MARKER in text and text.rsplit(MARKER, 1)[1].strip() == ground_truth_text(g)
            out.append(float(ok))
        return out


def build_reward() -> tuple:
    """(CombinedReward, {part: 'twinkle' | 'stand-in'})."""
    used = {}
    try:
        from twinkle.reward import FormatReward

        starts, fmt = FormatReward(MARKER, mode='match'), FormatReward(r'####\d', mode='fullmatch')
        used['format'] = 'twinkle.reward.FormatReward'
    except (ImportError, AttributeError):
        starts, fmt = _RegexFormat(MARKER, 'match'), _RegexFormat(r'####\d', 'fullmatch')
        used['format'] = 'stand-in (re)'
    try:
        from twinkle.reward import MathReward

        acc = MathReward()
        used['math'] = 'twinkle.reward.MathReward'
    except (ImportError, AttributeError):
        acc = _MarkedAnswer()
        used['math'] = 'stand-in (string compare)'
    for r, name in ((starts, 'starts'), (fmt, 'format'), (acc, 'math')):
        try:
            r.name = name
        except AttributeError:
            pass
    return CombinedReward([(starts, 0.25), (fmt, 0.25), (acc, 1.0)]), used


# -- policy update ----------------------------------------------------------------------


def pack(prompt_ids: List[List[int]], completion_ids: List[List[int]], num_samples: int, pad_id: int):
    """Prompt + completion rows, right-padded: ``(input_ids (B, T), attention_mask (B, T),
    completion_mask (B, T-1))``; the completion mask marks the targets ``input_ids[:, 1:]``
    that are completion tokens."""
    rows, starts = [], []
    for b, comp in enumerate(completion_ids):
        prompt = prompt_ids[b // num_samples]
        rows.append(prompt + comp)
        starts.append(len(prompt))
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    comp_mask = torch.zeros((len(rows), width - 1), dtype=torch.float32)
    for b, r in enumerate(rows):
        ids[b, : len(r)] = torch.tensor(r)
        attn[b, : len(r)] = 1
        comp_mask[b, starts[b] - 1 : len(r) - 1] = 1.0  # target t+1 is predicted at t
    return ids, attn, comp_mask


def token_logprobs(model, ids, attn):
    """(B, T-1) log-probabilities of each next token under ``model``."""
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
    return torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)


def clipped_pg_loss(logp, old_logp, advantages, comp_mask, clip_eps):
    """GRPO's clipped surrogate: per-token PPO clip, mean over each sequence's completion
    tokens, then over the batch."""
    ratio = torch.exp(logp - old_logp)
    adv = advantages[:, None]
    per_token = -torch.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)
    per_seq = (per_token * comp_mask).sum(1) / comp_mask.sum(1).clamp_min(1.0)
    return per_seq.mean()


# -- the loop -----------------------------------------------------------------------------


def make_rows(n: int, seed: int, digits: int = 10) -> List[Dict[str, str]]:
    rng = random.Random(seed)
    return [{'prompt': str(d), 'solution': str(d)} for d in (rng.randrange(digits) for _ in range(n))]


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=300)
    ap.add_argument('--prompts-per-step', type=int, default=16)
    ap.add_argument('--num-generations', type=int, default=8)
    ap.add_argument('--max-tokens', type=int, default=3)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--ppo-epochs', type=int, default=2)
    ap.add_argument('--clip-eps', type=float, default=0.2)
    ap.add_argument('--digits', type=int, default=10, help='prompts use the digits 0..N-1')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--plot', default=DEFAULT_PLOT, help='PNG path ("" to skip the plot)')
    ap.add_argument('--json', default='', help='also write the curve as JSON here')
    ap.add_argument('--quiet', action='store_true')
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    tok = tiny_tokenizer(chars='0123456789', tags=(MARKER,))
    model = tiny_causal_lm(tok, hidden_size=64, num_layers=2, num_heads=4, max_positions=64, seed=args.seed)
    sampler = TransformersSampler(model, tok)
    reward_fn, used = build_reward()
    advantage_fn = GRPOAdvantage()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    G = args.num_generations
    rows = make_rows(args.prompts_per_step * args.steps, args.seed, args.digits)
    dataloader = PromptDataLoader(rows, batch_size=args.prompts_per_step)
    say = (lambda *a: None) if args.quiet else print
    say(f'task: "D" -> "{MARKER}D<eos>"; vocab {len(tok)}; rewards: {used}')
    say(f'{"step":>4} {"reward":>7} {"starts":>7} {"format":>7} {"math":>7} {"sec":>6}')

    history: List[Dict[str, float]] = []
    t0 = time.perf_counter()
    model.train()
    for step, batch in enumerate(dataloader):
        # 1. sample G completions per prompt (prompt-major)
        response = sampler.sample(
            batch,
            num_samples=G,
            sampling_params={
                'max_tokens': args.max_tokens,
                'temperature': 1.0,
                'seed': args.seed * 100_003 + step,
            },
        )
        # 2. rewards, the standard reward call (per-prompt ground truths are repeated per sample)
        rewards = reward_fn(response.trajectories, batch.ground_truths)
        # 3. advantages
        advantages = advantage_fn(rewards, num_generations=G)
        # 4. clipped policy-gradient update
        ids, attn, comp_mask = pack(response.prompt_token_ids, response.token_ids, G, sampler.pad_token_id)
        with torch.no_grad():
            old_logp = token_logprobs(model, ids, attn)
        for _ in range(args.ppo_epochs):
            loss = clipped_pg_loss(
                token_logprobs(model, ids, attn), old_logp, advantages, comp_mask, args.clip_eps
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        parts = {k: sum(v) / len(v) for k, v in reward_fn.last_parts.items()}
        rec = {
            'step': step,
            'reward': sum(rewards) / len(rewards),
            **parts,
            'seconds': time.perf_counter() - t0,
        }
        history.append(rec)
        if step % 10 == 0 or step == args.steps - 1:
            say(
                f'{step:>4} {rec["reward"]:>7.3f} {parts.get("starts", 0):>7.3f} '
                f'{parts.get("format", 0):>7.3f} {parts.get("math", 0):>7.3f} '
                f'{rec["seconds"]:>6.1f}'
            )

    k = max(1, min(10, len(history) // 5))
    first = sum(h['reward'] for h in history[:k]) / k
    last = sum(h['reward'] for h in history[-k:]) / k
    summary = {
        'task': f'D -> {MARKER}D<eos>',
        'rewards_used': used,
        'steps': len(history),
        'seconds': time.perf_counter() - t0,
        f'mean_reward_first_{k}': first,
        f'mean_reward_last_{k}': last,
        'max_reward': 1.5,
        'history': history,
    }
    say(
        f'mean reward, first {k} steps: {first:.3f}; last {k} steps: {last:.3f} (max 1.5); '
        f'{summary["seconds"]:.0f} s'
    )
    if args.plot:
        _plot(history, args.plot)
        say(f'plot: {args.plot}')
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=1)
    return summary


def _plot(history: List[Dict[str, float]], path: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    steps = [h['step'] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [h['reward'] for h in history], label='total (max 1.5)', lw=2)
    for name in ('starts', 'format', 'math'):
        if name in history[0]:
            ax.plot(steps, [h[name] for h in history], label=name, lw=1, alpha=0.7)
    ax.set_xlabel('GRPO step')
    ax.set_ylabel('mean reward')
    ax.set_title('tiny causal LM, GRPO on CPU: "D" -> "####D<eos>"')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == '__main__':
    main(sys.argv[1:])
