"""The reward server as a Ray Serve deployment: several replicas behind one route.

Each replica is the app of ``python -m twinkle serve`` built from a :class:`ServeConfig`, with
its own scorer, tables and sympy workers; Ray Serve's proxy spreads requests over them. Use
``serve.run(reward_app(config, num_replicas=8), route_prefix='/')`` after ``ray.init``, or
``python -m twinkle serve --ray --replicas 8 --ray-address auto``.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Dict, Optional

from twinkle.serve.config import ServeConfig

__all__ = ['RewardDeployment', 'reward_app', 'run_ray_serve']


class RewardDeployment:
    """One replica: a :class:`twinkle.serve.app.RewardService` and its ASGI app."""

    def __init__(self, config: Dict[str, Any]):
        from twinkle.serve.app import RewardService

        self.service = RewardService(ServeConfig.from_mapping(config))

    def __serve_build_asgi_app__(self) -> Any:
        from twinkle.serve.app import create_app

        return create_app(self.service)


def reward_app(
    config: ServeConfig, num_replicas: int = 2, num_cpus: float = 1.0, name: str = 'twinkle-reward'
):
    """A bound Ray Serve application of ``num_replicas`` reward replicas.

    Args:
        config: the server settings (host and port are Ray Serve's, see :func:`run_ray_serve`).
        num_replicas: replicas behind the route.
        num_cpus: CPUs Ray reserves per replica.
        name: the deployment's name.

    Returns:
        A ``ray.serve.Application`` for ``serve.run``.
    """
    from ray import serve

    if not isinstance(num_replicas, int) or num_replicas < 1:
        raise ValueError(f'num_replicas must be an int >= 1, got {num_replicas!r}')
    deployment = serve.deployment(
        serve.ingress(None)(RewardDeployment),
        name=name,
        num_replicas=num_replicas,
        ray_actor_options={'num_cpus': num_cpus},
        # A replica takes many requests at once (Ray's default is 5): concurrent requests
        # are what its batcher gathers into one batch.
        max_ongoing_requests=256,
    )
    return deployment.bind(config.to_dict())


def run_ray_serve(
    config: ServeConfig, num_replicas: int = 2, address: Optional[str] = None, blocking: bool = True
) -> None:
    """Starts Ray (or joins ``address``), deploys the replicas at ``http://host:port/`` and,
    with ``blocking``, serves until SIGINT or SIGTERM, then shuts the deployment down."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        ray.init(address=address)
    serve.start(
        http_options={
            'host': config.host,
            'port': config.port,
            'request_timeout_s': config.request_timeout_s + 5.0,
        }
    )
    serve.run(reward_app(config, num_replicas), name='twinkle', route_prefix='/')
    print(
        f'twinkle serve: {num_replicas} Ray Serve replicas at http://{config.host}:{config.port}', flush=True
    )
    if not blocking:
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    serve.delete('twinkle')
    serve.shutdown()
