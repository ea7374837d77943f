"""The benchmark harness's grid loop with toy providers on tiny inputs (nothing is timed
for its figures): agreement checked before timing, missing providers skipped with their
reason, each run appended to the history with the machine, torch version and date."""

import collections
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import torch

_PATH = Path(__file__).resolve().parents[2] / 'benchmarks' / '_harness.py'
_SPEC = importlib.util.spec_from_file_location('benchmarks_harness', _PATH)
h = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = h
_SPEC.loader.exec_module(h)

# One timed call per provider, no warm-up: the loop runs, nothing is measured for real.
ONCE = h.Timing(rounds=1, budget_s=0.0, warmup=0)


@pytest.fixture(autouse=True)
def fresh_skips(monkeypatch):
    """Each test starts with no skipped providers recorded."""
    monkeypatch.setattr(h, 'SKIPPED', {})


def doubled(xs):
    return [2 * x for x in xs]


def counted(fn, calls, name):
    def run(x):
        calls[name] += 1
        return fn(x)

    return run


def setup(point):
    return list(range(point['n']))


def test_one_row_per_point_and_provider():
    rows = h.run_grid(
        [{'n': 2}, {'n': 3}],
        setup,
        {'ref': doubled, 'sum': lambda xs: [x + x for x in xs]},
        reference='ref',
        timing=ONCE,
    )
    assert [(r['n'], r['provider']) for r in rows] == [(2, 'ref'), (2, 'sum'), (3, 'ref'), (3, 'sum')]
    for r in rows:
        assert r['reps'] == 1
        assert r['p25_ms'] <= r['median_ms'] <= r['p75_ms']


def test_disagreement_raises_before_anything_is_timed():
    calls = collections.Counter()
    providers = {
        'ref': counted(doubled, calls, 'ref'),
        'good': counted(doubled, calls, 'good'),
        'bad': counted(lambda xs: doubled(xs)[:-1] + [-1], calls, 'bad'),
    }
    timing = h.Timing(rounds=3, budget_s=0.0, warmup=2)
    with pytest.raises(h.Disagreement, match=r"'bad' disagrees with 'ref' at n=4, kind=toy: 1 of 4 rows"):
        h.run_grid([{'n': 4, 'kind': 'toy'}], setup, providers, reference='ref', timing=timing)
    # the agreement call only: no warm-up, no timed call
    assert calls == {'ref': 1, 'good': 1, 'bad': 1}


def test_a_later_point_that_disagrees_is_named():
    with pytest.raises(h.Disagreement, match=r"'odd' disagrees with 'ref' at n=3: 1 of 3 rows"):
        h.run_grid(
            [{'n': 2}, {'n': 3}],
            setup,
            {'ref': doubled, 'odd': lambda xs: [x * 2 if x < 2 else 0 for x in xs]},
            reference='ref',
            timing=ONCE,
        )


def test_tolerance_per_benchmark():
    within = {
        'ref': lambda xs: torch.tensor(xs, dtype=torch.float32),
        'near': lambda xs: torch.tensor(xs) + 1e-4,
    }
    rows = h.run_grid(
        [{'n': 3}], setup, within, reference='ref', agree=h.close(rtol=0, atol=1e-3), timing=ONCE
    )
    assert [r['provider'] for r in rows] == ['ref', 'near']
    with pytest.raises(h.Disagreement, match="'near' disagrees"):
        h.run_grid([{'n': 3}], setup, within, reference='ref', timing=ONCE)  # exact by default


def test_exact_compares_values():
    assert h.exact(torch.tensor([1.0, 0.0]), [1, 0]) is None
    assert h.exact((1, 2), [1, 2]) is None
    assert h.exact([1, 1, 0], [1, 0, 0]) == '1 of 3 rows differ (first rows [1])'
    assert h.exact(1, 2) == 'got 1, want 2'


def test_unchecked_and_untimed_providers():
    calls = collections.Counter()
    rows = h.run_grid(
        [{'n': 2}],
        setup,
        {
            'oracle': h.Provider(counted(doubled, calls, 'oracle'), timed=False),
            'states': h.Provider(lambda xs: 'another kind of output', check=False),
            'same': doubled,
        },
        reference='oracle',
        timing=h.Timing(rounds=2, budget_s=0.0, warmup=1),
    )
    assert [r['provider'] for r in rows] == ['states', 'same']
    assert calls['oracle'] == 1


