"""MathReward against math-verify: accuracy and cases per second, side by side.

Workloads:
  labelled  the labelled set (tests/math/data/labelled.jsonl): every case has its own gold.
  champ_full, champ_summary  real model text (GPT-3.5 and PaLM 2 Medium on CHAMP's
            competition problems, hand-labelled: tests/math/data/champ_labels.jsonl), the
            full response with its one-sentence summary, or the summary alone; needs the
            champ-dataset package (the test extra). Precision and recall are reported.
            The answer rules were written against these.
  champ_heldout_full, champ_heldout_summary  the same for GPT-4 and GPT-4 Turbo, one
            conversation per problem (tests/math/data/champ_heldout_labels.jsonl),
            labelled by the same rules after they were written; its misses were read
            afterwards and some became rules.
  champ_heldout_b_full, champ_heldout_b_summary  GPT-4 and GPT-4 Turbo under the other
            ten prompt conditions (champ_heldout_b_labels.jsonl), labelled after those
            rules; its misses were read afterwards and some became rules.
  champ_heldout_c_full, champ_heldout_c_summary  the same ten conditions, each problem
            under another condition and model (champ_heldout_c_labels.jsonl), labelled
            while those rules were written; its misses were read afterwards and some
            became rules.
  champ_heldout_d_full, champ_heldout_d_summary  the first held-out set's eight
            conditions, each problem under another condition and the other model
            (champ_heldout_d_labels.jsonl), labelled after all those rules: text no rule
            was written against.
  grpo      GRPO-shaped batches: P prompts x G=8 completions with 2-6 kB of reasoning
            each (reasoning models often write more); within a group most completions
            share an answer (as sampled policies
            do), some are wrong, one is truncated. Labels follow from the labelled pairs.

Providers:
  twinkle_cpu   MathReward on the strings, cold: a fresh checker and cleared parse caches
                for every timed run (only the sympy worker, if any, is kept warm). It is
                given each case's question where the workload has one (CHAMP's problem
                text, the labelled set's question-aware cases), as MathReward reads it
                from a trajectory's prompt.
  twinkle_no_prompt  the same without the questions (completion and gold only, the
                information math-verify gets).
  twinkle_warm  the same reward object called again (its verdict cache warm), for
                reference: what repeated evaluation of the same answers costs.
  math_verify   math-verify 0.9 as its README shows (``verify(parse(gold), parse(answer))``),
                single process; the gold is parsed once per prompt, which favours it.
  math_verify_per_sample  (grpo only) the gold parsed again for every completion, as
                per-sample reward functions in trainers call it. Ratios use math_verify.

All providers are timed in the same process and run, in interleaved rounds (the load of a
shared machine drifts); ratios are twinkle_cpu over math_verify throughput (medians). Results: benchmarks/results/bench_math.json (+ .csv, .png).

Run:  pip install 'math-verify[antlr4_13_2]'   # the bench extra
      python benchmarks/bench_math.py [--quick]
Targets: >= 20x math-verify on labelled and CHAMP, >= 100x on grpo; on CHAMP precision
>= 0.99 and recall >= 0.92 in both variants (the held-out rows are reported beside them).
"""

from __future__ import annotations

import collections
import os
import random
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import _harness  # noqa: E402

from tests.math.labelled_cases import PAIRS, TEMPLATES, load_cases  # noqa: E402
from twinkle.math import MathChecker, MathConfig  # noqa: E402
from twinkle.math.latex import parse_answer, parse_expr  # noqa: E402

G = 8
FILLER = (
    'We start from the given data and set up the equation. Let $a = 3$ and $b = 4$, so '
    '$a^2 + b^2 = 25$ and $\\sqrt{25} = 5$. Next we check the constraint $2x + 1 > 0$, '
    'which holds for every candidate, and then we simplify $\\frac{6}{8} = \\frac{3}{4}$. '
)


class Workload(NamedTuple):
    completions: List[str]
    golds: List[str]
    labels: List[bool]
    groups: List[int]  # group ids
    questions: List[Optional[str]]  # None where unknown


def labelled_workload() -> Workload:
    cases = load_cases()
    return Workload(
        [c['completion'] for c in cases],
        [c['gold'] for c in cases],
        [c['expected'] for c in cases],
        list(range(len(cases))),
        [c['question'] for c in cases],
    )


def grpo_workload(max_prompts: Optional[int] = None, seed: int = 0) -> Workload:
    """Groups of G completions per gold from the labelled value pairs."""
    rnd = random.Random(seed)
    by_gold: Dict[str, Dict[bool, List[str]]] = collections.defaultdict(lambda: {True: [], False: []})
    for rows in PAIRS.values():
        for gold, pred, expected in rows:
            by_gold[gold][bool(expected)].append(pred)
    comps, golds, labels, groups = [], [], [], []
    prompts = [g for g, d in by_gold.items() if d[True] and d[False]]
    if max_prompts:
        prompts = prompts[:max_prompts]
    for p, gold in enumerate(prompts):
        right, wrong = by_gold[gold][True], by_gold[gold][False]
        preds = [(right[0], True)] * 4 + [(right[-1], True), (wrong[0], False), (wrong[0], False)]
        for k, (pred, ok) in enumerate(preds):
            tpl = TEMPLATES[(p + k) % len(TEMPLATES)]
            comps.append(FILLER * rnd.randint(6, 18) + tpl.format(a=pred))
            labels.append(ok)
        comps.append(FILLER * 12 + 'So the final value is \\boxed{' + right[0][:3])  # truncated
        labels.append(False)
        golds += [gold] * G
        groups += [p] * G
    return Workload(comps, golds, labels, groups, [None] * len(comps))


