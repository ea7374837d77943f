"""Concurrent per-sample awaits gathered into one batched call, run off the event loop.

asyncio trainers (verl's reward loop, slime's rollout) ask for one sample per coroutine,
many at once; twinkle is fastest per batch, and blocking the loop stalls every rollout. Each
sample is queued, and once every ready coroutine has queued its own (or after ``wait_s``)
the queue is scored in one call in a thread.
"""

from __future__ import annotations

import asyncio
import collections
import weakref
from concurrent.futures import Executor
from typing import Any, Callable, List, Optional, Sequence

__all__ = ['AsyncBatcher']


class _Queue:
    __slots__ = ('items', 'futures')

    def __init__(self):
        self.items: List[Any] = []
        self.futures: List[asyncio.Future] = []


class AsyncBatcher:
    """Gathers concurrent :meth:`submit` calls into batched calls of ``fn``.

    Args:
        fn: ``fn(items) -> results``, one result per item, run in ``executor``.
        wait_s: seconds to wait for more items after the first (0: only the coroutines
            ready at that moment).
        max_batch: a queue this long is scored at once.
        executor: where ``fn`` runs; None: the loop's default thread pool.

    >>> b = AsyncBatcher(lambda xs: [x * 2 for x in xs])
    >>> async def main():
    ...     return await asyncio.gather(*(b.submit(i) for i in range(3)))
    >>> asyncio.run(main()), list(b.sizes)
    ([0, 2, 4], [3])
    """

    def __init__(
        self,
        fn: Callable[[List[Any]], Sequence[Any]],
        *,
        wait_s: float = 0.0,
        max_batch: int = 4096,
        executor: Optional[Executor] = None,
    ):
        if wait_s < 0:
            raise ValueError(f'wait_s must be >= 0, got {wait_s}')
        if max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}')
        self.fn = fn
        self.wait_s = float(wait_s)
        self.max_batch = int(max_batch)
        self.executor = executor
        self.sizes = collections.deque(maxlen=1024)  # recent batch sizes, for inspection
        # One queue per event loop: a future belongs to the loop that awaits it.
        self._queues: weakref.WeakKeyDictionary[Any, _Queue] = weakref.WeakKeyDictionary()

    async def submit(self, item: Any) -> Any:
        """Queues ``item`` and returns its result once its batch is scored."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
            if self.wait_s > 0:
                loop.call_later(self.wait_s, self._flush, loop, queue)
            else:
                loop.call_soon(self._flush, loop, queue)
        fut = loop.create_future()
        queue.items.append(item)
        queue.futures.append(fut)
        if len(queue.items) >= self.max_batch:
            self._flush(loop, queue)
        return await fut

    def _flush(self, loop, queue: _Queue) -> None:
        if self._queues.get(loop) is not queue:
            return  # already sent (it reached max_batch)
        del self._queues[loop]
        loop.create_task(self._run(loop, queue))

    async def _run(self, loop, queue: _Queue) -> None:
        self.sizes.append(len(queue.items))
        try:
            results = await loop.run_in_executor(self.executor, self.fn, queue.items)
            if len(results) != len(queue.items):
                raise ValueError(
                    f'the batched call returned {len(results)} results for {len(queue.items)} items'
                )
        except Exception as e:  # every waiting coroutine gets the error; none hangs
            for fut in queue.futures:
                if not fut.done():
                    fut.set_exception(e)
            return
        for fut, r in zip(queue.futures, results):
            if not fut.done():
                fut.set_result(r)
