"""One GRPO reward step (format + math + advantage) from token ids, twinkle vs per string.

Workload: P prompts x G samples (512 x 8 by default) of about 1,000 Qwen3 tokens each,
``<think>...</think><answer>...\\boxed{X}...</answer>`` with 10% malformed, shaped like
GRPO groups: per prompt one gold answer (integer, fraction or radical); each sample
answers it in the gold's form (45%), in an equivalent form (15%) or wrongly (40%).

Providers, both starting from the completion token ids:

* ``twinkle``: ``FormatReward`` (the two think/answer searches compiled to one DFA) and
  ``MathReward`` on the ids (``forward``), their sum, ``GRPOAdvantage``. A fresh
  MathReward per repetition, so its verdict cache starts cold every time.
* ``per_string`` (how trainers do it today): ``tokenizer.batch_decode``; per string two
  ``re.search`` (``<think>.*?</think>``, ``<answer>.*?</answer>``, DOTALL); per string
  the last ``\\boxed{}`` parsed with sympy's ``parse_latex`` (the gold too) and
  ``simplify(pred - gold) == 0``, in a worker process with a per-string timeout (a
  string over it scores 0 and its worker is replaced); then the eager advantage
  ``view(-1, G)``, ``mean``, ``std``, subtract, divide.

sympy's LaTeX parser: the antlr backend when its runtime 4.11 is installed, else the
lark backend (``pip install lark``; antlr 4.11 conflicts with math-verify's 4.13). It
takes tens of ms a string, so the baseline takes about 2.5 minutes for the full batch
on 2 idle cores. ``--baseline-strings N`` parses only N evenly spaced strings and scales
the sympy time to the batch (each string is parsed independently, so the cost is
linear); the JSON records whether it was scaled. Every other stage of both providers
always runs on the whole batch.

Run: ``python benchmarks/bench_pipeline.py [--quick]``; writes
``benchmarks/results/bench_pipeline.json`` (``bench_pipeline_quick.json`` with --quick).
Target on a 2-core CPU: twinkle at least 30x faster end to end.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import re
import statistics
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _harness  # noqa: E402

THINK = re.compile(r'<think>.*?</think>', re.DOTALL)
ANSWER = re.compile(r'<answer>.*?</answer>', re.DOTALL)
THINK_ANSWER_SEARCHES = [r'<think>.*?</think>', r'<answer>.*?</answer>']
WORDS = (
    'so we need the value of each term then add multiply divide check again first next '
    'because therefore hence let suppose wait actually maybe simplify factor root square '
    'sum product total remainder fraction equation solve'
).split()


# -- workload -----------------------------------------------------------------------------


def qwen_tokenizer():
    return _harness.qwen_tokenizer('bench_pipeline')


def _body(rng: random.Random, n_chars: int) -> str:
    out, size = [], 0
    while size < n_chars:
        if rng.random() < 0.2:
            a, b = rng.randrange(2, 999), rng.randrange(2, 99)
            s = f'{a} * {b} = {a * b}, and {a} + {b} = {a + b}.'
        else:
            s = ' '.join(rng.choice(WORDS) for _ in range(rng.randrange(6, 16))).capitalize() + '.'
        out.append(s)
        size += len(s) + 1
    return ' '.join(out)


def _gold(rng: random.Random) -> Tuple[str, List[str], str]:
    """(gold latex, equivalent forms, a wrong answer)."""
    kind = rng.random()
    if kind < 0.6:
        n = rng.randrange(1, 2000)
        return str(n), [f'{n}.0', f'{n}.00'], str(n + rng.choice([-2, -1, 1, 10]))
    if kind < 0.9:
        a, b = rng.randrange(1, 30), rng.choice([3, 7, 9, 11, 13])
        return (
            rf'\frac{{{a}}}{{{b}}}',
            [rf'\frac{{{2 * a}}}{{{2 * b}}}', f'{a}/{b}'],
            rf'\frac{{{a + 1}}}{{{b}}}',
        )
    k, m = rng.randrange(2, 6), rng.choice([2, 3, 5])
    return rf'{k}\sqrt{{{m}}}', [rf'\sqrt{{{k * k * m}}}'], rf'{k + 1}\sqrt{{{m}}}'


def _tail(rng: random.Random, answer: str) -> str:
    r = rng.random()
    if r < 0.9:
        return f'\n</think>\n<answer>The result is $\\boxed{{{answer}}}$.</answer>'
    if r < 0.95:  # think never closed
        return f'\n<answer>The result is $\\boxed{{{answer}}}$.</answer>'
    return f'\n</think>\nThe result is $\\boxed{{{answer}}}$.'  # no answer tags


def setup(prompts: int, group: int, tokens: int, tok, seed: int = 0, bodies: int = 64) -> Dict[str, Any]:
    """Completion ids (lists and padded (B, L) int64 with lengths (B,)) and per-prompt golds.

    ``bodies`` distinct reasoning bodies are tokenized once; every sample is a body's
    ids followed by its own tokenized answer tail, so each completion is distinct where it
    matters (the answer) and the setup stays fast.
    """
    rng = random.Random(seed)
    chars = int(tokens * 4.3)  # about 4.3 characters per Qwen3 token on this text
    body_ids = tok(['<think>\n' + _body(rng, chars) for _ in range(bodies)], add_special_tokens=False)[
        'input_ids'
    ]
    golds, tails = [], []
    for _ in range(prompts):
        gold, same, wrong = _gold(rng)
        golds.append(gold)
        for _ in range(group):
            r = rng.random()
            ans = gold if r < 0.45 else rng.choice(same) if r < 0.6 else wrong
            tails.append(_tail(rng, ans))
    tail_ids = tok(tails, add_special_tokens=False)['input_ids']
    ids = [body_ids[rng.randrange(bodies)] + t for t in tail_ids]
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.int64)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    padded = torch.full((len(ids), int(lengths.max())), pad, dtype=torch.int64)
    padded[torch.arange(padded.shape[1]) < lengths[:, None]] = torch.tensor(
        [t for row in ids for t in row], dtype=torch.int64
    )
    return {'ids': ids, 'padded': padded, 'lengths': lengths, 'golds': golds, 'group': group}


# -- the per-string baseline -----------------------------------------------------------------


def last_boxed(text: str) -> Optional[str]:
    """The content of the last ``\\boxed{...}``, braces matched (what trainers extract)."""
    start = text.rfind('\\boxed{')
    if start < 0:
        return None
    i, depth = start + len('\\boxed{'), 1
    for j in range(i, len(text)):
        if text[j] == '{':
            depth += 1
        elif text[j] == '}':
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def _sympy_worker(conn, backend: str) -> None:
    from sympy import simplify
    from sympy.parsing.latex import parse_latex

    while True:
        item = conn.recv()
        if item is None:
            return
        pred, gold = item
        try:
            ok = simplify(parse_latex(pred, backend=backend) - parse_latex(gold, backend=backend)) == 0
        except Exception:  # noqa: BLE001 - the baseline's own behaviour: any failure scores 0
            ok = False
        conn.send(bool(ok))


class SympyJudge:
    """Per-string ``parse_latex`` + ``simplify`` in a worker process, with a timeout per
    string: a string that overruns scores 0 and its worker is killed and replaced."""

    def __init__(self, backend: str, timeout_s: float):
        self.backend, self.timeout_s = backend, timeout_s
        self.ctx = mp.get_context('spawn')
        self.timeouts = 0
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_sympy_worker, args=(child, self.backend), daemon=True)
        self.proc.start()
        self.conn.send(('1', '1'))  # warm: imports and the parser are built before timing
        self.conn.recv()

    def __call__(self, pred: Optional[str], gold: str) -> float:
        if pred is None:
            return 0.0
        self.conn.send((pred, gold))
        if self.conn.poll(self.timeout_s):
            return float(self.conn.recv())
        self.timeouts += 1
        self.proc.kill()
        self.proc.join()
        self._start()
        return 0.0

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


def sympy_backend() -> str:
    """'antlr' when sympy's default parser works here, else 'lark' (or exit with a hint)."""
    from sympy.parsing.latex import parse_latex

    for backend in ('antlr', 'lark'):
        try:
            parse_latex(r'\frac{1}{2}', backend=backend)
            return backend
        except ImportError:
            continue
    sys.exit(
        'bench_pipeline needs a sympy LaTeX parser backend: pip install lark '
        '(or antlr4-python3-runtime==4.11)'
    )


