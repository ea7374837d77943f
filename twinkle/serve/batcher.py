"""Dynamic batching: requests that arrive within a short window are scored as one batch.

Invariants:

- The event loop never scores: batches run in the batcher's own ``max_concurrent`` threads
  (sympy in the math reward's killable worker processes).
- A batch leaves when the oldest request's window has passed or ``max_batch_size`` samples
  wait, and a scoring slot is free; under load batches grow by themselves.
- A request is never split, and its results are exactly its slice of the batch's.
- A batch that raises is scored again request by request, so a bad request fails alone.
- A request past its timeout gets :class:`RequestTimeout`, and is never scored if not yet batched.
- :meth:`DynamicBatcher.close` stops new requests and returns once every accepted one is answered.
"""

from __future__ import annotations

import asyncio
import collections
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Deque, List, Optional, Sequence

__all__ = ['DynamicBatcher', 'RequestTimeout', 'BatcherClosed', 'Overloaded']


class RequestTimeout(Exception):
    """A request was not scored within its timeout."""

    def __init__(self, timeout_s: float, stage: str):
        super().__init__(f'not scored within the request timeout of {timeout_s:g} s ({stage})')
        self.timeout_s = timeout_s
        self.stage = stage


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and takes no new requests."""


class Overloaded(RuntimeError):
    """More samples wait than the batcher's queue limit allows."""


class _Request:
    __slots__ = ('items', 'future', 'arrived', 'abandoned', 'started')

    def __init__(self, items: Sequence[Any], future: asyncio.Future, arrived: float):
        self.items = items
        self.future = future
        self.arrived = arrived
        self.abandoned = False  # its caller stopped waiting (timeout): skip it
        self.started = False  # it is in a batch that is being scored


def _retrieve(fut: asyncio.Future) -> None:
    # An abandoned request's future may still get an exception; reading it here keeps
    # asyncio from logging "exception was never retrieved".
    if not fut.cancelled():
        fut.exception()


