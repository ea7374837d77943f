"""Reward servers under load over localhost: twinkle's batching server against a
per-request math-verify server, on the same requests.

Workload (OpenRLHF's ``/get_reward`` protocol, as its trainers send it): real model text
(CHAMP's GPT-3.5 and PaLM 2 answers, needs champ-dataset; and the labelled set), each
query the chat-templated prompt followed by the response. 90% of the requests carry one
sample (OpenRLHF's executor posts each rollout on its own), 9% a GRPO group of 8, 1% are
malformed (bad JSON, a wrong field) and must get a 4xx. Requests go out from ``--clients``
concurrent connections (64), each client sending its next request when the last is
answered.

Providers (each a real server process on this machine, started and stopped here):
  twinkle              ``python -m twinkle serve --reward math``: dynamic batching (5 ms
                       window, 2 scoring threads), sympy in killable worker processes.
  twinkle_unbatched    the same server with ``--max-batch-size 1 --batch-window-ms 0``:
                       what batching adds.
  math_verify          a per-request server as reward-server examples write it: Starlette
                       and uvicorn (the same stack), ``math_verify.verify(parse(gold),
                       parse(response))`` for each sample, in the request handler (its
                       signal-based timeouts need the main thread).

Every twinkle answer is checked against ``MathReward.explain`` called directly on the same
text (``verdicts_checked``/``wrong_answers``). ``label_accuracy`` compares each provider's
rewards with the hand labels of the pairs. math-verify serves ``--baseline-requests``
requests (default 2,000: it is about 50x slower) from the same seeded workload.

``--ray`` adds the scale-out rows: offline scoring of the same pairs as a Ray Data
pipeline with 1 and 2 scorer actors (rows/s), and the server as a Ray Serve deployment
with 1 and 2 replicas under the same load (a local Ray with 2 CPUs).

The client (aiohttp when installed, else httpx) runs on the same cores as the server, so
the figures are for the whole loop on this machine, not the server alone.

Run: ``python benchmarks/bench_serve.py [--quick] [--ray]``; writes
``benchmarks/results/bench_serve.json`` (+ .csv, .png).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import time
from typing import Any, Dict, List, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import _harness  # noqa: E402

from tests.serve import load  # noqa: E402
from tests.serve.helpers import ServerProcess  # noqa: E402

GROUP = 8


# -- workload -------------------------------------------------------------------------------


def workload(n: int, seed: int = 0) -> List[load.Planned]:
    """``n`` /get_reward requests (see the module docstring), with each sample's label."""
    rnd = random.Random(seed)
    pool = load.labelled_pairs()
    out = []
    for i in range(n):
        x = rnd.random()
        if x < 0.01:
            route, body, field = [m for m in load.MALFORMED if m[0] == '/get_reward'][i % 4]
            out.append(load.Planned('malformed', route, body, [], 400, field))
            continue
        picks = [rnd.choice(pool) for _ in range(GROUP if x < 0.10 else 1)]
        # Every completion distinct, as rollouts are (a prefix leaves the final answer
        # alone); the verdict cache still serves answers seen before, as in training.
        pairs = [(f'(rollout {i}.{j})\n\n{c}', g) for j, (c, g, _) in enumerate(picks)]
        out.append(
            load.Planned(
                'group' if len(pairs) > 1 else 'single', '/get_reward', load._get_reward(pairs), pairs
            )
        )
    return out


def labels() -> Dict[str, bool]:
    """Hand labels by completion text (a rollout's text without its prefix)."""
    return {c: ok for c, _, ok in load.labelled_pairs()}


def _label(truth: Dict[str, bool], pair: load.Pair) -> bool:
    return truth[pair[0].split('\n\n', 1)[1]]


# -- the per-request math-verify server -------------------------------------------------------


