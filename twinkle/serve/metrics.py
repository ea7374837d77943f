"""Server metrics: requests, batch sizes, latency percentiles and outcome counts.

Counters only grow; percentiles come from a ring buffer of the last ``window`` observations,
so memory is bounded. ``GET /metrics`` renders Prometheus text, or JSON with ``?format=json``.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from twinkle.serve.scorer import OUTCOMES

__all__ = ['Metrics', 'percentile']

QUANTILES = (0.5, 0.9, 0.99)


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; NaN for no values.

    >>> percentile([1, 2, 3, 4], 0.5), percentile([5.0], 0.99)
    (2.5, 5.0)
    """
    xs = sorted(values)
    if not xs:
        return math.nan
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class _Window:
    """The last ``size`` observations, with a count and a sum over all of them."""

    def __init__(self, size: int):
        self.recent: Deque[float] = collections.deque(maxlen=size)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, x: float) -> None:
        self.recent.append(x)
        self.count += 1
        self.total += x
        self.max = max(self.max, x)

    def summary(self) -> Dict[str, float]:
        recent = list(self.recent)
        out = {
            'count': self.count,
            'sum': self.total,
            'max': self.max,
            'mean': self.total / self.count if self.count else math.nan,
        }
        for q in QUANTILES:
            out[f'p{round(q * 100)}'] = percentile(recent, q)
        return out


class Metrics:
    """Thread-safe counters and windows of one server process.

    Args:
        window: how many recent observations the percentiles are computed from.
        gauges: named callables read at snapshot time (queue depth, samples in flight).

    >>> m = Metrics()
    >>> m.record_request('/get_reward', 200, 0.004, samples=1)
    >>> m.record_outcomes('math', ['correct', 'timeout'])
    >>> snap = m.snapshot()
    >>> snap['requests']['/get_reward']['200'], snap['outcomes']['math']['timeout']
    (1, 1)
    """

    def __init__(self, window: int = 10000, gauges: Optional[Dict[str, Callable[[], float]]] = None):
        self._lock = threading.Lock()
        self._window = window
        self.started = time.time()
        self.requests: Dict[str, Dict[str, int]] = collections.defaultdict(
            lambda: collections.defaultdict(int)
        )
        self.latency: Dict[str, _Window] = {}
        self.samples: Dict[str, int] = collections.defaultdict(int)
        self.batch_samples = _Window(window)
        self.batch_requests = _Window(window)
        self.batch_seconds = _Window(window)
        self.outcomes: Dict[str, Dict[str, int]] = {}
        self.events: Dict[str, int] = collections.defaultdict(int)
        self.gauges = dict(gauges or {})

    # ---------------------------------------------------------------------------------
    def record_request(self, route: str, status: int, seconds: float, samples: int = 0) -> None:
        """One answered request: its route, HTTP status, latency and sample count."""
        with self._lock:
            self.requests[route][str(status)] += 1
            if route not in self.latency:
                self.latency[route] = _Window(self._window)
            self.latency[route].add(seconds)
            if samples:
                self.samples[route] += samples

    def record_batch(self, requests: int, samples: int, seconds: float) -> None:
        """One scored batch: how many requests and samples it held and how long it took."""
        with self._lock:
            self.batch_requests.add(requests)
            self.batch_samples.add(samples)
            self.batch_seconds.add(seconds)

    def record_outcomes(self, reward: str, outcomes: Iterable[str]) -> None:
        """Outcomes delivered to clients for one reward (see :data:`twinkle.serve.scorer.OUTCOMES`)."""
        with self._lock:
            counts = self.outcomes.setdefault(reward, {k: 0 for k in OUTCOMES})
            for o in outcomes:
                counts[o] = counts.get(o, 0) + 1

    def record_event(self, name: str, n: int = 1) -> None:
        """A named counter (``request_timeouts``, ``prompt_not_prefix``...)."""
        with self._lock:
            self.events[name] += n

    # ---------------------------------------------------------------------------------
    def snapshot(self) -> Dict[str, Any]:
        """Everything as one JSON-ready dict (NaN percentiles as None)."""
        with self._lock:
            snap = {
                'uptime_s': time.time() - self.started,
                'requests': {r: dict(c) for r, c in self.requests.items()},
                'samples': dict(self.samples),
                'latency_s': {r: w.summary() for r, w in self.latency.items()},
                'batch': {
                    'samples': self.batch_samples.summary(),
                    'requests': self.batch_requests.summary(),
                    'seconds': self.batch_seconds.summary(),
                },
                'outcomes': {r: dict(c) for r, c in self.outcomes.items()},
                'events': dict(self.events),
            }
        snap['gauges'] = {k: fn() for k, fn in self.gauges.items()}
        return _nan_to_none(snap)

    def prometheus(self, prefix: str = 'twinkle') -> str:
        """The metrics in the Prometheus text exposition format (version 0.0.4)."""
        s = self.snapshot()
        out: List[str] = []

        def family(name: str, kind: str, help_text: str, rows: List[Tuple[Dict[str, str], Any]]) -> None:
            out.append(f'# HELP {prefix}_{name} {help_text}')
            out.append(f'# TYPE {prefix}_{name} {kind}')
            for labels, value in rows:
                out.append(f'{prefix}_{name}{_labels(labels)} {_number(value)}')

        family(
            'requests_total',
            'counter',
            'HTTP requests answered, by route and status.',
            [({'route': r, 'status': st}, n) for r, c in s['requests'].items() for st, n in c.items()],
        )
        family(
            'samples_total',
            'counter',
            'Samples received, by route.',
            [({'route': r}, n) for r, n in s['samples'].items()],
        )
        family(
            'outcomes_total',
            'counter',
            'Sample outcomes delivered, by reward.',
            [({'reward': r, 'outcome': o}, n) for r, c in s['outcomes'].items() for o, n in c.items()],
        )
        family(
            'events_total',
            'counter',
            'Notable events (timeouts, rejected requests...).',
            [({'event': e}, n) for e, n in s['events'].items()],
        )
        for route, w in s['latency_s'].items():
            _summary(
                out,
                f'{prefix}_request_latency_seconds',
                {'route': route},
                w,
                'Request latency over the recent window.',
            )
        for key, help_text in (
            ('samples', 'Samples per scored batch.'),
            ('requests', 'Requests per scored batch.'),
            ('seconds', 'Seconds to score one batch.'),
        ):
            _summary(out, f'{prefix}_batch_{key}', {}, s['batch'][key], help_text)
        for name, value in s['gauges'].items():
            family(name, 'gauge', name.replace('_', ' ') + '.', [({}, value)])
        return '\n'.join(out) + '\n'


def _summary(out: List[str], name: str, labels: Dict[str, str], w: Dict[str, Any], help_text: str) -> None:
    if not any(line.startswith(f'# TYPE {name} ') for line in out):
        out.append(f'# HELP {name} {help_text}')
        out.append(f'# TYPE {name} summary')
    for q in QUANTILES:
        out.append(f'{name}{_labels(dict(labels, quantile=str(q)))} {_number(w[f"p{round(q * 100)}"])}')
    out.append(f'{name}_sum{_labels(labels)} {_number(w["sum"])}')
    out.append(f'{name}_count{_labels(labels)} {_number(w["count"])}')


def _labels(labels: Dict[str, str]) -> str:
    if not labels:
        return ''
    body = ','.join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return '{' + body + '}'


def _escape(v: str) -> str:
    return v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _number(v: Any) -> str:
    if v is None:
        return 'NaN'
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