class DynamicBatcher:
    """Collects concurrent requests into batches and scores them off the event loop.

    Args:
        score_fn: ``score_fn(items) -> results``, one result per item, called in a
            worker thread with the items of every request in the batch, in order.
        window_s: how long the oldest waiting request waits for others to join it.
        max_batch_size: most samples in one batch (a larger request is a batch alone).
        max_concurrent: batches scored at once (threads of the executor).
        max_queued: most samples waiting (not yet in a batch); beyond it
            :meth:`submit` raises :class:`Overloaded` at once. 0: no limit.
        on_batch: called on the loop after each batch with ``(requests, samples,
            seconds)``, for metrics.

    >>> async def demo():
    ...     batcher = DynamicBatcher(lambda items: [x * 2 for x in items], window_s=0.01)
    ...     out = await asyncio.gather(batcher.submit([1, 2]), batcher.submit([3]))
    ...     await batcher.close()
    ...     return out, batcher.batches
    >>> asyncio.run(demo())
    ([[2, 4], [6]], 1)
    """

    def __init__(
        self,
        score_fn: Callable[[List[Any]], Sequence[Any]],
        *,
        window_s: float = 0.005,
        max_batch_size: int = 1024,
        max_concurrent: int = 1,
        max_queued: int = 0,
        on_batch: Optional[Callable[[int, int, float], None]] = None,
    ):
        if not window_s >= 0:
            raise ValueError(f'DynamicBatcher.window_s must be >= 0 seconds, got {window_s!r}')
        for name, value, low in (
            ('max_batch_size', max_batch_size, 1),
            ('max_concurrent', max_concurrent, 1),
            ('max_queued', max_queued, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'DynamicBatcher.{name} must be an int >= {low}, got {value!r}')
        self.score_fn = score_fn
        self.window_s = float(window_s)
        self.max_batch_size = max_batch_size
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.on_batch = on_batch
        self.batches = 0
        self._pending: Deque[_Request] = collections.deque()
        self._queued = 0  # samples waiting in _pending
        self._in_flight = 0  # samples in batches being scored
        self._closing = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wakeup: Optional[asyncio.Event] = None
        self._slots: Optional[asyncio.Semaphore] = None
        self._collector: Optional[asyncio.Task] = None
        self._running: set = set()
        self._executor: Optional[ThreadPoolExecutor] = None

    # ---------------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Samples waiting for a batch."""
        return self._queued

    @property
    def in_flight(self) -> int:
        """Samples in batches being scored."""
        return self._in_flight

    @property
    def closing(self) -> bool:
        return self._closing

    def start(self) -> None:
        """Binds the batcher to the running loop (done by the first :meth:`submit`)."""
        if self._collector is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(self.max_concurrent)
        self._executor = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix='twinkle-score')
        self._collector = self._loop.create_task(self._collect())

    async def run_in_executor(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs ``fn(*args)`` in the scoring threads (used for warm-up)."""
        self.start()
        return await self._loop.run_in_executor(self._executor, fn, *args)

    async def submit(self, items: Sequence[Any], timeout: Optional[float] = None) -> List[Any]:
        """Scores ``items`` in the next batch and returns their results, in order.

        Raises:
            RequestTimeout: no result within ``timeout`` seconds (None: no limit).
            BatcherClosed: the batcher is closing.
            Overloaded: the queue holds ``max_queued`` samples already.
            Exception: what ``score_fn`` raised for this request's own items.
        """
        if self._closing:
            raise BatcherClosed('the server is shutting down and takes no new requests')
        if not items:
            return []
        if self.max_queued and self._queued + len(items) > self.max_queued and self._queued:
            raise Overloaded(
                f'{self._queued} samples are waiting, and {len(items)} more would pass '
                f'the queue limit of {self.max_queued}; retry later'
            )
        self.start()
        fut = self._loop.create_future()
        fut.add_done_callback(_retrieve)
        req = _Request(list(items), fut, self._loop.time())
        self._pending.append(req)
        self._queued += len(req.items)
        self._wakeup.set()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            req.abandoned = True
            stage = 'while being scored' if req.started else 'while waiting for a batch'
            raise RequestTimeout(timeout, stage) from None
        except asyncio.CancelledError:
            req.abandoned = True  # the caller went away (a client disconnect)
            raise

    async def close(self) -> None:
        """Takes no new requests, scores every accepted one, then stops the threads."""
        self._closing = True
        if self._collector is None:
            return
        self._wakeup.set()
        await self._collector
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
        self._executor.shutdown(wait=True)

    # ---------------------------------------------------------------------------------
    async def _collect(self) -> None:
        """Forms batches until closed and drained."""
        loop = self._loop
        while True:
            while not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._wait_window(loop)
            await self._slots.acquire()
            batch = self._take()
            if not batch:
                self._slots.release()
                continue
            task = loop.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _wait_window(self, loop: asyncio.AbstractEventLoop) -> None:
        """Waits until the oldest request's window has passed or a batch is full."""
        deadline = self._pending[0].arrived + self.window_s
        while self._queued < self.max_batch_size and not self._closing:
            left = deadline - loop.time()
            if left <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except TimeoutError:
                return

    def _take(self) -> List[_Request]:
        """The next batch: waiting requests in order, up to ``max_batch_size`` samples (at least one request)."""
        batch: List[_Request] = []
        size = 0
        while self._pending:
            req = self._pending[0]
            if req.abandoned:
                self._pending.popleft()
                self._queued -= len(req.items)
                continue
            if batch and size + len(req.items) > self.max_batch_size:
                break
            self._pending.popleft()
            self._queued -= len(req.items)
            req.started = True
            batch.append(req)
            size += len(req.items)
        return batch

    async def _run(self, batch: List[_Request]) -> None:
        """Scores one batch in a thread and hands each request its slice."""
        items = [x for req in batch for x in req.items]
        self._in_flight += len(items)
        t0 = time.perf_counter()
        try:
            try:
                results = await self._loop.run_in_executor(self._executor, self._score, items)
            except Exception as e:  # noqa: BLE001 - isolated below, request by request
                if len(batch) == 1:
                    _fail(batch[0], e)
                else:
                    await self._run_each(batch)
            else:
                start = 0
                for req in batch:
                    end = start + len(req.items)
                    if not req.future.done():
                        req.future.set_result(results[start:end])
                    start = end
        finally:
            self._in_flight -= len(items)
            self.batches += 1
            self._slots.release()
            if self.on_batch is not None:
                self.on_batch(len(batch), len(items), time.perf_counter() - t0)

    async def _run_each(self, batch: List[_Request]) -> None:
        # The batch failed as a whole: score each request alone, so that only the
        # request whose samples raise gets the error.
        for req in batch:
            if req.abandoned:
                continue
            try:
                out = await self._loop.run_in_executor(self._executor, self._score, req.items)
            except Exception as e:  # noqa: BLE001 - handed to the request's caller
                _fail(req, e)
            else:
                if not req.future.done():
                    req.future.set_result(out)

    def _score(self, items: List[Any]) -> List[Any]:
        results = list(self.score_fn(items))
        if len(results) != len(items):
            raise RuntimeError(f'score_fn returned {len(results)} results for {len(items)} items')
        return results


def _fail(req: _Request, error: BaseException) -> None:
    if not req.future.done():
        req.future.set_exception(error)
