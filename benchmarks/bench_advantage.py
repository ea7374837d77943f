"""GRPO group advantages: twinkle's fused op against the formulations trainers use.

Providers (all compute (r - group mean) / (group std + eps), unbiased std):
  eager        TRL-style tensor code: view(-1, G), mean, std, subtract, divide.
  verl_loop    verl-style Python loop over groups (dict of lists, torch.stack per group).
  torch_ref    twinkle's pure-torch reference op (index_add/scatter over the batch).
  twinkle_cpu  GRPOAdvantage()(rewards, num_generations=G): the public call, compiled op.
  twinkle_op   torch.ops.twinkle.group_advantage alone (no argument checking).
  *_cuda       the same on a GPU, when one is present.

Run: python benchmarks/bench_advantage.py [--quick]
Target on a 2-core CPU: twinkle_cpu >= 3x faster than eager at B=8192, G=8.
"""

from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

from twinkle import _ext, reference  # noqa: E402
from twinkle.advantage import GRPOAdvantage  # noqa: E402
from twinkle.constants import Baseline, Scale  # noqa: E402

EPS = 1e-6
GRPO_ARGS = (Baseline.MEAN, Scale.GROUP, EPS, True)  # the op's arguments after group_size


def setup(point: dict) -> dict:
    """Binary-ish rewards as from a verifier, with some partial credit."""
    batch, group = point['B'], point['G']
    g = torch.Generator().manual_seed(batch * 31 + group)
    r = torch.randint(0, 3, (batch,), generator=g).float() / 2
    return {'r': r.to(point['device']), 'G': group}


def eager(r: torch.Tensor, G: int) -> torch.Tensor:
    grouped = r.view(-1, G)
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)
    return ((grouped - mean) / (std + EPS)).view(-1)


def verl_loop(r: torch.Tensor, G: int) -> torch.Tensor:
    index = (torch.arange(r.shape[0]) // G).tolist()
    buckets = {}
    for i, u in enumerate(index):
        buckets.setdefault(u, []).append(r[i])
    mean, std = {}, {}
    for u, vals in buckets.items():
        t = torch.stack(vals)
        mean[u], std[u] = t.mean(), t.std()
    out = r.clone()
    for i, u in enumerate(index):
        out[i] = (r[i] - mean[u]) / (std[u] + EPS)
    return out


def op_alone(r: torch.Tensor, G: int) -> torch.Tensor:
    return torch.ops.twinkle.group_advantage(r, None, None, G, *GRPO_ARGS)[0]


def providers(point: dict) -> dict:
    """name -> fn(inputs) on the point's device (``*_cuda`` names on a GPU)."""
    device = point['device']
    grpo = GRPOAdvantage(eps=EPS)
    p = {
        'eager': lambda x: eager(x['r'], x['G']),
        'torch_ref': lambda x: reference.group_advantage(x['r'], None, None, x['G'], *GRPO_ARGS)[0],
    }
    if _ext.has_kernel('group_advantage', device):
        p['twinkle'] = lambda x: grpo(x['r'], num_generations=x['G'])
        p['twinkle_op'] = lambda x: op_alone(x['r'], x['G'])
    if device == 'cpu':
        p['verl_loop'] = lambda x: verl_loop(x['r'], x['G'])
    return {provider_name(k, device): _harness.Provider(fn, device=device) for k, fn in p.items()}


def provider_name(name: str, device: str) -> str:
    """twinkle providers carry their device (twinkle_cpu); the others only off the CPU."""
    return f'{name}_{device}' if name.startswith('twinkle') or device != 'cpu' else name


def main() -> None:
    args = _harness.common_args(__doc__.splitlines()[0]).parse_args()
    batches = [1024, 8192] if args.quick else [1024, 8192, 65536]
    groups = [8] if args.quick else [4, 8, 16]
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    grid = [{'device': d, 'B': b, 'G': g} for d in devices for b in batches for g in groups]
    # The same numbers, or the timing means nothing (flat groups: exact 0 vs eager's
    # 0/(0+eps) = 0 as well here, since rewards are k/2).
    rows = _harness.run_grid(
        grid,
        setup,
        providers,
        reference=lambda point: provider_name('eager', point['device']),
        agree=_harness.close(rtol=1e-5, atol=1e-5),
        timing=_harness.Timing(rounds=5, budget_s=0.2, warmup=2),
    )
    by = {(r['device'], r['B'], r['G'], r['provider']): r['median_ms'] for r in rows}
    for r in rows:
        base = by.get((r['device'], r['B'], r['G'], provider_name('eager', r['device'])))
        r['speedup_vs_eager'] = base / r['median_ms'] if base else None
    _harness.print_table(rows, ['device', 'B', 'G', 'provider', 'median_ms', 'speedup_vs_eager'])
    key = ('cpu', 8192, 8)
    summary = {
        'target': 'twinkle_cpu >= 3x faster than eager at B=8192, G=8',
        'speedup_twinkle_cpu_vs_eager_B8192_G8': (
            by[key + ('eager',)] / by[key + ('twinkle_cpu',)] if key + ('twinkle_cpu',) in by else None
        ),
        'speedup_twinkle_cpu_vs_verl_loop_B8192_G8': (
            by[key + ('verl_loop',)] / by[key + ('twinkle_cpu',)]
            if key + ('twinkle_cpu',) in by and key + ('verl_loop',) in by
            else None
        ),
    }
    if ('cuda', 8192, 8, 'twinkle_cuda') in by:
        summary['twinkle_cuda_B8192_G8_us'] = by[('cuda', 8192, 8, 'twinkle_cuda')] * 1e3
    print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary.items()})

    def plot(path):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for name in sorted({r['provider'] for r in rows}):
            pts = [(r['B'], r['median_ms']) for r in rows if r['provider'] == name and r['G'] == 8]
            if pts:
                ax.plot(*zip(*pts), marker='o', label=name)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('batch size B (G = 8)')
        ax.set_ylabel('median time (ms)')
        ax.set_title('GRPO advantage')
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    _harness.record(args, 'bench_advantage', rows, summary, plot)


if __name__ == '__main__':
    main()
