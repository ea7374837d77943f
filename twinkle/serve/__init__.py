"""twinkle's rewards over HTTP: a batching reward server, and the scorer it shares with
offline scoring and Ray.

* :class:`Scorer` (:mod:`twinkle.serve.scorer`): rewards by name (``math``,
  ``format=0.5``, ``module:attr``), scored together on a batch, with explanations.
* :class:`DynamicBatcher`: concurrent requests scored as one batch, off the event loop.
* :func:`create_app` / :class:`RewardService` (:mod:`twinkle.serve.app`, needs
  starlette): ``POST /get_reward`` (OpenRLHF), ``POST /score``, ``GET /health``,
  ``GET /metrics``; :func:`run_server` runs it under uvicorn.
* :func:`reward_app` (:mod:`twinkle.serve.ray_serve`, needs ray[serve]): the same app as
  a Ray Serve deployment with several replicas.

``python -m twinkle serve --help`` lists the server's options; ``docs/serving.md``
describes the protocols.
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
