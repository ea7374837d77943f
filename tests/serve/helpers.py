"""A real server process for the tests and the benchmark: ``python -m twinkle serve`` on a
free port, started and stopped here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ServerProcess:
    """``python -m twinkle serve --port 0 ARGS`` in a child process.

    ``url`` is read from the line the server prints once its socket listens; :meth:`wait_ready`
    polls ``/health`` until the rewards are warm.
    """

    def __init__(self, args: List[str], env: Optional[dict] = None, cmd: Optional[List[str]] = None):
        # cmd: another server that prints the same "listening on http://..." line.
        cmd = cmd or [sys.executable, '-m', 'twinkle', 'serve', '--port', '0', *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, 'PYTHONPATH': ROOT, **(env or {})},
        )
        self.output: List[str] = []
        self.url = self._read_url()
        # Drain the rest of the output, so a chatty server never blocks on a full pipe.
        self._drain = threading.Thread(target=self._collect, daemon=True)
        self._drain.start()

    def _collect(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def _read_url(self, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError('server exited before listening:\n' + ''.join(lines))
            lines.append(line)
            self.output.append(line)
            if 'listening on http://' in line:
                return line.split('listening on ')[1].split()[0]
        raise RuntimeError('server did not print its address:\n' + ''.join(lines))

    def wait_ready(self, timeout: float = 120.0) -> ServerProcess:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + '/health', timeout=30).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError('server exited: ' + ''.join(self.output))
            time.sleep(0.2)
        raise RuntimeError('server not ready in time')

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit status (SIGKILL if it does not stop in ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._drain.join(10)
        return rc