def math_verify_app():
    """Starlette app: /get_reward scored per request with math-verify, in the handler."""
    from math_verify import parse, verify
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def gold_text(g: Any) -> str:
        g = str(g)
        return g if ('$' in g or '\\boxed' in g or '####' in g) else f'${g}$'

    async def get_reward(request):
        try:
            data = json.loads(await request.body())
            queries, prompts, golds = data['query'], data.get('prompts'), data['labels']
        except (ValueError, KeyError, TypeError) as e:
            return JSONResponse({'error': str(e)}, status_code=400)
        rewards = []
        for i, q in enumerate(queries):
            p = prompts[i] if prompts else ''
            response = q[len(p) :] if q.startswith(p) else q
            try:
                ok = verify(parse(gold_text(golds[i])), parse(response))
            except Exception:  # noqa: BLE001 - a failure scores 0, as example servers do
                ok = False
            rewards.append(1.0 if ok else 0.0)
        return JSONResponse({'rewards': rewards, 'scores': rewards, 'extra_logs': {}})

    async def health(request):
        return JSONResponse({'status': 'ok'})

    return Starlette(
        routes=[Route('/get_reward', get_reward, methods=['POST']), Route('/health', health, methods=['GET'])]
    )


def serve_math_verify() -> None:
    import uvicorn

    from twinkle.serve.server import bind_socket

    sock = bind_socket('127.0.0.1', 0)
    print(f'math-verify server: listening on http://127.0.0.1:{sock.getsockname()[1]}', flush=True)
    uvicorn.Server(uvicorn.Config(math_verify_app(), log_level='warning', access_log=False)).run(
        sockets=[sock]
    )


# -- measuring -------------------------------------------------------------------------------


def start(provider: str) -> ServerProcess:
    if provider == 'math_verify':
        return ServerProcess(
            [], cmd=[sys.executable, os.path.abspath(__file__), '--serve-math-verify']
        ).wait_ready()
    extra = ['--max-batch-size', '1', '--batch-window-ms', '0'] if provider == 'twinkle_unbatched' else []
    return ServerProcess(['--reward', 'math', '--request-timeout-s', '300', *extra]).wait_ready()


def direct_math(planned: Sequence[load.Planned]) -> Dict:
    """MathReward called directly on each distinct sample (the prompt as the user turn)."""
    from twinkle.reward import MathReward
    from twinkle.serve.protocol import strip_end_tokens

    keys = list(dict.fromkeys((p.route, pair) for p in planned for pair in p.pairs))
    trajectories = [
        {
            'messages': [
                {'role': 'user', 'content': load.PROMPT},
                {'role': 'assistant', 'content': strip_end_tokens(c)},
            ]
        }
        for _, (c, _) in keys
    ]
    verdicts = MathReward().explain(trajectories, [g for _, (_, g) in keys])
    return {k: v.reward for k, v in zip(keys, verdicts)}


def check_math_only(planned, results, direct) -> int:
    """Answers that differ from the plan (status, field) or from the direct verdicts."""
    wrong = 0
    for p, r in zip(planned, results):
        if r is None or r.status != p.status:
            wrong += 1
            continue
        if p.status != 200:
            wrong += r.body.get('field') != p.field
            continue
        want = [0.0 if math.isnan(direct[(p.route, pair)]) else direct[(p.route, pair)] for pair in p.pairs]
        wrong += r.body['rewards'] != want or r.body['extra_logs']['math'] != want
    return wrong


def run_twinkle(provider: str, planned, clients: int, truth, direct) -> Dict[str, Any]:
    srv = start(provider)
    try:
        asyncio.run(
            load.run_load(srv.url, [p for p in planned if p.kind == 'single'][: clients * 2], clients)
        )
        results, wall = asyncio.run(load.run_load(srv.url, planned, clients))
    finally:
        srv.terminate()
    row = summarize(provider, planned, results, wall, truth)
    row['verdicts_checked'] = row['samples']
    row['wrong_answers'] = check_math_only(planned, results, direct)
    print(
        f'  {provider}: {row["requests_per_s"]} req/s, p50 {row["p50_ms"]} ms, p99 {row["p99_ms"]} ms, '
        f'wrong answers {row["wrong_answers"]}'
    )
    return row


