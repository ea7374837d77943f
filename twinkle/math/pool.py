"""Worker processes for sympy, with a hard per-item deadline.

Invariants:

- A worker is a child process (``python twinkle/math/_symbolic.py``) on pipes, started
  lazily; its start-up (importing sympy) counts against no deadline.
- An item not back within its deadline is lost: the worker is killed (SIGKILL, reaped) and
  replaced. No ``signal.alarm``, so any thread may call.
- Thread-safe: a caller owns a worker for one item; at most ``num_workers`` exist.
- A worker that dies at any stage is reaped and its slot freed before the call returns. Its
  item is retried once in a fresh worker within the deadline left; a second death is the
  transient status 'died', never to be cached as a verdict.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection
from typing import Any, Optional, Tuple

__all__ = ['WorkerPool', 'WorkerStartError', 'shared_pool']

logger = logging.getLogger(__name__)

_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_symbolic.py')


class WorkerStartError(RuntimeError):
    """A worker process could not be started (or died before it was ready)."""


class _Worker:
    def __init__(self, start_timeout: float):
        # pass_fds is not needed: the protocol rides on stdin/stdout.
        self.proc = subprocess.Popen(
            [sys.executable, '-u', _SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.send_conn = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv_conn = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        try:
            if not self.recv_conn.poll(start_timeout):
                raise WorkerStartError(f'sympy worker did not start in {start_timeout} s')
            msg = self.recv_conn.recv()
            if not (isinstance(msg, tuple) and msg[0] == 'ready'):
                raise WorkerStartError(f'sympy worker sent {msg!r} instead of ready')
        except (EOFError, OSError) as e:
            # Killed while importing sympy (an OOM kill does this): the pipe closes.
            self.kill()
            raise WorkerStartError(f'sympy worker died while starting ({type(e).__name__})') from None
        except WorkerStartError:
            self.kill()
            raise

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
            logger.warning('sympy worker %s did not exit after SIGKILL', self.proc.pid)
        for c in (self.send_conn, self.recv_conn):
            try:
                c.close()
            except OSError:
                pass


class WorkerPool:
    """A small pool of sympy worker processes with a per-item deadline.

    Args:
        num_workers: the most workers alive at once.
        start_timeout: seconds a new worker may take to import sympy.

    >>> pool = WorkerPool(num_workers=1)
    >>> one = ('num', __import__('fractions').Fraction(1), None)
    >>> pool.run(one, one, 'expr', deadline=30.0)
    ('ok', True)
    >>> pool.close()
    """

    def __init__(self, num_workers: int = 1, start_timeout: float = 120.0):
        if num_workers < 1:
            raise ValueError(f'WorkerPool.num_workers must be >= 1, got {num_workers}')
        self.num_workers = num_workers
        self.start_timeout = start_timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False
        self.pid = os.getpid()  # a forked child must not use its parent's workers
        self.kills = 0  # workers killed for overrunning (observable by tests)
        self.deaths = 0  # workers that died mid-item
        self.last_killed_pid: Optional[int] = None
        _POOLS.add(self)

    def _acquire(self) -> _Worker:
        """An idle worker, or a new one while fewer than ``num_workers`` are alive."""
        # Wait in short slices, so a slot freed by a dead worker (not put back) is seen.
        while True:
            w = self._live_idle(None)
            if w is not None:
                return w
            with self._lock:
                if self._closed:
                    raise RuntimeError('WorkerPool is closed')
                start = self._alive < self.num_workers
                if start:
                    self._alive += 1
            if start:
                try:
                    return _Worker(self.start_timeout)
                except BaseException:
                    with self._lock:
                        self._alive -= 1
                    raise
            w = self._live_idle(0.05)
            if w is not None:
                return w

    def _live_idle(self, timeout: Optional[float]) -> Optional[_Worker]:
        """An idle worker still alive (waiting up to ``timeout``), else None; a dead one frees its slot."""
        try:
            w = self._idle.get(timeout=timeout) if timeout else self._idle.get_nowait()
        except queue.Empty:
            return None
        if w.proc.poll() is None:
            return w
        self._discard(w)
        return None

    def _discard(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._alive -= 1

    def _release(self, w: _Worker) -> None:
        if self._closed or w.proc.poll() is not None:
            self._discard(w)
        else:
            self._idle.put(w)

    def run(self, a: tuple, b: tuple, mode: str, deadline: float) -> Tuple[str, Any]:
        """Decides one pair in a worker: :meth:`run_timed` without the time."""
        status, value, _ = self.run_timed(a, b, mode, deadline)
        return status, value

    def run_timed(self, a: tuple, b: tuple, mode: str, deadline: float) -> Tuple[str, Any, float]:
        """Decides one pair in a worker: ``(status, value, seconds spent in workers)``.

        Args:
            a, b: expression trees.
            mode: 'expr' or 'eq'.
            deadline: seconds the item may spend in workers (starting a worker and
                waiting for a free one do not count).

        Returns:
            ``('ok', bool)``; ``('timeout', None)`` when the deadline passed (the worker was
            killed); ``('error', reason)`` when sympy itself failed (the same item fails again);
            ``('died', reason)`` when no worker could decide it: a transient fault, not a
            verdict. Each with the seconds spent in workers.
        """
        reason, used = '', 0.0
        for _ in range(2):
            if deadline - used <= 0:
                return 'timeout', None, used
            try:
                w = self._acquire()
            except (WorkerStartError, OSError) as e:
                reason = f'no worker: {e}'
                continue
            except RuntimeError as e:  # closed
                return 'died', str(e), used
            t0 = time.monotonic()
            try:
                w.send_conn.send((a, b, mode))
                ready = w.recv_conn.poll(deadline - used)
                reply = w.recv_conn.recv() if ready else None
            except (EOFError, OSError) as e:
                self._discard(w)
                self.deaths += 1
                reason = f'worker died: {type(e).__name__}'
                used += time.monotonic() - t0
                continue
            except BaseException:
                self._discard(w)  # interrupted: the worker's state is unknown
                raise
            used += time.monotonic() - t0
            if not ready:
                self.kills += 1
                self.last_killed_pid = w.proc.pid
                self._discard(w)
                return 'timeout', None, used
            self._release(w)
            return reply[0], reply[1], used
        return 'died', reason, used

    def close(self) -> None:
        """Stops every idle worker; busy ones are stopped when their item returns."""
        with self._lock:
            self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            self._discard(w)


_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_SHARED = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(num_workers: int) -> WorkerPool:
    """The process-wide pool for ``num_workers`` (rewards share workers)."""
    with _SHARED_LOCK:
        pool: Optional[WorkerPool] = _SHARED.get(num_workers)
        if pool is None or pool._closed or pool.pid != os.getpid():
            pool = _SHARED[num_workers] = WorkerPool(num_workers)
            logger.info(
                'twinkle.math: sympy runs in up to %d worker process(es), started on first need', num_workers
            )
        return pool


@atexit.register
def _close_all() -> None:
    for p in list(_POOLS):
        if p.pid == os.getpid():
            p.close()
