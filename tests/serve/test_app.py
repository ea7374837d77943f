"""The server's routes, over HTTP, against a real ``python -m twinkle serve`` process."""

import asyncio
import json
import math

import pytest

httpx = pytest.importorskip('httpx')
pytest.importorskip('starlette')
pytest.importorskip('uvicorn')

from tests.serve.helpers import ServerProcess  # noqa: E402
from tests.serve.load import PROMPT, real_pairs  # noqa: E402
from twinkle.reward import FormatReward, MathReward  # noqa: E402
from twinkle.serve.protocol import strip_end_tokens  # noqa: E402

ARGS = [
    '--reward',
    'math',
    '--reward',
    'format=0.5',
    '--reward',
    'tests.serve.custom_rewards:probe=0',
    '--batch-window-ms',
    '20',
    '--request-timeout-s',
    '1.5',
    '--max-request-bytes',
    '65536',
    '--max-items-per-request',
    '64',
    '--sympy-deadline-s',
    '2',
]


@pytest.fixture(scope='module')
def server():
    srv = ServerProcess(ARGS).wait_ready()
    yield srv
    srv.terminate()


@pytest.fixture(scope='module')
def pairs():
    return [p for p in real_pairs() if len(p[0]) < 1500][:48]


def _direct(trajectories, golds):
    verdicts = MathReward(sympy_deadline_s=2).explain(trajectories, golds)
    formats = FormatReward()(trajectories)
    return verdicts, formats


def test_get_reward_speaks_openrlhf_protocol(server, pairs):
    batch = pairs[:16]
    body = {
        'query': [PROMPT + c + '<|im_end|>' for c, _ in batch],
        'prompts': [PROMPT] * len(batch),
        'labels': [g for _, g in batch],
    }
    r = httpx.post(server.url + '/get_reward', json=body, timeout=60)
    assert r.status_code == 200 and r.headers['content-type'] == 'application/json'
    out = r.json()
    assert set(out) == {'rewards', 'scores', 'extra_logs'}
    assert set(out['extra_logs']) == {'math', 'format', 'probe'}
    trajectories = [
        {
            'messages': [
                {'role': 'user', 'content': PROMPT},
                {'role': 'assistant', 'content': strip_end_tokens(c)},
            ]
        }
        for c, _ in batch
    ]
    verdicts, formats = _direct(trajectories, [g for _, g in batch])
    want_math = [0.0 if math.isnan(v.reward) else v.reward for v in verdicts]
    want = [0.0 if math.isnan(v.reward) else v.reward + 0.5 * f for v, f in zip(verdicts, formats)]
    assert out['rewards'] == want and out['scores'] == want
    assert out['extra_logs']['math'] == want_math and out['extra_logs']['format'] == formats


def test_score_returns_explanations(server, pairs):
    batch = pairs[16:40]
    r = httpx.post(
        server.url + '/score',
        json={'completions': [c for c, _ in batch], 'ground_truths': [g for _, g in batch]},
        timeout=60,
    )
    assert r.status_code == 200
    out = r.json()
    verdicts, formats = _direct([c for c, _ in batch], [g for _, g in batch])
    assert out['parts']['format'] == formats
    for i, (v, ex) in enumerate(zip(verdicts, out['explanations'])):
        assert out['parts']['math'][i] == (None if math.isnan(v.reward) else v.reward)
        assert ex['math'] == {
            'outcome': ex['math']['outcome'],
            'answer': v.answer,
            'gold': v.gold,
            'method': v.method,
            'reason': v.reason,
            'rule': v.rule,
        }
        assert ex['format'] == {'outcome': 'scored'}


def test_score_trajectories_with_one_ground_truth_per_prompt(server):
    t = lambda text: {
        'messages': [
            {'role': 'user', 'content': 'What is 2+2?'},  # noqa: E731
            {'role': 'assistant', 'content': text},
        ]
    }
    body = {
        'trajectories': [t('The answer is 4.'), t('It is 5.'), t('$\\boxed{3}$'), t('So 3.')],
        'ground_truths': ['4', '3'],
    }
    out = httpx.post(server.url + '/score', json=body, timeout=60).json()
    assert out['parts']['math'] == [1.0, 0.0, 1.0, 1.0]
    assert [e['math']['outcome'] for e in out['explanations']] == [
        'correct',
        'incorrect',
        'correct',
        'correct',
    ]


def test_abstaining_is_null_on_score_and_abstain_value_on_get_reward(server):
    out = httpx.post(server.url + '/score', json={'completions': ['The answer is 4.']}, timeout=60).json()
    assert out['rewards'] == [None] and out['explanations'][0]['math']['method'] == 'unparsable_gold'
    out = httpx.post(server.url + '/get_reward', json={'query': ['The answer is 4.']}, timeout=60).json()
    assert out['rewards'] == [0.0]


