"""Samplers: ``sampler.sample(batch, num_samples=N, sampling_params=None) -> SampleResponse``.

:class:`TransformersSampler` (batched ``generate``, any device) and :class:`vLLMSampler`
(when vLLM is installed) both return samples prompt-major, as
``GRPOAdvantage()(rewards, num_generations=N)`` expects.
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
