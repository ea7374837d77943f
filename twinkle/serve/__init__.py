"""twinkle's rewards over HTTP: a batching reward server, and the scorer it shares with
offline scoring and Ray.

:class:`Scorer` (rewards by name: ``math``, ``format=0.5``, ``module:attr``),
:class:`DynamicBatcher`, :func:`create_app` / :class:`RewardService` (``POST /get_reward``,
``POST /score``, ``GET /health``, ``GET /metrics``; needs starlette), :func:`run_server`
(uvicorn) and :func:`reward_app` (Ray Serve replicas). ``python -m twinkle serve --help``
lists the options; ``docs/serving.md`` describes the protocols.
"""

from twinkle._lazy import lazy_getattr

__all__ = [
    'Scorer',
    'RewardSpec',
    'SampleScore',
    'DynamicBatcher',
    'Metrics',
    'ServeConfig',
    'RewardService',
    'create_app',
    'run_server',
    'reward_app',
]

# The server stack and Ray load only when used.
_LAZY = {
    'Scorer': 'twinkle.serve.scorer',
    'RewardSpec': 'twinkle.serve.scorer',
    'SampleScore': 'twinkle.serve.scorer',
    'DynamicBatcher': 'twinkle.serve.batcher',
    'Metrics': 'twinkle.serve.metrics',
    'ServeConfig': 'twinkle.serve.config',
    'RewardService': 'twinkle.serve.app',
    'create_app': 'twinkle.serve.app',
    'run_server': 'twinkle.serve.server',
    'reward_app': 'twinkle.serve.ray_serve',
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