def champ_workload(variant: str, labels: str = 'tuning') -> Optional[Workload]:
    """Real model text: one set of hand-labelled CHAMP pairs (tests/math/champ.py's SETS:
    'tuning', 'heldout', 'heldout_b', 'heldout_c', 'heldout_d'), 'full' responses with their one-sentence summary,
    or the 'summary' alone. None when the champ-dataset package (the test extra) is not
    installed."""
    from tests.math.champ import ChampDatasetMissing, load_champ

    try:
        cases = load_champ(variant, labels=labels)
    except ChampDatasetMissing:
        return None
    return Workload(
        [c['completion'] for c in cases],
        [c['gold'] for c in cases],
        [bool(c['correct']) for c in cases],
        list(range(len(cases))),
        [c['question'] for c in cases],
    )


# ----------------------------------------------------------------------------- providers
def twinkle_cold(comps, golds, questions=None) -> List[float]:
    parse_answer.cache_clear()
    parse_expr.cache_clear()
    return [v.reward for v in MathChecker(MathConfig()).check(comps, golds, questions=questions)]


def twinkle_no_prompt(comps, golds, questions=None) -> List[float]:
    return twinkle_cold(comps, golds)


def make_twinkle_warm() -> Callable:
    checker = MathChecker(MathConfig())
    return lambda comps, golds, questions=None: [
        v.reward for v in checker.check(comps, golds, questions=questions)
    ]


def on_workload(fn: Callable) -> Callable[[Workload], List[float]]:
    """A verifier ``fn(completions, golds, questions)`` as a provider of a workload."""
    return lambda w: fn(w.completions, w.golds, w.questions)


def make_math_verify(gold_once: bool = True) -> Optional[Callable]:
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def gold_text(g: str) -> str:
        return g if ('$' in g or '\\boxed' in g or '####' in g) else f'${g}$'

    def run(comps, golds, questions=None):  # math-verify takes no question
        out, parsed = [], {}
        for c, g in zip(comps, golds):
            if g not in parsed or not gold_once:  # once per prompt, or per sample
                parsed[g] = parse(gold_text(g))
            try:
                out.append(1.0 if verify(parsed[g], parse(c)) else 0.0)
            except Exception:  # noqa: BLE001 - a baseline failure counts as 0, as trainers do
                out.append(0.0)
        return out

    return run


def accuracy(scores: List[float], labels: List[bool]) -> Dict[str, float]:
    n = len(labels)
    right = sum((s == 1.0) == y for s, y in zip(scores, labels))
    fp = sum(s == 1.0 and not y for s, y in zip(scores, labels))
    fn = sum(s != 1.0 and y for s, y in zip(scores, labels))
    tp = sum(s == 1.0 and y for s, y in zip(scores, labels))
    return {
        'accuracy': right / n,
        'false_pos_rate': fp / n,
        'false_neg_rate': fn / n,
        'precision': tp / (tp + fp) if tp + fp else 1.0,
        'recall': tp / (tp + fn) if tp + fn else 1.0,
    }


