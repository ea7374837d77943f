"""Load over localhost: many concurrent clients, a mix of requests, every answer checked.

The workload is real text (CHAMP model answers when champ-dataset is installed, and the
labelled set) sent the way trainers send it: mostly one sample per ``/get_reward``
request (OpenRLHF's executor posts each rollout on its own), some ``/score`` batches, a
few large ones, and mixed in: requests that need sympy, sympy timeouts, requests held up
by a slow reward, bodies sent slowly in pieces, malformed and oversized requests.

Every answer is checked against a direct call of the rewards (``MathReward.explain``,
``FormatReward``) on the same text: same status, same rewards, same verdicts.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

PROMPT = (
    '<|im_start|>user\nSolve the problem. Put the answer in \\boxed{}.<|im_end|>\n<|im_start|>assistant\n'
)
END = '<|im_end|>\n'
#: The server's rewards in the load: the total is math + 0.5 format (probe has weight 0).
SERVER_REWARDS = [
    '--reward',
    'math',
    '--reward',
    'format=0.5',
    '--reward',
    'tests.serve.custom_rewards:probe=0',
]
FORMAT_WEIGHT = 0.5
SLOW_S = 0.3
SYMPY_DEADLINE_S = 1.0
TIMEOUT_PAIR = (r'So the answer is $\boxed{(10^{7})!}$.', r'(10^{7})! + 1')

LABELLED = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'math', 'data', 'labelled.jsonl'
)

Pair = Tuple[str, Any]  # (completion, gold)


class Planned(NamedTuple):
    kind: str
    route: str
    body: bytes
    pairs: List[Pair]  # what is scored; with the prompt as the user turn on /get_reward
    status: int = 200
    field: Optional[str] = None
    trickle: bool = False


def labelled_pairs() -> List[Tuple[str, Any, bool]]:
    """(completion, gold, hand label) of real model text (CHAMP, when champ-dataset is
    installed) and the labelled set."""
    with open(LABELLED, encoding='utf-8') as f:
        out = [
            (c['completion'], c['gold'], bool(c['expected']))
            for c in map(json.loads, f)
            if c.get('completion') is not None
        ]
    try:
        from tests.math.champ import load_champ

        out += [(c['completion'], c['gold'], bool(c['correct'])) for c in load_champ()]
    except ImportError:
        pass
    return out


def real_pairs() -> List[Pair]:
    """(completion, gold) pairs of :func:`labelled_pairs`."""
    return [(c, g) for c, g, _ in labelled_pairs()]


def _get_reward(pairs: List[Pair], pid: int = 0) -> bytes:
    prompt = PROMPT
    return json.dumps(
        {
            'query': [prompt + c + END for c, _ in pairs],
            'prompts': [prompt] * len(pairs),
            'labels': [g for _, g in pairs],
        }
    ).encode()


def _score(pairs: List[Pair]) -> bytes:
    return json.dumps({'completions': [c for c, _ in pairs], 'ground_truths': [g for _, g in pairs]}).encode()


MALFORMED: List[Tuple[str, bytes, str]] = [
    ('/get_reward', b'{"query": ["x"', 'body'),
    ('/get_reward', b'[1, 2]', 'body'),
    ('/get_reward', json.dumps({'querys': ['x']}).encode(), 'querys'),
    ('/get_reward', json.dumps({'query': 'x'}).encode(), 'query'),
    ('/get_reward', json.dumps({'query': ['a', 5]}).encode(), 'query[1]'),
    ('/get_reward', json.dumps({'query': ['a'], 'labels': ['1', '2']}).encode(), 'labels'),
    ('/get_reward', json.dumps({'query': ['a'], 'labels': [{'x': 1}]}).encode(), 'labels[0]'),
    ('/score', json.dumps({'completions': ['a'], 'trajectories': []}).encode(), 'completions'),
    ('/score', json.dumps({'trajectories': [{'messages': 'x'}]}).encode(), 'trajectories[0].messages'),
    (
        '/score',
        json.dumps({'completions': ['a', 'b', 'c'], 'ground_truths': ['1', '2']}).encode(),
        'ground_truths',
    ),
]


def build_workload(
    n: int, seed: int = 0, max_request_bytes: int = 4 << 20, max_items: int = 512
) -> List[Planned]:
    """``n`` requests in a seeded random order (the mix is in the module docstring); the
    limits are the server's (``--max-request-bytes``, ``--max-items-per-request``)."""
    rnd = random.Random(seed)
    pool = real_pairs()
    big = json.dumps({'query': ['x' * 1000] * (max_request_bytes // 1000 + 1)}).encode()
    many = _score([('x', '1')] * (max_items + 1))
    sympy_pairs = [
        (rf'The result is $\boxed{{2^{{2^{{{k}}}}}}}$.', f'4^{{2^{{{k - 1}}}}}') for k in range(14, 34)
    ]
    out: List[Planned] = []
    for i in range(n):
        x = rnd.random()
        pid = rnd.randrange(1000)
        if x < 0.010:
            route, body, field = MALFORMED[i % len(MALFORMED)]
            out.append(Planned('malformed', route, body, [], 400, field))
        elif x < 0.012:
            out.append(Planned('oversize', '/get_reward', big, [], 413, 'body'))
        elif x < 0.014:
            out.append(Planned('too_many', '/score', many, [], 413, 'completions'))
        elif x < 0.016:
            pairs = [rnd.choice(pool) for _ in range(4)]
            out.append(Planned('trickle', '/get_reward', _get_reward(pairs, pid), pairs, trickle=True))
        elif x < 0.017:
            pairs = [(f'<<sleep:{SLOW_S}>> ' + c, g) for c, g in [rnd.choice(pool)]]
            out.append(Planned('slow', '/get_reward', _get_reward(pairs, pid), pairs))
        elif x < 0.025:
            pairs = [rnd.choice(sympy_pairs)]
            out.append(Planned('symbolic', '/get_reward', _get_reward(pairs, pid), pairs))
        elif x < 0.035:
            pairs = [rnd.choice(pool) for _ in range(rnd.choice((64, 128, 256)))]
            out.append(Planned('large', '/score', _score(pairs), pairs))
        elif x < 0.20:
            pairs = [rnd.choice(pool) for _ in range(rnd.randint(2, 16))]
            out.append(Planned('score', '/score', _score(pairs), pairs))
        else:
            pairs = [rnd.choice(pool)]
            out.append(Planned('get_reward', '/get_reward', _get_reward(pairs, pid), pairs))
    # A few sympy timeouts, spread out: each holds its batch for the deadline.
    for j in range(3):
        pairs = [TIMEOUT_PAIR]
        out.insert((j + 1) * len(out) // 4, Planned('timeout', '/get_reward', _get_reward(pairs, j), pairs))
    return out


def direct_verdicts(planned: Sequence[Planned]) -> Dict[Tuple[str, Pair], Dict[str, Any]]:
    """The rewards called directly (no server, no scorer) on each distinct sample, keyed by
    (route, pair): the trajectory is the completion, after the prompt on /get_reward."""
    from twinkle.reward import FormatReward, MathReward

    distinct = list(dict.fromkeys((p.route, pair) for p in planned for pair in p.pairs))
    trajectories = [_trajectory(route, c) for route, (c, _) in distinct]
    math_r = MathReward(sympy_deadline_s=SYMPY_DEADLINE_S)
    verdicts = math_r.explain(trajectories, [g for _, (_, g) in distinct])
    formats = FormatReward()(trajectories)
    out = {}
    for key, v, f in zip(distinct, verdicts, formats):
        total = math.nan if math.isnan(v.reward) else v.reward + FORMAT_WEIGHT * f
        out[key] = {'math': v, 'format': f, 'total': total}
    return out


def _trajectory(route: str, completion: str) -> Dict[str, Any]:
    if route != '/get_reward':
        return {'messages': [{'role': 'assistant', 'content': completion}]}
    # What the protocol documents for a query: the prompt as the user turn, and the
    # response without the end-of-turn tokens (a completion may carry its own).
    from twinkle.serve.protocol import strip_end_tokens

    return {
        'messages': [
            {'role': 'user', 'content': PROMPT},
            {'role': 'assistant', 'content': strip_end_tokens(completion)},
        ]
    }


class Result(NamedTuple):
    status: int
    body: Any
    seconds: float


async def _pieces(body: bytes):
    # A slow client: the body in three pieces, 50 ms apart (chunked transfer encoding).
    step = max(1, len(body) // 3)
    for i in range(0, len(body), step):
        yield body[i : i + step]
        await asyncio.sleep(0.05)


async def _send_aiohttp(session, url: str, p: Planned) -> Result:
    t0 = time.perf_counter()
    data = _pieces(p.body) if p.trickle else p.body
    async with session.post(url + p.route, data=data, headers={'content-type': 'application/json'}) as r:
        raw = await r.read()
        status = r.status
    return Result(status, _decode(raw), time.perf_counter() - t0)


async def _send_httpx(client, url: str, p: Planned) -> Result:
    t0 = time.perf_counter()
    data = _pieces(p.body) if p.trickle else p.body
    r = await client.post(url + p.route, content=data, headers={'content-type': 'application/json'})
    return Result(r.status_code, _decode(r.content), time.perf_counter() - t0)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode('utf-8', 'replace')


def client_library() -> str:
    """'aiohttp' when installed, else 'httpx'. aiohttp sends about 4x more requests per
    second per core than httpx here, so the load measures the server, not the client."""
    try:
        import aiohttp  # noqa: F401 - only whether it is installed

        return 'aiohttp'
    except ImportError:
        return 'httpx'


async def run_load(
    url: str,
    planned: Sequence[Planned],
    clients: int = 64,
    timeout: float = 300.0,
    library: Optional[str] = None,
) -> Tuple[List[Result], float]:
    """Sends ``planned`` from ``clients`` concurrent clients, each on its own keep-alive
    connection; returns (results in plan order, wall seconds)."""
    library = library or client_library()
    results: List[Optional[Result]] = [None] * len(planned)
    next_index = iter(range(len(planned)))

    async def client_loop(send, session):
        for i in next_index:
            results[i] = await send(session, url, planned[i])

    t0 = time.perf_counter()
    if library == 'aiohttp':
        import aiohttp

        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as s:
            await asyncio.gather(*(client_loop(_send_aiohttp, s) for _ in range(clients)))
    else:
        import httpx

        async def one_client():
            # One client per connection: httpx's shared pool costs more per request.
            async with httpx.AsyncClient(timeout=timeout) as c:
                await client_loop(_send_httpx, c)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return results, time.perf_counter() - t0  # type: ignore[return-value]


def check(
    planned: Sequence[Planned], results: Sequence[Result], direct: Dict[Tuple[str, Pair], Dict[str, Any]]
) -> List[str]:
    """Every answer against its plan and the direct verdicts; returns the problems found."""
    problems: List[str] = []
    for i, (p, r) in enumerate(zip(planned, results)):
        if r is None:
            problems.append(f'request {i} ({p.kind}): no answer')
            continue
        if r.status != p.status:
            problems.append(
                f'request {i} ({p.kind}): status {r.status}, expected {p.status}: {str(r.body)[:200]}'
            )
            continue
        if p.status != 200:
            if not isinstance(r.body, dict) or r.body.get('field') != p.field:
                problems.append(f'request {i} ({p.kind}): error names {r.body!r}, expected field {p.field!r}')
            continue
        expect = [direct[(p.route, pair)] for pair in p.pairs]
        problems += _check_body(i, p, r.body, expect)
    return problems


def _check_body(i: int, p: Planned, body: Dict[str, Any], expect: List[Dict[str, Any]]) -> List[str]:
    if p.route == '/get_reward':
        want = [0.0 if math.isnan(e['total']) else e['total'] for e in expect]
        got = (body['rewards'], body['extra_logs']['math'], body['extra_logs']['format'])
        wanted = (
            want,
            [0.0 if math.isnan(e['math'].reward) else e['math'].reward for e in expect],
            [e['format'] for e in expect],
        )
        return [] if got == wanted else [f'request {i} ({p.kind}): got {got}, direct call gives {wanted}']
    problems = []
    for j, (e, ex) in enumerate(zip(expect, body['explanations'])):
        v = e['math']
        got = (body['rewards'][j], ex['math']['method'], ex['math']['answer'], body['parts']['format'][j])
        wanted = (None if math.isnan(e['total']) else e['total'], v.method, v.answer, e['format'])
        if got != wanted:
            problems.append(f'request {i} ({p.kind}) sample {j}: got {got}, direct call gives {wanted}')
    return problems


def latency_summary(planned: Sequence[Planned], results: Sequence[Result], wall: float) -> Dict[str, Any]:
    """Throughput and latency percentiles, over all requests and per kind."""
    from twinkle.serve.metrics import percentile

    secs = [r.seconds for r in results if r is not None]
    samples = sum(len(p.pairs) for p in planned)
    out = {
        'requests': len(results),
        'samples': samples,
        'wall_s': wall,
        'requests_per_s': len(results) / wall,
        'samples_per_s': samples / wall,
        'p50_ms': percentile(secs, 0.5) * 1e3,
        'p99_ms': percentile(secs, 0.99) * 1e3,
        'by_kind': {},
    }
    for kind in sorted({p.kind for p in planned}):
        ks = [r.seconds for p, r in zip(planned, results) if p.kind == kind and r is not None]
        out['by_kind'][kind] = {
            'requests': len(ks),
            'p50_ms': percentile(ks, 0.5) * 1e3,
            'p99_ms': percentile(ks, 0.99) * 1e3,
        }
    return out
