"""Worker processes for sympy, with a hard per-item deadline.

Invariants:

- A worker is a child process (``python twinkle/math/_symbolic.py``) talking over
  pipes; it is started lazily, and its start-up (importing sympy, about a second) does
  not count against any item's deadline.
- An item whose reply is not back within the deadline is lost: its worker is killed
  (SIGKILL, then reaped) and a fresh one is started for the next item. No
  ``signal.alarm`` anywhere, so the pool works from any thread.
- Thread-safe: idle workers sit in a ``queue.Queue``; a caller owns a worker for the
  duration of one item; at most ``num_workers`` exist at once.
"""
from __future__ import annotations

import atexit
import logging
import os
import queue
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from typing import Any, Optional, Tuple

__all__ = ['WorkerPool', 'shared_pool']

logger = logging.getLogger(__name__)

_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_symbolic.py')


class _Worker:
    def __init__(self, start_timeout: float):
        # pass_fds is not needed: the protocol rides on stdin/stdout.
        self.proc = subprocess.Popen(
            [sys.executable, '-u', _SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, close_fds=True)
        self.send_conn = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv_conn = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        if not self.recv_conn.poll(start_timeout):
            self.kill()
            raise RuntimeError('sympy worker did not start')
        msg = self.recv_conn.recv()
        if not (isinstance(msg, tuple) and msg[0] == 'ready'):
            self.kill()
            raise RuntimeError(f'sympy worker sent {msg!r} instead of ready')

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
        self._idle: 'queue.Queue[_Worker]' = queue.Queue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False
        self.pid = os.getpid()  # a forked child must not use its parent's workers
        self.kills = 0  # workers killed for overrunning (observable by tests)
        self.last_killed_pid: Optional[int] = None
        _POOLS.add(self)

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise RuntimeError('WorkerPool is closed')
            start = self._alive < self.num_workers
            if start:
                self._alive += 1
        if start:
            try:
                return _Worker(self.start_timeout)
            except (RuntimeError, OSError):
                with self._lock:
                    self._alive -= 1
                raise
        return self._idle.get()

    def _discard(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._alive -= 1

    def run(self, a: tuple, b: tuple, mode: str, deadline: float) -> Tuple[str, Any]:
        """Decides one pair in a worker.

        Returns:
            ``('ok', bool)``; ``('timeout', None)`` when the deadline passed (the worker
            was killed); ``('error', reason)`` when sympy failed or no worker could run.
        """
        try:
            w = self._acquire()
        except (RuntimeError, OSError) as e:
            return 'error', f'no worker: {e}'
        try:
            w.send_conn.send((a, b, mode))
            if w.recv_conn.poll(deadline):
                reply = w.recv_conn.recv()
            else:
                self.kills += 1
                self.last_killed_pid = w.proc.pid
                self._discard(w)
                return 'timeout', None
        except (EOFError, OSError) as e:
            self._discard(w)
            return 'error', f'worker died: {type(e).__name__}'
        if self._closed:
            self._discard(w)
        else:
            self._idle.put(w)
        return reply

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


_POOLS: 'weakref.WeakSet[WorkerPool]' = weakref.WeakSet()
_SHARED = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(num_workers: int) -> WorkerPool:
    """The process-wide pool for ``num_workers`` (rewards share workers)."""
    with _SHARED_LOCK:
        pool: Optional[WorkerPool] = _SHARED.get(num_workers)
        if pool is None or pool._closed or pool.pid != os.getpid():
            pool = _SHARED[num_workers] = WorkerPool(num_workers)
            logger.info('twinkle.math: sympy runs in up to %d worker process(es), started on '
                        'first need', num_workers)
        return pool


@atexit.register
def _close_all() -> None:
    for p in list(_POOLS):
        if p.pid == os.getpid():
            p.close()