def main() -> None:
    args = _harness.common_args(__doc__.split('\n')[0]).parse_args()
    workloads = {
        'labelled': labelled_workload(),
        'grpo': grpo_workload(max_prompts=24 if args.quick else None),
    }
    for prefix, labels in (
        ('champ', 'tuning'),
        ('champ_heldout', 'heldout'),
        ('champ_heldout_b', 'heldout_b'),
        ('champ_heldout_c', 'heldout_c'),
        ('champ_heldout_d', 'heldout_d'),
    ):
        for variant in ('full', 'summary'):
            champ = champ_workload(variant, labels)
            if champ is None:
                _harness.skip(
                    f'{prefix}_full, {prefix}_summary', 'champ-dataset is not installed (the test extra)'
                )
                break
            workloads[f'{prefix}_{variant}'] = champ
    mv = make_math_verify()
    if mv is None:
        _harness.skip('math_verify', "not installed (pip install 'math-verify[antlr4_13_2]'): twinkle only")

    def providers(point):
        """twinkle_warm must give twinkle_cpu's verdicts (a cache changes no verdict); the
        verifiers that see less (no prompt) or another rule set (math-verify) are scored
        against the labels instead."""
        p = {
            'twinkle_cpu': on_workload(twinkle_cold),
            'twinkle_warm': on_workload(make_twinkle_warm()),
        }
        if any(q is not None for q in workloads[point['workload']].questions):
            p['twinkle_no_prompt'] = _harness.Provider(on_workload(twinkle_no_prompt), check=False)
        if mv is not None:
            p['math_verify'] = _harness.Provider(on_workload(mv), check=False, once_per_round=True)
            if point['workload'] == 'grpo':
                p['math_verify_per_sample'] = _harness.Provider(
                    on_workload(make_math_verify(gold_once=False)), check=False, once_per_round=True
                )
        return p

    def row(r: _harness.Result) -> dict:
        n = len(r.inputs.completions)
        out = {
            'workload': r.point['workload'],
            'provider': r.provider,
            'cases': n,
            **r.stats,
            'cases_per_s': n / (r.stats['median_ms'] / 1e3),
            **accuracy(r.output, r.inputs.labels),
        }
        print(
            f'{out["workload"]:13} {out["provider"]:22} {out["cases_per_s"]:10.0f} cases/s  '
            f'acc {out["accuracy"]:.3f}  FP {out["false_pos_rate"]:.3f}  '
            f'P {out["precision"]:.3f}  R {out["recall"]:.3f}',
            flush=True,
        )
        return out

    # The agreement call is each provider's warm-up (its verdicts give the accuracy); then
    # interleaved rounds: math-verify once a round, the fast providers for the budget.
    rows = _harness.run_grid(
        [{'workload': w} for w in workloads],
        lambda point: workloads[point['workload']],
        providers,
        reference='twinkle_cpu',
        timing=_harness.Timing(rounds=1 if args.quick else 3, budget_s=0.3 if args.quick else 1.0, warmup=0),
        row=row,
    )
    summary = {}
    for wname, (comps, golds, _, _, questions) in workloads.items():
        n = len(comps)
        by = {r['provider']: r for r in rows if r['workload'] == wname}
        s = {
            'cases': n,
            'mean_completion_chars': sum(map(len, comps)) / n,
            'twinkle_cases_per_s': by['twinkle_cpu']['cases_per_s'],
            'twinkle_accuracy': by['twinkle_cpu']['accuracy'],
            'twinkle_precision': by['twinkle_cpu']['precision'],
            'twinkle_recall': by['twinkle_cpu']['recall'],
        }
        if 'twinkle_no_prompt' in by:
            s.update(
                {
                    'twinkle_no_prompt_precision': by['twinkle_no_prompt']['precision'],
                    'twinkle_no_prompt_recall': by['twinkle_no_prompt']['recall'],
                }
            )
        if 'math_verify' in by:
            s.update(
                {
                    'math_verify_cases_per_s': by['math_verify']['cases_per_s'],
                    'math_verify_accuracy': by['math_verify']['accuracy'],
                    'math_verify_precision': by['math_verify']['precision'],
                    'math_verify_recall': by['math_verify']['recall'],
                    'speedup_vs_math_verify': by['twinkle_cpu']['cases_per_s']
                    / by['math_verify']['cases_per_s'],
                }
            )
        methods = collections.Counter(
            v.method for v in MathChecker().check(comps, golds, questions=questions)
        )
        s['twinkle_methods'] = dict(methods)
        summary[wname] = s
    summary['targets'] = {
        'labelled_speedup': 20,
        'champ_speedup': 20,
        'grpo_speedup': 100,
        'champ_precision': 0.99,
        'champ_recall': 0.92,
    }
    summary['math_verify_installed'] = mv is not None
    print()
    _harness.print_table(
        rows,
        [
            'workload',
            'provider',
            'cases',
            'median_ms',
            'cases_per_s',
            'accuracy',
            'false_pos_rate',
            'precision',
            'recall',
        ],
    )
    for w, s in summary.items():
        if isinstance(s, dict) and 'speedup_vs_math_verify' in s:
            print(
                f"{w}: twinkle {s['speedup_vs_math_verify']:.0f}x math-verify's throughput, "
                f'accuracy {s["twinkle_accuracy"]:.3f} vs {s["math_verify_accuracy"]:.3f}, '
                f'precision {s["twinkle_precision"]:.3f} vs {s["math_verify_precision"]:.3f}, '
                f'recall {s["twinkle_recall"]:.3f} vs {s["math_verify_recall"]:.3f}'
            )

    def plot(path: str) -> None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, key, title in (
            (axes[0], 'cases_per_s', 'cases / s (log)'),
            (axes[1], 'accuracy', 'accuracy on labels'),
        ):
            labels_ = [f'{r["workload"]}\n{r["provider"]}' for r in rows]
            ax.bar(
                range(len(rows)),
                [r[key] for r in rows],
                color=['C0' if 'twinkle' in r['provider'] else 'C1' for r in rows],
            )
            ax.set_xticks(range(len(rows)), labels_, fontsize=7, rotation=30)
            ax.set_title(title)
            if key == 'cases_per_s':
                ax.set_yscale('log')
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    _harness.record(args, 'bench_math', rows, summary, plot)


if __name__ == '__main__':
    t0 = time.perf_counter()
    main()
    print(f'total {time.perf_counter() - t0:.0f}s')