def test_prepare_runs_untimed_before_every_call():
    seen = []
    provider = h.Provider(seen.append, prepare=lambda x: x + 1)
    h.run_grid([{'n': 1}], lambda point: 10, {'p': provider}, timing=h.Timing(rounds=2, budget_s=0, warmup=1))
    assert seen == [11, 11, 11, 11]  # the agreement call, the warm-up, two rounds


def test_once_per_round_and_slow_cap():
    calls = collections.Counter()
    slow = h.Provider(counted(doubled, calls, 'slow'), once_per_round=True)
    h.run_grid([{'n': 1}], setup, {'slow': slow}, timing=h.Timing(rounds=3, budget_s=10.0, warmup=0))
    assert calls['slow'] == 1 + 3
    calls.clear()
    capped = h.Timing(rounds=3, budget_s=0.0, warmup=0, slow_cap_s=0.0)
    h.run_grid([{'n': 1}], setup, {'slow': counted(doubled, calls, 'slow')}, timing=capped)
    assert calls['slow'] == 1 + 1  # the first round reaches the cap


def test_timing_and_providers_may_depend_on_the_point():
    rows = h.run_grid(
        [{'n': 1}, {'n': 2}],
        setup,
        lambda point: {f'p{point["n"]}': doubled},
        timing=lambda point: h.Timing(rounds=point['n'], budget_s=0.0, warmup=0),
        row=lambda r: {'provider': r.provider, 'reps': r.stats['reps'], 'out': r.output},
    )
    assert rows == [{'provider': 'p1', 'reps': 1, 'out': [0]}, {'provider': 'p2', 'reps': 2, 'out': [0, 2]}]


def test_missing_providers_are_skipped_with_their_reason(tmp_path):
    assert h.optional('twinkle_no_such_engine', 'pip install it') is None
    rows = h.run_grid(
        [{'n': 2}],
        setup,
        {'ref': doubled, 'engine': h.Missing('engine is not installed')},
        reference='ref',
        timing=ONCE,
    )
    assert [r['provider'] for r in rows] == ['ref']
    assert h.SKIPPED['engine'] == 'engine is not installed'
    assert 'pip install it' in h.SKIPPED['twinkle_no_such_engine']
    path = h.write_results('toy', rows, {}, results_dir=str(tmp_path))
    with open(path) as f:
        assert json.load(f)['skipped'] == h.SKIPPED


def test_a_missing_reference_is_an_error():
    with pytest.raises(ValueError, match="reference provider 'ref' is not among the providers at n=1"):
        h.run_grid(
            [{'n': 1}], setup, {'ref': h.Missing('absent'), 'p': doubled}, reference='ref', timing=ONCE
        )


def test_runs_are_appended_with_machine_torch_and_date(tmp_path):
    for run in range(2):
        h.write_results(
            'toy', [{'provider': 'p', 'median_ms': float(run)}], {'run': run}, results_dir=str(tmp_path)
        )
    history = [json.loads(line) for line in (tmp_path / 'toy.history.jsonl').read_text().splitlines()]
    assert [rec['summary']['run'] for rec in history] == [0, 1]
    for rec in history:
        env = rec['environment']
        assert env['torch'] == torch.__version__
        assert env['machine'] and 'cpu_model' in env
        assert re.fullmatch(r'\d{4}-\d{2}-\d{2}', env['date'])
        assert rec['command'].startswith('python')
    with open(tmp_path / 'toy.json') as f:
        assert json.load(f)['summary'] == {'run': 1}  # the latest run
    assert (tmp_path / 'toy.csv').read_text().splitlines() == ['provider,median_ms', 'p,1.0']


def test_record_follows_the_common_arguments(tmp_path):
    args = h.common_args('toy').parse_args(['--quick', '--no-plot', '--results-dir', str(tmp_path)])

    def plot(path):
        raise AssertionError('--no-plot draws nothing')

    path = h.record(args, 'toy', [{'provider': 'p'}], {}, plot)
    assert path == str(tmp_path / 'toy_quick.json')
    args = h.common_args('toy').parse_args(['--out', 'named', '--results-dir', str(tmp_path), '--no-plot'])
    assert h.record(args, 'toy', [], {}) == str(tmp_path / 'named.json')


def test_measure_alone():
    t = h.measure(lambda: None, warmup=0, min_reps=2, max_reps=2, budget_s=0.0)
    assert t['reps'] == 2 and t['median_ms'] >= 0