def summarize(provider, planned, results, wall, truth) -> Dict[str, Any]:
    s = load.latency_summary(planned, results, wall)
    bad_status = sum(1 for p, r in zip(planned, results) if r is None or r.status != p.status)
    hits = total = 0
    for p, r in zip(planned, results):
        if p.status == 200 and r is not None and r.status == 200:
            for pair, reward in zip(p.pairs, r.body['rewards']):
                hits += (reward == 1.0) == _label(truth, pair)
                total += 1
    return {
        'provider': provider,
        'requests': s['requests'],
        'samples': s['samples'],
        'wall_s': round(wall, 2),
        'requests_per_s': round(s['requests_per_s'], 1),
        'samples_per_s': round(s['samples_per_s'], 1),
        'p50_ms': round(s['p50_ms'], 1),
        'p99_ms': round(s['p99_ms'], 1),
        'unexpected_status': bad_status,
        'label_accuracy': round(hits / max(1, total), 4),
    }


def run_math_verify(planned, clients: int, truth) -> Dict[str, Any]:
    srv = start('math_verify')
    try:
        asyncio.run(load.run_load(srv.url, [p for p in planned if p.kind == 'single'][:clients], clients))
        results, wall = asyncio.run(load.run_load(srv.url, planned, clients))
    finally:
        srv.terminate()
    row = summarize('math_verify', planned, results, wall, truth)
    print(f'  math_verify: {row["requests_per_s"]} req/s, p50 {row["p50_ms"]} ms, p99 {row["p99_ms"]} ms')
    return row


# -- Ray scale-out ---------------------------------------------------------------------------