def eager_advantage(rewards: torch.Tensor, group: int, eps: float = 1e-4) -> torch.Tensor:
    g = rewards.view(-1, group)
    return ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True) + eps)).view(-1)


def per_string_step(data: Dict[str, Any], tok, judge: SympyJudge, subset: Sequence[int]) -> Dict[str, Any]:
    """The baseline step; the sympy stage runs on ``subset`` and is scaled to the batch."""
    t0 = time.perf_counter()
    texts = tok.batch_decode(data['ids'], skip_special_tokens=True)
    t1 = time.perf_counter()
    fmt = [1.0 if THINK.search(t) and ANSWER.search(t) else 0.0 for t in texts]
    t2 = time.perf_counter()
    g = data['group']
    math_sub = {}
    for i in subset:
        math_sub[i] = judge(last_boxed(texts[i]), data['golds'][i // g])
    t3 = time.perf_counter()
    # The advantage runs on the whole batch; strings outside the parsed subset count 0.
    math_full = [math_sub.get(i, 0.0) for i in range(len(texts))]
    t4 = time.perf_counter()
    adv = eager_advantage(torch.tensor(fmt) + torch.tensor(math_full), g)
    t5 = time.perf_counter()
    scale = len(texts) / max(1, len(subset))
    stages = {
        'decode_ms': (t1 - t0) * 1e3,
        'format_ms': (t2 - t1) * 1e3,
        'math_ms_measured': (t3 - t2) * 1e3,
        'math_ms': (t3 - t2) * 1e3 * scale,
        'advantage_ms': (t5 - t4) * 1e3,
    }
    stages['total_ms'] = (
        stages['decode_ms'] + stages['format_ms'] + stages['math_ms'] + stages['advantage_ms']
    )
    return {'stages': stages, 'format': fmt, 'math': math_sub, 'advantages': adv}


# -- twinkle ----------------------------------------------------------------------------------


def twinkle_components(tok) -> Tuple[Any, Any, Any, Dict[str, str]]:
    """(format reward, math reward factory, advantage, {component: implementation})."""
    from twinkle.advantage import GRPOAdvantage

    used = {'advantage': 'twinkle.advantage.GRPOAdvantage'}
    try:
        from twinkle.reward.format import FormatReward

        fmt = FormatReward(THINK_ANSWER_SEARCHES, mode='search', flags=re.DOTALL, tokenizer=tok)
        used['format'] = 'twinkle.reward.FormatReward (token ids, DFA scan)'
    except ImportError:
        fmt = None
        used['format'] = 'NOT twinkle: per-string re.search stand-in'
    try:
        from twinkle.reward.math import MathReward

        make_math = lambda: MathReward(tokenizer=tok)  # noqa: E731
        used['math'] = 'twinkle.reward.MathReward (token ids)'
    except ImportError:
        make_math = None
        used['math'] = 'NOT twinkle: per-string sympy stand-in'
    return fmt, make_math, GRPOAdvantage(), used


def twinkle_step(data, tok, fmt, math_reward, advantage, judge) -> Dict[str, Any]:
    from twinkle.integrations import score

    ids, lengths, g = data['padded'], data['lengths'], data['group']
    t0 = time.perf_counter()
    if fmt is not None:
        f = fmt.forward(ids, lengths=lengths)
    else:
        texts = tok.batch_decode(data['ids'], skip_special_tokens=True)
        f = torch.tensor([1.0 if THINK.search(t) and ANSWER.search(t) else 0.0 for t in texts])
    t1 = time.perf_counter()
    if math_reward is not None:
        m = score(math_reward, input_ids=ids, lengths=lengths, ground_truths=data['golds'])
    else:
        texts = tok.batch_decode(data['ids'], skip_special_tokens=True)
        m = torch.tensor([judge(last_boxed(t), data['golds'][i // g]) for i, t in enumerate(texts)])
    t2 = time.perf_counter()
    adv = advantage(f + m, num_generations=g)
    t3 = time.perf_counter()
    stages = {
        'format_ms': (t1 - t0) * 1e3,
        'math_ms': (t2 - t1) * 1e3,
        'advantage_ms': (t3 - t2) * 1e3,
        'total_ms': (t3 - t0) * 1e3,
    }
    return {'stages': stages, 'format': f, 'math': m, 'advantages': adv}


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = _harness.common_args(__doc__.splitlines()[0])
    ap.add_argument('--prompts', type=int, default=None, help='P (default 512, quick 16)')
    ap.add_argument('--group', type=int, default=8, help='G samples per prompt')
    ap.add_argument('--tokens', type=int, default=1000, help='about this many tokens each')
    ap.add_argument(
        '--baseline-strings',
        type=int,
        default=0,
        help='parse only this many strings in the per-string sympy stage and '
        'scale its time to the batch (default 0: parse all)',
    )
    ap.add_argument('--timeout', type=float, default=5.0, help='per-string sympy timeout (s)')
    ap.add_argument('--reps', type=int, default=None, help='twinkle repetitions (median)')
    args = ap.parse_args()
    prompts = args.prompts or (16 if args.quick else 512)
    sub_n = args.baseline_strings or 0
    reps = args.reps or (2 if args.quick else 3)
    tok = qwen_tokenizer()

    t0 = time.perf_counter()
    data = setup(prompts, args.group, args.tokens, tok)
    b = len(data['ids'])
    print(
        f'workload: {prompts} prompts x {args.group} samples, mean '
        f'{float(data["lengths"].float().mean()):.0f} tokens (setup {time.perf_counter() - t0:.1f} s)'
    )
    backend = sympy_backend()
    judge = SympyJudge(backend, args.timeout)
    t0 = time.perf_counter()
    fmt, make_math, advantage, used = twinkle_components(tok)
    build_s = time.perf_counter() - t0
    print('twinkle components:', used)

    try:
        runs = []
        for _ in range(reps):
            math_reward = make_math() if make_math is not None else None  # cold verdict cache
            runs.append(twinkle_step(data, tok, fmt, math_reward, advantage, judge))
        tw = min(runs, key=lambda r: r['stages']['total_ms'])
        tw_stages = {k: statistics.median(r['stages'][k] for r in runs) for k in tw['stages']}
        n_sub = b if sub_n <= 0 else min(b, sub_n)
        subset = sorted({int(i * b / n_sub) for i in range(n_sub)})
        base = per_string_step(data, tok, judge, subset)
        timeouts = judge.timeouts
    finally:
        judge.close()

    fmt_agree = sum(float(a) == float(x) for a, x in zip(tw['format'].tolist(), base['format'])) / b
    tw_math = tw['math'].tolist()
    math_agree = sum(tw_math[i] == v for i, v in base['math'].items()) / max(1, len(base['math']))
    speedup = base['stages']['total_ms'] / tw_stages['total_ms']
    rows = [
        {'provider': 'twinkle', 'B': b, **{k: round(v, 2) for k, v in tw_stages.items()}},
        {'provider': 'per_string', 'B': b, **{k: round(v, 2) for k, v in base['stages'].items()}},
    ]
    _harness.print_table(
        rows, ['provider', 'B', 'decode_ms', 'format_ms', 'math_ms', 'advantage_ms', 'total_ms']
    )
    summary = {
        'target': 'twinkle >= 30x per_string end to end',
        'speedup_end_to_end': speedup,
        'workload': {
            'prompts': prompts,
            'group': args.group,
            'B': b,
            'mean_tokens': float(data['lengths'].float().mean()),
        },
        'twinkle_components': used,
        'twinkle_build_s': build_s,
        'twinkle_reps': reps,
        'baseline_sympy_backend': backend,
        'baseline_sympy_strings_parsed': len(subset),
        'baseline_math_scaled_from_subset': len(subset) < b,
        'baseline_timeouts': timeouts,
        'baseline_timeout_s': args.timeout,
        'format_agreement': fmt_agree,
        'math_agreement_on_parsed_subset': math_agree,
        'mean_total_reward_twinkle': float((tw['format'] + tw['math']).mean()),
        'threads': torch.get_num_threads(),
    }
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary.items()})
    print(
        f'end to end: twinkle {tw_stages["total_ms"]:.0f} ms vs per-string '
        f'{base["stages"]["total_ms"]:.0f} ms'
        + (f' (sympy timed on {len(subset)} of {b} strings, scaled)' if len(subset) < b else '')
        + f' -> {speedup:.1f}x'
    )

    def plot(path: str) -> None:
        import matplotlib.pyplot as plt

        stages = ['decode_ms', 'format_ms', 'math_ms', 'advantage_ms']
        fig, ax = plt.subplots(figsize=(7, 3.2))
        colors = dict(zip(stages, ('tab:purple', 'tab:orange', 'tab:pink', 'tab:gray')))
        for y, r in enumerate(rows):
            left = 0.0
            for s in stages:
                v = r.get(s, 0.0) or 0.0
                ax.barh(y, v, left=left, color=colors[s], label=s[:-3] if y == 1 else None)
                left += v
        ax.set_yticks([0, 1])
        ax.set_yticklabels([r['provider'] for r in rows])
        ax.set_xscale('log')
        ax.set_xlabel(f'ms for one GRPO reward step, B={b}')
        ax.set_title(f'format + math + advantage from token ids: {speedup:.0f}x')
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    _harness.record(args, 'bench_pipeline', rows, summary, plot)


if __name__ == '__main__':
    main()