@pytest.mark.parametrize(
    'route,content,status,field',
    [
        ('/get_reward', b'{"query": [', 400, 'body'),
        ('/get_reward', b'{"query": ["a"], "label": ["1"]}', 400, 'label'),
        ('/get_reward', b'{"query": ["a", 1]}', 400, 'query[1]'),
        ('/score', b'{"completions": ["a"], "ground_truths": [[1]]}', 400, 'ground_truths[0]'),
        ('/score', json.dumps({'completions': ['a'] * 65}).encode(), 413, 'completions'),
        ('/score', json.dumps({'completions': ['a' * 70000]}).encode(), 413, 'body'),
    ],
)
def test_bad_requests_get_an_error_naming_the_field(server, route, content, status, field):
    r = httpx.post(server.url + route, content=content, timeout=60)
    assert r.status_code == status
    assert r.json()['field'] == field and r.json()['error']


def test_a_chunked_body_past_the_limit_is_refused(server):
    def pieces():  # no Content-Length: the limit is enforced while reading
        yield b'{"completions": ["'
        for _ in range(20):
            yield b'a' * 4096
        yield b'"]}'

    r = httpx.post(server.url + '/score', content=pieces(), timeout=60)
    assert r.status_code == 413 and r.json()['field'] == 'body'


def test_unknown_route_and_wrong_method(server):
    assert httpx.get(server.url + '/nope', timeout=30).status_code == 404
    assert httpx.get(server.url + '/get_reward', timeout=30).status_code == 405


def test_health(server):
    r = httpx.get(server.url + '/health', timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body['status'] == 'ok' and body['pid'] == server.proc.pid
    assert [p['name'] for p in body['rewards']] == ['math', 'format', 'probe']


def test_a_failing_reward_fails_only_its_own_request(server):
    async def main():
        async with httpx.AsyncClient(timeout=60) as c:
            return await asyncio.gather(
                c.post(server.url + '/score', json={'completions': ['<<raise>>'], 'ground_truths': ['1']}),
                *(
                    c.post(
                        server.url + '/score',
                        json={'completions': [f'The answer is {i}.'], 'ground_truths': ['3']},
                    )
                    for i in range(6)
                ),
            )

    bad, *good = asyncio.run(main())
    assert bad.status_code == 500 and 'probe asked to raise' in bad.json()['error']
    assert [r.json()['parts']['math'][0] for r in good] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_a_request_that_times_out_gets_an_error_not_a_reward(server):
    r = httpx.post(
        server.url + '/get_reward',
        json={'query': ['<<sleep:2.5>> The answer is 4.'], 'labels': ['4']},
        timeout=60,
    )
    assert r.status_code == 504
    body = r.json()
    assert 'rewards' not in body and 'request timeout of 1.5 s' in body['error']
    m = httpx.get(server.url + '/metrics?format=json', timeout=30).json()
    assert m['events']['request_timeouts'] >= 1
    assert m['outcomes']['math']['timeout'] >= 1
    assert m['requests']['/get_reward']['504'] >= 1


def test_concurrent_requests_are_batched(server):
    async def main():
        async with httpx.AsyncClient(timeout=60) as c:
            # Two slow requests hold both scoring threads; the 24 sent meanwhile queue
            # up and leave as one batch when a thread frees.
            slow = [
                asyncio.ensure_future(c.post(server.url + '/get_reward', json={'query': ['<<sleep:0.8>>']}))
                for _ in range(2)
            ]
            await asyncio.sleep(0.2)
            quick = await asyncio.gather(
                *(
                    c.post(
                        server.url + '/get_reward',
                        json={'query': [f'The answer is {i}.'], 'labels': [str(i)]},
                    )
                    for i in range(24)
                )
            )
            await asyncio.gather(*slow)
            return quick

    quick = asyncio.run(main())
    assert [r.json()['rewards'] for r in quick] == [[1.0]] * 24
    m = httpx.get(server.url + '/metrics?format=json', timeout=30).json()
    assert m['batch']['requests']['max'] >= 12


def test_metrics(server):
    httpx.post(server.url + '/score', content=b'{', timeout=30)
    for _ in range(2):
        httpx.post(
            server.url + '/score',
            json={'completions': ['The answer is 1.'] * 12, 'ground_truths': ['1']},
            timeout=30,
        )
    httpx.post(server.url + '/get_reward', json={'query': ['The answer is 1.']}, timeout=30)
    text = httpx.get(server.url + '/metrics', timeout=30).text
    assert '# TYPE twinkle_request_latency_seconds summary' in text
    assert 'twinkle_request_latency_seconds{route="/score",quantile="0.99"}' in text
    assert 'twinkle_outcomes_total{reward="math",outcome="correct"}' in text
    m = httpx.get(server.url + '/metrics?format=json', timeout=30).json()
    assert m['requests']['/score']['200'] >= 2 and m['requests']['/score']['400'] >= 1
    assert m['samples']['/score'] >= 24
    assert set(m['outcomes']['math']) == {
        'correct',
        'incorrect',
        'unparsable',
        'timeout',
        'abstain',
        'scored',
    }
    assert m['batch']['samples']['count'] >= 1 and m['batch']['samples']['p50'] >= 1
    assert m['latency_s']['/get_reward']['p50'] > 0