def ray_rows(n_rows: int, planned, clients: int, truth) -> List[Dict[str, Any]]:
    """Ray Data with 1 and 2 actors on ``n_rows`` rows; Ray Serve with 1 and 2 replicas."""
    import tempfile

    import ray
    from ray import serve

    from twinkle.offline.ray_data import ray_backend
    from twinkle.offline.run import score_file
    from twinkle.serve.config import ServeConfig
    from twinkle.serve.ray_serve import reward_app
    from twinkle.serve.scorer import Scorer

    rows = []
    pool = load.labelled_pairs()
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'in.jsonl')
        with open(src, 'w', encoding='utf-8') as f:
            for i in range(n_rows):
                c, g, _ = rnd.choice(pool)
                f.write(json.dumps({'completion': f'(rollout {i})\n\n{c}', 'solution': g}) + '\n')
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            for workers in (1, 2):
                scorer = Scorer(['math'])
                t0 = time.perf_counter()
                score_file(
                    src,
                    os.path.join(d, f'out{workers}.jsonl'),
                    scorer,
                    batch_size=256,
                    progress=False,
                    backend=ray_backend(scorer, workers=workers, batch_size=256, num_cpus_per_worker=1),
                )
                wall = time.perf_counter() - t0
                rows.append(
                    {
                        'provider': f'ray_data_{workers}_actors',
                        'samples': n_rows,
                        'wall_s': round(wall, 2),
                        'samples_per_s': round(n_rows / wall, 1),
                    }
                )
                print(f'  ray data, {workers} actors: {n_rows / wall:.0f} rows/s')
            for replicas in (1, 2):
                port = 18000 + replicas
                serve.start(http_options={'host': '127.0.0.1', 'port': port})
                serve.run(
                    reward_app(
                        ServeConfig(rewards=('math',), request_timeout_s=300),
                        num_replicas=replicas,
                        num_cpus=0.5,
                    ),
                    name='twinkle',
                    route_prefix='/',
                )
                url = f'http://127.0.0.1:{port}'
                asyncio.run(load.run_load(url, planned[: clients * 2], clients))
                results, wall = asyncio.run(load.run_load(url, planned, clients))
                row = summarize(f'ray_serve_{replicas}_replicas', planned, results, wall, truth)
                rows.append(row)
                print(
                    f'  ray serve, {replicas} replicas: {row["requests_per_s"]} req/s, p99 {row["p99_ms"]} ms'
                )
                serve.shutdown()
        finally:
            ray.shutdown()
    return rows


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    ap = _harness.common_args(__doc__.splitlines()[0])
    ap.add_argument(
        '--requests', type=int, default=None, help='requests to the twinkle servers (default 20000)'
    )
    ap.add_argument(
        '--baseline-requests',
        type=int,
        default=None,
        help='requests to the math-verify server (default 2000)',
    )
    ap.add_argument('--clients', type=int, default=64, help='concurrent clients')
    ap.add_argument(
        '--ray', action='store_true', help='also measure Ray Data and Ray Serve with 1 and 2 workers'
    )
    ap.add_argument('--ray-rows', type=int, default=None, help='rows for the Ray Data rows (default 20000)')
    ap.add_argument('--serve-math-verify', action='store_true', help=argparse_hidden())
    args = ap.parse_args()
    if args.serve_math_verify:
        serve_math_verify()
        return
    n = args.requests or (2000 if args.quick else 20000)
    n_base = args.baseline_requests or (300 if args.quick else 2000)
    planned = workload(n)
    truth = labels()
    print(
        f'workload: {n} requests, {sum(len(p.pairs) for p in planned)} samples, {args.clients} clients '
        f'({load.client_library()})'
    )
    t0 = time.perf_counter()
    direct = direct_math(planned)
    print(f'direct MathReward verdicts for the check: {time.perf_counter() - t0:.1f} s')
    rows = [
        run_twinkle('twinkle', planned, args.clients, truth, direct),
        run_twinkle('twinkle_unbatched', planned[: max(n // 4, 1)], args.clients, truth, direct),
    ]
    try:
        import math_verify  # noqa: F401

        rows.append(run_math_verify(planned[:n_base], args.clients, truth))
    except ImportError:
        _harness.skip('math_verify', 'math-verify is not installed (the bench extra)')
    if args.ray:
        rows += ray_rows(
            args.ray_rows or (2000 if args.quick else 20000), planned[: max(n // 4, 1)], args.clients, truth
        )
    _harness.print_table(
        rows,
        [
            'provider',
            'requests',
            'samples',
            'wall_s',
            'requests_per_s',
            'samples_per_s',
            'p50_ms',
            'p99_ms',
            'unexpected_status',
            'label_accuracy',
            'wrong_answers',
        ],
    )
    by = {r['provider']: r for r in rows}
    summary: Dict[str, Any] = {
        'clients': args.clients,
        'client_library': load.client_library(),
        'requests_twinkle': n,
        'requests_math_verify': n_base,
    }
    if 'math_verify' in by:
        summary['throughput_vs_math_verify'] = (
            by['twinkle']['requests_per_s'] / by['math_verify']['requests_per_s']
        )
        summary['p50_vs_math_verify'] = by['math_verify']['p50_ms'] / by['twinkle']['p50_ms']
    summary['throughput_vs_unbatched'] = (
        by['twinkle']['requests_per_s'] / by['twinkle_unbatched']['requests_per_s']
    )
    if 'ray_data_2_actors' in by:
        summary['ray_data_scaling_1_to_2'] = (
            by['ray_data_2_actors']['samples_per_s'] / by['ray_data_1_actors']['samples_per_s']
        )
        summary['ray_serve_scaling_1_to_2'] = (
            by['ray_serve_2_replicas']['requests_per_s'] / by['ray_serve_1_replicas']['requests_per_s']
        )
    print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary.items()})

    def plot(path: str) -> None:
        import matplotlib.pyplot as plt

        served = [r for r in rows if 'requests_per_s' in r]
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
        names = [r['provider'] for r in served]
        a.barh(names, [r['requests_per_s'] for r in served], color='tab:blue')
        a.set_xscale('log')
        a.set_xlabel('requests / s (log)')
        b.barh(names, [r['p99_ms'] for r in served], color='tab:red')
        b.set_xscale('log')
        b.set_xlabel('p99 latency, ms (log)')
        b.set_yticks([])
        fig.suptitle(f'/get_reward over localhost, {args.clients} clients')
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    _harness.record(args, 'bench_serve', rows, summary, plot)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == '__main__':
    main()
