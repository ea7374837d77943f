"""Load over localhost: 64 concurrent clients against a real server process, every
answer checked against the rewards called directly (nothing lost, nothing mixed up),
with slow, malformed and oversized requests mixed in. No timing is asserted; the
figures are printed (``-s``) and measured for real by ``benchmarks/bench_serve.py``.

The default run sends 1,500 requests; the ``slow`` one sends 20,000 (or
``TWINKLE_LOAD_REQUESTS``).
"""

import asyncio
import json
import os

import pytest

pytest.importorskip('httpx')
pytest.importorskip('uvicorn')
pytest.importorskip('starlette')

from tests.serve import load  # noqa: E402
from tests.serve.helpers import ServerProcess  # noqa: E402

MAX_BYTES = 4 << 20
MAX_ITEMS = 512


def _run(n_requests):
    planned = load.build_workload(
        n_requests, seed=n_requests, max_request_bytes=MAX_BYTES, max_items=MAX_ITEMS
    )
    direct = load.direct_verdicts(planned)
    srv = ServerProcess(
        load.SERVER_REWARDS
        + [
            '--sympy-deadline-s',
            str(load.SYMPY_DEADLINE_S),
            '--max-request-bytes',
            str(MAX_BYTES),
            '--max-items-per-request',
            str(MAX_ITEMS),
            '--request-timeout-s',
            '120',
        ]
    ).wait_ready()
    try:
        results, wall = asyncio.run(load.run_load(srv.url, planned, clients=64))
        import httpx

        metrics = httpx.get(srv.url + '/metrics?format=json', timeout=30).json()
    finally:
        srv.terminate()
    problems = load.check(planned, results, direct)
    assert not problems, f'{len(problems)} wrong answers, first: {problems[:5]}'
    summary = load.latency_summary(planned, results, wall)
    kinds = {p.kind for p in planned}
    assert {'get_reward', 'score', 'large', 'malformed', 'symbolic', 'timeout'} <= kinds
    # Every sample the clients sent was scored once and delivered once.
    assert metrics['samples']['/get_reward'] + metrics['samples']['/score'] == summary['samples']
    assert sum(metrics['outcomes']['math'].values()) == summary['samples']
    assert metrics['outcomes']['math']['timeout'] == sum(p.kind == 'timeout' for p in planned)
    print(
        json.dumps({k: v for k, v in summary.items() if k != 'by_kind'}),
        json.dumps(metrics['batch']['samples']),
    )


def test_load_64_clients():
    _run(1500)


@pytest.mark.slow
def test_load_20000_requests():
    _run(int(os.environ.get('TWINKLE_LOAD_REQUESTS', '20000')))
