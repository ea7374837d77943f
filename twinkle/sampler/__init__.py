"""Samplers: ``sampler.sample(batch, num_samples=N, sampling_params=None) -> SampleResponse``.

* :class:`TransformersSampler`: batched ``generate`` of a transformers causal LM (any
  device, CPU included).
* :class:`vLLMSampler`: vLLM's engine, when vLLM is installed.

Both return a :class:`~twinkle.data_format.SampleResponse`: per prompt and sample the
token ids, text and stop reason, and ``response.trajectories`` prompt-major (the N
samples of a prompt consecutive), as ``GRPOAdvantage()(rewards, num_generations=N)``
expects.
"""

from twinkle._lazy import lazy_getattr
from twinkle.data_format import Completion, SampleResponse, SamplingParams
from twinkle.sampler.base import Sampler
from twinkle.sampler.hub import resolve_model_id

__all__ = [
    'Sampler',
    'TransformersSampler',
    'vLLMSampler',
    'SampleResponse',
    'Completion',
    'SamplingParams',
    'resolve_model_id',
]

# The backends import transformers / vllm: load them on first use.
_LAZY = {'TransformersSampler': 'twinkle.sampler.hf', 'vLLMSampler': 'twinkle.sampler.vllm_sampler'}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
