"""The reward server's ASGI application (Starlette) and the service behind it.

Routes: ``POST /get_reward`` (OpenRLHF's remote reward protocol), ``POST /score``
(completions or trajectories -> rewards, parts and explanations; :mod:`twinkle.serve.protocol`),
``GET /health`` (200 while serving, 503 while draining), ``GET /metrics`` (Prometheus text,
or JSON with ``?format=json``).

Errors are JSON ``{"error": ..., "field": ...}``: 400 bad JSON or field, 413 past a size
limit, 503 shutting down or queue full, 504 not scored within ``request_timeout_s``, 500 a
reward raised. A failed request never gets a reward (a timeout is not 0.0).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from typing import Any, Dict, List, Optional, Tuple

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from twinkle.serve.batcher import BatcherClosed, DynamicBatcher, Overloaded, RequestTimeout
from twinkle.serve.config import ServeConfig
from twinkle.serve.metrics import Metrics
from twinkle.serve.protocol import Batch, Limits, RequestError, parse_get_reward, parse_json, parse_score
from twinkle.serve.scorer import SampleScore, Scorer, as_json_number, sample_record

__all__ = ['RewardService', 'create_app']

logger = logging.getLogger('twinkle.serve')

ROUTES = ('/get_reward', '/score', '/health', '/metrics')


def _json(obj: Any, status: int = 200) -> Response:
    # allow_nan=False: every NaN must have been mapped (null or abstain_value) before.
    body = json.dumps(obj, separators=(',', ':'), ensure_ascii=False, allow_nan=False)
    return Response(body.encode('utf-8'), status_code=status, media_type='application/json')


class RewardService:
    """A scorer behind a dynamic batcher, with metrics; the routes call its methods.

    Args:
        config: the :class:`ServeConfig`.
        scorer: a ready :class:`twinkle.serve.scorer.Scorer` (default: built from
            ``config.rewards``).

    >>> service = RewardService(ServeConfig(rewards=('math',)))
    >>> service.scorer.names
    ['math']
    """

    def __init__(self, config: ServeConfig, scorer: Optional[Scorer] = None):
        self.config = config
        self.scorer = scorer or Scorer(config.rewards, config.nan_policy, config.math_options())
        self.limits = Limits(config.max_items_per_request, config.max_text_chars)
        self.batcher = DynamicBatcher(
            self._score_items,
            window_s=config.batch_window_ms / 1000.0,
            max_batch_size=config.max_batch_size,
            max_concurrent=config.max_concurrent_batches,
            max_queued=config.max_queued_samples,
            on_batch=self._on_batch,
        )
        self.metrics = Metrics(
            config.metrics_window,
            gauges={
                'queued_samples': lambda: self.batcher.queued,
                'in_flight_samples': lambda: self.batcher.in_flight,
            },
        )
        self.ready = False

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Binds the batcher to the loop and warms the rewards in a scoring thread, off the first request."""
        self.batcher.start()
        await self.batcher.run_in_executor(self._warm_up)
        self.ready = True

    async def close(self) -> None:
        """Finishes every accepted request, then stops the scoring threads."""
        self.ready = False
        await self.batcher.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any):
        await self.start()
        try:
            yield
        finally:
            await self.close()

    def _warm_up(self) -> None:
        self.scorer.score(['The answer is $\\boxed{1}$.'], ['1'])

    # ---- scoring ------------------------------------------------------------------------
    def _score_items(self, items: List[Tuple[Any, Any]]) -> List[SampleScore]:
        # Runs in a scoring thread: one call per reward over all requests of the batch.
        trajectories = [t for t, _ in items]
        golds = [g for _, g in items]
        return self.scorer.score(trajectories, golds)

    def _on_batch(self, requests: int, samples: int, seconds: float) -> None:
        self.metrics.record_batch(requests, samples, seconds)

    async def score_batch(self, batch: Batch) -> List[SampleScore]:
        """Scores one request's samples in the next batch; errors as :class:`RequestError`."""
        try:
            results = await self.batcher.submit(
                list(zip(batch.trajectories, batch.ground_truths)), self.config.request_timeout_s
            )
        except RequestTimeout as e:
            self.metrics.record_event('request_timeouts')
            for name in self.scorer.names:
                self.metrics.record_outcomes(name, ['timeout'] * len(batch.trajectories))
            raise RequestError(
                f'request {e}; nothing was scored for it (retry, or raise request_timeout_s)', None, 504
            ) from None
        except BatcherClosed as e:
            raise RequestError(str(e), None, 503) from None
        except Overloaded as e:
            self.metrics.record_event('overloaded')
            raise RequestError(str(e), None, 503) from None
        except Exception as e:  # noqa: BLE001 - a reward raised: report it to this client
            logger.exception('scoring failed')
            raise RequestError(f'scoring failed: {type(e).__name__}: {e}', None, 500) from None
        for name in self.scorer.names:
            self.metrics.record_outcomes(name, [r.explanation[name]['outcome'] for r in results])
        return results

    async def _read(self, request: Request) -> Dict[str, Any]:
        """The body as a JSON object, refusing bodies past ``max_request_bytes``."""
        limit = self.config.max_request_bytes
        declared = request.headers.get('content-length')
        if declared is not None:
            if not declared.isdigit():
                raise RequestError(f'Content-Length {declared!r} is not a number', 'Content-Length')
            if int(declared) > limit:
                raise RequestError(
                    f'body of {int(declared)} bytes is larger than the limit of {limit} bytes', 'body', 413
                )
        chunks, size = [], 0
        async for chunk in request.stream():  # also bounds chunked bodies with no length
            size += len(chunk)
            if size > limit:
                raise RequestError(f'body is larger than the limit of {limit} bytes', 'body', 413)
            chunks.append(chunk)
        return parse_json(b''.join(chunks))

    # ---- routes -------------------------------------------------------------------------
    async def get_reward(self, request: Request) -> Response:
        """OpenRLHF's ``/get_reward``."""
        try:
            batch = parse_get_reward(await self._read(request), self.limits, self.config.strip_end_tokens)
            if batch.prompt_mismatches:
                self.metrics.record_event('prompt_not_prefix', batch.prompt_mismatches)
            results = await self.score_batch(batch)
        except RequestError as e:
            return self._error(request, e)
        fill = self.config.abstain_value
        rewards = [fill if math.isnan(r.reward) else r.reward for r in results]
        # extra_logs: each part per sample (OpenRLHF logs every key's mean), numbers only.
        extra = {
            name: [fill if math.isnan(r.parts[name]) else r.parts[name] for r in results]
            for name in self.scorer.names
        }
        request.state.samples = len(results)
        return _json({'rewards': rewards, 'scores': rewards, 'extra_logs': extra})

    async def score(self, request: Request) -> Response:
        """The plain batch endpoint ``/score``."""
        try:
            batch = parse_score(await self._read(request), self.limits)
            results = await self.score_batch(batch)
        except RequestError as e:
            return self._error(request, e)
        request.state.samples = len(results)
        records = [sample_record(r) for r in results]
        return _json(
            {
                'rewards': [r['reward'] for r in records],
                'parts': {n: [as_json_number(r.parts[n]) for r in results] for n in self.scorer.names},
                'explanations': [r['explanation'] for r in records],
            }
        )

    async def health(self, request: Request) -> Response:
        draining = self.batcher.closing
        body = {
            'status': 'draining' if draining else ('ok' if self.ready else 'starting'),
            'rewards': self.scorer.describe(),
            'pid': os.getpid(),
            'queued_samples': self.batcher.queued,
            'in_flight_samples': self.batcher.in_flight,
        }
        return _json(body, 503 if draining or not self.ready else 200)

    async def metrics_route(self, request: Request) -> Response:
        if request.query_params.get('format') == 'json':
            return _json(self.metrics.snapshot())
        return PlainTextResponse(self.metrics.prometheus(), media_type='text/plain; version=0.0.4')

    def _error(self, request: Request, e: RequestError) -> Response:
        if e.status == 400 or e.status == 413:
            self.metrics.record_event('rejected_requests')
        return _json(e.body(), e.status)


class _Timing:
    """ASGI middleware: each request's latency, status and sample count go to the metrics."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_status(message):
            if message['type'] == 'http.response.start':
                status[0] = message['status']
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = scope.get('path', '')
            route = path if path in ROUTES else 'other'
            samples = scope.get('state', {}).get('samples', 0)
            self.metrics.record_request(route, status[0], time.perf_counter() - t0, samples)


def create_app(service: RewardService) -> Any:
    """The ASGI app serving ``service`` (its lifespan starts and drains the service).

    >>> app = create_app(RewardService(ServeConfig(rewards=('math',))))
    >>> callable(app)
    True
    """
    routes = [
        Route('/get_reward', service.get_reward, methods=['POST']),
        Route('/score', service.score, methods=['POST']),
        Route('/health', service.health, methods=['GET']),
        Route('/metrics', service.metrics_route, methods=['GET']),
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan)
    return _Timing(app, service.metrics)
