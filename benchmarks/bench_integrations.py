"""What a reward costs through each trainer adapter, beside the trainer's own default reward.

Trainers call a reward function once per sample (verl's ``compute_score``, OpenRLHF's
``reward_func``, verifiers' and slime's per-rollout coroutines) or once per batch (TRL,
verl's TwinkleRewardManager chunk, slime's group rm). Each row is one provider on one
workload in one mode:

  per_call   one sample per call, the calls one after another (what verl's naive
             manager, OpenRLHF's rollout actor and an un-gathered coroutine do);
             ``us_per_call`` is the cost of one call.
  per_batch  B samples per call (B = 64, a few GRPO groups), or B concurrent coroutines
             gathered for the async adapters; ``us_per_call`` is one batch.

``us_per_sample`` is comparable across modes; ``vs_direct`` divides it by
``twinkle_direct`` (``MathReward()(texts, golds)`` called the same way) in the same
mode and workload, so it is the adapter's whole cost relative to the reward alone.

Workloads:
  gsm8k    short GSM8K-style completions ending ``#### N`` (data_source 'openai/gsm8k')
  math     short completions with a ``\\boxed{}`` fraction or integer (data_source
           'lighteval/MATH'); a quarter of each are wrong.
  repeat   one short sample, the same every call: every cache is warm, so the row is the
           adapter's own overhead (per_call only).
Every provider draws its samples from the same generator but with its own numbers (its own
seed), so no provider reads an answer another one cached; twinkle's caches then behave as
in training, where the golds change with every prompt.

Providers, by trainer (a provider whose package is missing is skipped with a line saying so):
  all       twinkle_direct: MathReward called directly on strings.
  verl      compute_score (twinkle.integrations.verl, per sample), compute_score_batch;
            TwinkleRewardManager and verl's naive manager with its default_compute_score,
            both through verl's RewardLoopWorker on a DataProto (token ids decoded or
            scanned inside); verl_default: verl.utils.reward_score.default_compute_score.
  openrlhf  reward_func (twinkle.integrations.openrlhf); OpenRLHF ships no math reward, so
            the baseline is math_verify per sample (``verify(parse(gold), parse(text))``),
            what users plug in there.
  verifiers task_reward_func (verifiers 0.4, verifiers.v1) and reward_func (the 0.3 Rubric
            function), on stand-in task/trace/state objects; baselines: vf.MathRubric's
            correct_answer (0.3, math-verify in a process pool) and verifiers.v1's
            verify_boxed_math_answer (0.4).
  slime     rm and group_rm (twinkle.integrations.slime) on stand-in samples; slime is not
            on PyPI, so no baseline row.
  trl       as_trl_reward(MathReward()); baseline trl.rewards.accuracy_reward (math-verify).

verl, OpenRLHF and verifiers 0.3 live in a separate environment; run the benchmark with
its python to get their rows:

Run:  $(bash tools/integration_env.sh) benchmarks/bench_integrations.py [--quick]
      python benchmarks/bench_integrations.py      # main env: verifiers 0.4 and TRL rows
Results: benchmarks/results/bench_integrations.json (+ .csv, .png).
Target: a per-call adapter within 2x of twinkle_direct on the repeat workload.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random
import sys
import time
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import _harness  # noqa: E402

from twinkle.reward.math import MathReward  # noqa: E402

B = 64
PROMPT = 'what is the value? answer briefly.\n'
SOURCES = {'gsm8k': 'openai/gsm8k', 'math': 'lighteval/MATH', 'repeat': 'openai/gsm8k'}


class Sample(NamedTuple):
    text: str
    gold: str
    source: str


def sample_stream(workload: str, seed: int):
    """Endless samples; only lowercase ASCII and characters the tiny test tokenizer has."""
    rnd = random.Random(seed)
    while True:
        if workload == 'repeat':
            yield Sample('so the answer is $\\boxed{72}$.', '72', SOURCES['repeat'])
            continue
        a, b = rnd.randint(2, 999), rnd.randint(2, 999)
        wrong = rnd.random() < 0.25
        if workload == 'gsm8k':
            gold = str(a * b)
            ans = str(a * b + 1) if wrong else gold
            text = f'we multiply {a} by {b}: {a} * {b} = {ans}.\n#### {ans}'
        else:
            gold = f'\\frac{{{a}}}{{{b}}}'
            ans = f'\\frac{{{b}}}{{{a}}}' if wrong else gold
            text = f'dividing gives ${a}/{b}$, so the answer is $\\boxed{{{ans}}}$.'
        yield Sample(text, gold, SOURCES[workload])


# ------------------------------------------------------------------------------ providers
# A provider maps each mode to fn(samples): one call per sample (per_call) or one call for
# all (per_batch), B samples per timed run; an optional 'prepare' maps modes to an untimed
# step that turns the samples into the trainer's input (verl's DataProto).


def twinkle_direct():
    r = MathReward()

    def one(ss):
        for s in ss:
            r([s.text], [s.gold])

    return {'per_call': one, 'per_batch': lambda ss: r([s.text for s in ss], [s.gold for s in ss])}


def _async_provider(make_coro: Callable[[Sample], Any]):
    """per_call awaits each sample in turn; per_batch gathers them (one twinkle batch)."""
    loop = asyncio.new_event_loop()

    async def seq(ss):
        for s in ss:
            await make_coro(s)

    async def gathered(ss):
        await asyncio.gather(*(make_coro(s) for s in ss))

    return {
        'per_call': lambda ss: loop.run_until_complete(seq(ss)),
        'per_batch': lambda ss: loop.run_until_complete(gathered(ss)),
    }


def verl_providers() -> Dict[str, Dict[str, Callable]]:
    from twinkle.integrations import verl as tv

    out = {
        'verl/compute_score': {
            'per_call': lambda ss: [tv.compute_score(s.source, s.text, s.gold, None) for s in ss],
            'per_batch': lambda ss: tv.compute_score_batch(
                [s.source for s in ss], [s.text for s in ss], [s.gold for s in ss]
            ),
        }
    }
    try:
        from verl.utils.reward_score import default_compute_score
    except ImportError as e:
        _harness.skip(
            'verl/default_compute_score, verl reward managers',
            f'verl is not importable ({e}); run with $(bash tools/integration_env.sh)',
        )
        return out

    def default(ss):
        for s in ss:
            default_compute_score(s.source, s.text, s.gold)

    out['verl/default_compute_score'] = {'per_call': default, 'per_batch': default}
    try:
        out.update(verl_manager_providers())
    except Exception as e:  # noqa: BLE001 - a manager that cannot start is reported, not fatal
        _harness.skip('verl reward managers', f'RewardLoopWorker did not start: {type(e).__name__}: {e}')
    return out


def verl_manager_providers() -> Dict[str, Dict[str, Callable]]:
    """verl's RewardLoopWorker in process, with twinkle's manager and with verl's naive
    manager and default_compute_score (verl's default reward path)."""
    import tempfile

    from verl.experimental.reward_loop import RewardLoopWorker

    from tests.integrations.test_verl import data_proto, verl_config
    from twinkle.sampler.testing import tiny_tokenizer

    tok_dir = tempfile.mkdtemp(prefix='twinkle-bench-tok-')
    tiny_tokenizer().save_pretrained(tok_dir)
    configs = {
        'verl/TwinkleRewardManager': verl_config(
            tok_dir,
            'reward.reward_manager.source=importlib',
            'reward.reward_manager.name=TwinkleRewardManager',
            'reward.reward_manager.module.path=pkg://twinkle.integrations.verl',
            'reward.custom_reward_function.path=null',
        ),
        'verl/naive+default_compute_score': verl_config(
            tok_dir, 'reward.reward_manager.name=naive', 'reward.custom_reward_function.path=null'
        ),
    }
    out = {}
    for name, config in configs.items():
        # verl's managers keep the event loop current at construction: run on that one.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        worker = RewardLoopWorker(config)

        def proto(ss):  # built before the clock starts: the rollout hands it over built
            data = data_proto(tok_dir, [(s.text, s.gold) for s in ss])
            data.non_tensor_batch['data_source'][:] = ss[0].source
            return data

        def run(data, worker=worker, loop=loop):
            return loop.run_until_complete(worker.compute_score_batch(data))

        # per_call: one-row DataProtos one after another; per_batch: one chunk of B rows.
        out[name] = {
            'per_call': lambda ds, run=run: [run(d) for d in ds],
            'per_batch': run,
            'prepare': {'per_call': lambda ss: [proto([s]) for s in ss], 'per_batch': proto},
        }
    return out


def openrlhf_providers() -> Dict[str, Dict[str, Callable]]:
    from twinkle.integrations.openrlhf import make_reward_func

    fn = make_reward_func()
    end = '<|im_end|>'
    out = {
        'openrlhf/reward_func': {
            'per_call': lambda ss: [fn([PROMPT + s.text + end], [PROMPT], [s.gold]) for s in ss],
            'per_batch': lambda ss: fn(
                [PROMPT + s.text + end for s in ss], [PROMPT] * len(ss), [s.gold for s in ss]
            ),
        }
    }
    mv = math_verify_fn()
    if mv is not None:
        out['openrlhf/math_verify (baseline)'] = {'per_call': mv, 'per_batch': mv}
    return out


def math_verify_fn() -> Optional[Callable]:
    try:
        from math_verify import parse, verify
    except ImportError:
        _harness.skip(
            'openrlhf/math_verify (baseline)',
            "math-verify is not installed (pip install 'math-verify[antlr4_13_2]')",
        )
        return None

    def run(ss):
        for s in ss:  # per sample, the gold parsed every time, as a reward function does
            try:
                verify(parse(f'${s.gold}$'), parse(s.text))
            except Exception:  # noqa: BLE001 - a baseline failure scores 0, as trainers do
                pass

    return run


def verifiers_providers() -> Dict[str, Dict[str, Callable]]:
    from twinkle.integrations.verifiers import reward_func, task_reward_func

    task_fn, rubric_fn = task_reward_func(), reward_func()

    def trace(text):
        return SimpleNamespace(last_reply=text, info={}, record_metric=lambda k, v: None)

    out = {
        'verifiers/task_reward_func': _async_provider(
            lambda s: task_fn(SimpleNamespace(answer=s.gold), trace(s.text))
        ),
        'verifiers/rubric reward_func': _async_provider(
            lambda s: rubric_fn([{'role': 'assistant', 'content': s.text}], s.gold, {})
        ),
    }
    try:
        import verifiers as vf
    except ImportError:
        _harness.skip('verifiers baselines', 'verifiers is not installed')
        return out
    version = getattr(vf, '__version__', '?')
    if hasattr(vf, 'MathRubric'):
        rubric = vf.MathRubric()
        parser = rubric.parser
        out[f'verifiers/MathRubric {version} (baseline)'] = _async_provider(
            lambda s: rubric.correct_answer(parser, [{'role': 'assistant', 'content': s.text}], s.gold)
        )
    else:
        _harness.skip('verifiers/MathRubric (baseline)', f'verifiers {version} has no vf.MathRubric')
    try:
        from verifiers.v1 import verify_boxed_math_answer
    except ImportError:
        _harness.skip(
            'verifiers/v1 verify_boxed_math_answer (baseline)',
            f'verifiers {version} has no verifiers.v1.verify_boxed_math_answer',
        )
    else:

        def v1(ss):
            for s in ss:
                verify_boxed_math_answer(s.text, s.gold)

        out[f'verifiers/v1 verify_boxed_math_answer {version} (baseline)'] = {'per_call': v1, 'per_batch': v1}
    return out


def slime_providers() -> Dict[str, Dict[str, Callable]]:
    from twinkle.integrations.slime import group_rm, rm

    _harness.skip('slime baseline', "slime is not on PyPI (its rm_hub math rewards are copies of verl's)")

    def sample(s):
        return SimpleNamespace(
            response=s.text, label=s.gold, metadata={}, tokens=[], response_length=0, remove_sample=False
        )

    loop = asyncio.new_event_loop()

    async def seq(ss):
        for s in ss:
            await rm(None, sample(s))

    return {
        'slime/rm, group_rm': {
            'per_call': lambda ss: loop.run_until_complete(seq(ss)),
            'per_batch': lambda ss: loop.run_until_complete(group_rm(None, [sample(s) for s in ss])),
        }
    }


def trl_providers() -> Dict[str, Dict[str, Callable]]:
    from twinkle.integrations.trl import as_trl_reward

    fn = as_trl_reward(MathReward())

    def call(ss):
        return fn(prompts=[PROMPT] * len(ss), completions=[s.text for s in ss], solution=[s.gold for s in ss])

    out = {'trl/as_trl_reward': {'per_call': lambda ss: [call([s]) for s in ss], 'per_batch': call}}
    try:
        from trl.rewards import accuracy_reward
    except Exception as e:  # noqa: BLE001 - TRL may not import beside another transformers
        _harness.skip('trl/accuracy_reward (baseline)', f'not importable: {type(e).__name__}: {e}')
        return out

    def acc(ss):
        return accuracy_reward(
            [[{'role': 'assistant', 'content': s.text}] for s in ss], [f'${s.gold}$' for s in ss]
        )

    out['trl/accuracy_reward (baseline)'] = {'per_call': lambda ss: [acc([s]) for s in ss], 'per_batch': acc}
    return out


def gather_providers(only: Optional[List[str]]) -> Dict[str, Dict[str, Callable]]:
    providers = {'twinkle_direct': twinkle_direct()}
    for trainer, make in (
        ('verl', verl_providers),
        ('openrlhf', openrlhf_providers),
        ('verifiers', verifiers_providers),
        ('slime', slime_providers),
        ('trl', trl_providers),
    ):
        if only and trainer not in only:
            continue
        try:
            providers.update(make())
        except ImportError as e:
            _harness.skip(trainer, f'adapter not importable: {e}')
    return providers


def main() -> None:
    p = _harness.common_args(__doc__.split('\n')[0])
    p.add_argument(
        '--trainers', nargs='*', default=None, help='only these (verl openrlhf verifiers slime trl)'
    )
    args = p.parse_args()
    providers = gather_providers(args.trainers)
    plan = [
        ('repeat', 'per_call'),
        ('gsm8k', 'per_call'),
        ('gsm8k', 'per_batch'),
        ('math', 'per_call'),
        ('math', 'per_batch'),
    ]
    if args.quick:
        plan = plan[:3]

    def setup(point):
        """Each provider's own sample stream (its own seed: no provider reads an answer
        another one cached)."""
        return {n: sample_stream(point['workload'], seed=i) for i, n in enumerate(providers)}

    def grid_providers(point):
        """Each call gets B fresh samples from the provider's stream, turned into the
        trainer's input (``prepare``) before the clock starts. The adapters and baselines
        score different samples by design, so nothing is compared."""
        mode, out = point['mode'], {}
        for n, modes in providers.items():
            to_input = modes.get('prepare', {}).get(mode)

            def draw(streams, n=n, to_input=to_input):
                ss = [next(streams[n]) for _ in range(B)]
                return to_input(ss) if to_input else ss

            out[n] = _harness.Provider(modes[mode], prepare=draw)
        return out

    def row(r: _harness.Result) -> dict:
        med = r.stats['median_ms']
        return {
            'workload': r.point['workload'],
            'mode': r.point['mode'],
            'provider': r.provider,
            'us_per_call': med * 1e3 / (B if r.point['mode'] == 'per_call' else 1),
            'us_per_sample': med * 1e3 / B,
            'runs': r.stats['reps'],
        }

    rows = _harness.run_grid(
        [{'workload': w, 'mode': m} for w, m in plan],
        setup,
        grid_providers,
        timing=_harness.Timing(rounds=1 if args.quick else 3, budget_s=0.15 if args.quick else 0.4, warmup=0),
        row=row,
    )
    rows = [with_vs_direct(r, rows) for r in rows]
    summary = {
        'batch_size': B,
        'python': sys.executable,
        'versions': {m: _version(m) for m in ('verl', 'openrlhf', 'verifiers', 'trl', 'math_verify')},
    }
    print()
    _harness.print_table(rows, ['workload', 'mode', 'provider', 'us_per_call', 'us_per_sample', 'vs_direct'])

    def plot(path: str) -> None:
        import matplotlib.pyplot as plt

        sel = [r for r in rows if r['workload'] == 'math']
        fig, ax = plt.subplots(figsize=(11, 5))
        labels = [f'{r["provider"]}\n{r["mode"]}' for r in sel]
        ax.barh(
            range(len(sel)),
            [r['us_per_sample'] for r in sel],
            color=['C1' if 'baseline' in r['provider'] or 'default' in r['provider'] else 'C0' for r in sel],
        )
        ax.set_yticks(range(len(sel)), labels, fontsize=6)
        ax.set_xscale('log')
        ax.set_xlabel('us per sample (math workload, log)')
        fig.tight_layout()
        fig.savefig(path, dpi=120)

    _harness.record(args, 'bench_integrations', rows, summary, plot)


def with_vs_direct(r: dict, rows: List[dict]) -> dict:
    """The row with ``vs_direct``: its time over twinkle_direct's, same workload and mode."""
    direct = next(
        x['us_per_sample']
        for x in rows
        if x['provider'] == 'twinkle_direct' and (x['workload'], x['mode']) == (r['workload'], r['mode'])
    )
    return {
        **{k: v for k, v in r.items() if k != 'runs'},
        'vs_direct': r['us_per_sample'] / direct,
        'runs': r['runs'],
    }


def _version(module: str) -> Optional[str]:
    try:
        return getattr(importlib.import_module(module), '__version__', '?')
    except Exception:  # noqa: BLE001 - a missing or broken package has no version
        return None


if __name__ == '__main__':
    t0 = time.perf_counter()
    main()
    print(f'total {time.perf_counter() - t0:.0f}s')
