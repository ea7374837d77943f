"""The dynamic batcher: grouping, order, isolation, timeouts, shutdown, and a free event loop."""

import asyncio
import threading

import pytest

from twinkle.serve.batcher import BatcherClosed, DynamicBatcher, Overloaded, RequestTimeout


class Recorder:
    """A score_fn that tags every item and remembers its batches."""

    def __init__(self):
        self.batches = []

    def __call__(self, items):
        self.batches.append(list(items))
        return [('scored', x) for x in items]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_form_one_batch_and_get_their_own_results():
    rec = Recorder()

    async def main():
        b = DynamicBatcher(rec, window_s=0.5)
        outs = await asyncio.gather(*(b.submit([f'r{i}-{j}' for j in range(i + 1)]) for i in range(10)))
        await b.close()
        return outs

    outs = run(main())
    assert len(rec.batches) == 1 and len(rec.batches[0]) == 55
    for i, out in enumerate(outs):
        assert out == [('scored', f'r{i}-{j}') for j in range(i + 1)]


@pytest.mark.parametrize(
    'sizes,max_batch,expected',
    [
        ([3, 3, 3], 6, [6, 3]),  # a request that would overflow waits for the next batch
        ([10, 1], 4, [10, 1]),  # a request larger than a batch is a batch alone, never split
        ([1] * 7, 2, [2, 2, 2, 1]),
    ],
)
def test_max_batch_size(sizes, max_batch, expected):
    rec = Recorder()

    async def main():
        b = DynamicBatcher(rec, window_s=0.5, max_batch_size=max_batch)
        tasks = [asyncio.ensure_future(b.submit(list(range(n)))) for n in sizes]
        await asyncio.gather(*tasks)
        await b.close()

    run(main())
    assert [len(x) for x in rec.batches] == expected


def test_a_failing_request_fails_alone():
    def score(items):
        if 'bad' in items:
            raise ValueError('bad item')
        return [x.upper() for x in items]

    async def main():
        b = DynamicBatcher(score, window_s=0.2)
        outs = await asyncio.gather(
            b.submit(['a', 'b']), b.submit(['bad']), b.submit(['c']), return_exceptions=True
        )
        await b.close()
        return outs

    ok1, err, ok2 = run(main())
    assert ok1 == ['A', 'B'] and ok2 == ['C']
    assert isinstance(err, ValueError) and str(err) == 'bad item'


def test_wrong_result_count_is_an_error():
    async def main():
        b = DynamicBatcher(lambda items: [], window_s=0)
        with pytest.raises(RuntimeError, match='0 results for 2 items'):
            await b.submit([1, 2])
        await b.close()

    run(main())


def test_timeout_while_scoring_and_while_waiting():
    release = threading.Event()
    rec = []

    def score(items):
        rec.append(list(items))
        release.wait(10)
        return items

    async def main():
        b = DynamicBatcher(score, window_s=0, max_concurrent=1)
        first = asyncio.ensure_future(b.submit(['slow'], timeout=0.2))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(b.submit(['queued'], timeout=0.1))
        with pytest.raises(RequestTimeout) as e1:
            await first
        with pytest.raises(RequestTimeout) as e2:
            await second
        release.set()
        third = await b.submit(['later'], timeout=5)
        await b.close()
        return e1.value, e2.value, third

    e1, e2, third = run(main())
    assert 'while being scored' in str(e1) and e1.timeout_s == 0.2
    assert 'while waiting for a batch' in str(e2)
    assert third == ['later']
    assert ['queued'] not in rec  # an abandoned request is never scored


def test_close_finishes_accepted_requests_and_refuses_new_ones():
    rec = Recorder()

    async def main():
        b = DynamicBatcher(rec, window_s=0.3)
        pending = [asyncio.ensure_future(b.submit([i])) for i in range(5)]
        await asyncio.sleep(0)
        await b.close()
        with pytest.raises(BatcherClosed):
            await b.submit([9])
        return [p.result() for p in pending]

    assert run(main()) == [[('scored', i)] for i in range(5)]


def test_overloaded_queue_refuses_at_once():
    release = threading.Event()

    def score(items):
        release.wait(10)
        return items

    async def main():
        b = DynamicBatcher(score, window_s=0, max_concurrent=1, max_queued=3)
        busy = asyncio.ensure_future(b.submit([0]))
        await asyncio.sleep(0.05)  # now scoring: the next requests queue
        queued = asyncio.ensure_future(b.submit([1, 2, 3]))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match='queue limit of 3'):
            await b.submit([4])
        release.set()
        out = await asyncio.gather(busy, queued)
        await b.close()
        return out

    assert run(main()) == [[0], [1, 2, 3]]


def test_the_event_loop_runs_while_a_batch_is_scored():
    # score_fn blocks until the loop sets a flag: a batcher that scored on the loop
    # would never get there (the wait times out and the item says so).
    loop_ran = threading.Event()

    def score(items):
        return ['loop ran' if loop_ran.wait(5) else 'loop blocked' for _ in items]

    async def main():
        b = DynamicBatcher(score, window_s=0)
        task = asyncio.ensure_future(b.submit(['x']))
        await asyncio.sleep(0.05)
        loop_ran.set()
        out = await task
        await b.close()
        return out

    assert run(main()) == ['loop ran']


def test_arguments_are_checked():
    for kwargs, name in (
        ({'window_s': -1}, 'window_s'),
        ({'max_batch_size': 0}, 'max_batch_size'),
        ({'max_concurrent': 0}, 'max_concurrent'),
        ({'max_queued': -1}, 'max_queued'),
    ):
        with pytest.raises(ValueError, match=name):
            DynamicBatcher(lambda x: x, **kwargs)
