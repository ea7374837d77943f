"""The server as a Ray Serve deployment: two replicas behind one route on a local Ray (2 CPUs)."""

import asyncio
import socket

import pytest

ray = pytest.importorskip('ray')
serve = pytest.importorskip('ray.serve')
httpx = pytest.importorskip('httpx')

from tests.serve.load import real_pairs  # noqa: E402
from twinkle.reward import MathReward  # noqa: E402
from twinkle.serve.config import ServeConfig  # noqa: E402
from twinkle.serve.ray_serve import reward_app  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def url():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    port = _free_port()
    serve.start(http_options={'host': '127.0.0.1', 'port': port})
    serve.run(
        reward_app(ServeConfig(rewards=('math',)), num_replicas=2, num_cpus=0.5),
        name='twinkle',
        route_prefix='/',
    )
    yield f'http://127.0.0.1:{port}'
    serve.shutdown()
    ray.shutdown()


def test_two_replicas_answer_the_same_protocol(url):
    status = serve.status().applications['twinkle'].deployments['twinkle-reward']
    assert status.replica_states.get('RUNNING') == 2
    pairs = [p for p in real_pairs() if len(p[0]) < 3000][:64]

    async def main():
        async with httpx.AsyncClient(timeout=120) as c:
            pids = set()

            # Ray's router sends each request to the less busy of two replicas. Health checks
            # alone finish too fast to keep either busy (every burst can tie and go to one),
            # so they are sent while the scoring requests are in flight, and then in bursts.
            async def health():
                for _ in range(40):
                    got = await asyncio.gather(*(c.get(url + '/health') for _ in range(16)))
                    pids.update(h.json()['pid'] for h in got)
                    if len(pids) == 2:
                        return
                    await asyncio.sleep(0.05)

            scored = asyncio.gather(
                *(c.post(url + '/get_reward', json={'query': [q], 'labels': [g]}) for q, g in pairs)
            )
            replies, _ = await asyncio.gather(scored, health())
            return replies, pids

    replies, pids = asyncio.run(main())
    assert all(r.status_code == 200 for r in replies)
    verdicts = MathReward().explain([q for q, _ in pairs], [g for _, g in pairs])
    assert [r.json()['rewards'][0] for r in replies] == [
        0.0 if v.reward != v.reward else v.reward for v in verdicts
    ]
    assert set(replies[0].json()) == {'rewards', 'scores', 'extra_logs'}
    assert len(pids) == 2  # both replicas serve the route


def test_errors_come_through_the_proxy(url):
    r = httpx.post(url + '/get_reward', content=b'{"query": [', timeout=60)
    assert r.status_code == 400 and r.json()['field'] == 'body'
    r = httpx.post(
        url + '/score', json={'completions': ['The answer is 4.'], 'ground_truths': ['4']}, timeout=60
    )
    assert r.json()['explanations'][0]['math']['outcome'] == 'correct'
