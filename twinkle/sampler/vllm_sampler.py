"""``vLLMSampler``: the reward API's sampler, on vLLM's offline engine (``vllm.LLM``).

vLLM is optional; without it the constructor raises an ImportError saying how to install it.
Prompts are rendered with the chat template here and passed as ids, so the response's prompt
ids are exactly what the engine saw.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from twinkle.data_format import Completion, SamplingParams, Trajectory
from twinkle.sampler.base import Sampler, _ids_within
from twinkle.sampler.hub import resolve_model_id

__all__ = ['vLLMSampler', 'VLLM_INSTALL_HINT']

VLLM_INSTALL_HINT = (
    'vLLMSampler needs vLLM, which is not installed: pip install vllm (on a '
    'machine with a CUDA GPU; see https://docs.vllm.ai). On CPU, or without '
    'vLLM, use twinkle.sampler.TransformersSampler.'
)


def _import_vllm():
    try:
        import vllm
    except ImportError as e:
        raise ImportError(f'{VLLM_INSTALL_HINT} ({e})') from None
    return vllm


class vLLMSampler(Sampler):  # noqa: N801 - the API's documented spelling
    """Samples with vLLM: all prompts and samples in one ``LLM.generate`` call.

    Args:
        model_id: ``ms://org/name``, ``hf://org/name``, ``org/name`` or a local
            directory (resolved by :func:`twinkle.sampler.resolve_model_id`).
        chat_template_kwargs: extra arguments for ``apply_chat_template``.
        llm: an already built ``vllm.LLM`` to use instead of loading ``model_id``.
        revision: hub revision for ``model_id``.
        sampling_params: defaults for ``sample`` calls that pass none.
        **engine_kwargs: passed to ``vllm.LLM`` (``tensor_parallel_size``,
            ``gpu_memory_utilization``, ``dtype``...).

    Raises:
        ImportError: vLLM is not installed (the message says how to install it).

    >>> try:
    ...     vLLMSampler(model_id='ms://Qwen/Qwen3.5-4B')
    ... except ImportError as e:
    ...     'pip install vllm' in str(e)
    True
    """

    def __init__(
        self,
        model_id: Optional[str] = None,
        *,
        chat_template_kwargs: Optional[Dict[str, Any]] = None,
        llm: Any = None,
        revision: Optional[str] = None,
        sampling_params: Any = None,
        **engine_kwargs: Any,
    ):
        self.default_sampling_params = SamplingParams.coerce(sampling_params)
        self._vllm = _import_vllm()
        if llm is None:
            if model_id is None:
                raise ValueError('vLLMSampler needs model_id= (or llm=)')
            llm = self._vllm.LLM(model=resolve_model_id(model_id, revision), **engine_kwargs)
        self.llm = llm
        self.model_id = model_id
        self.tokenizer = llm.get_tokenizer()
        self.chat_template_kwargs = dict(chat_template_kwargs or {})

    def render(self, prompt: Trajectory) -> List[int]:
        """The prompt's token ids (chat template with the generation prompt)."""
        text = self.tokenizer.apply_chat_template(
            [dict(m) for m in prompt.messages],
            tools=prompt.get('tools') or None,
            add_generation_prompt=True,
            tokenize=False,
            **self.chat_template_kwargs,
        )
        return list(self.tokenizer(text, add_special_tokens=False)['input_ids'])

    def _generate(
        self, prompts: List[Trajectory], num_samples: int, params: SamplingParams
    ) -> Tuple[List[List[int]], List[List[Completion]]]:
        prompt_ids = [self.render(p) for p in prompts]
        sp = self._vllm.SamplingParams(
            n=num_samples,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k if params.top_k > 0 else -1,
            seed=params.seed,
            stop=list(params.stop) or None,
        )
        outs = self.llm.generate([{'prompt_token_ids': ids} for ids in prompt_ids], sp, use_tqdm=False)
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
        completions = []
        for out in outs:  # vLLM keeps the prompts' order
            row = []
            for o in out.outputs:
                ids = list(o.token_ids)
                if o.finish_reason == 'length':
                    row.append(Completion(ids, o.text, 'length'))
                elif isinstance(o.stop_reason, str):  # a stop string: text already cut
                    row.append(Completion(_ids_within(ids, o.text, decode), o.text, 'stop', o.stop_reason))
                else:  # eos (stop_reason None) or a stop token id
                    row.append(Completion(ids, o.text, 'eos'))
            completions.append(row)
        return prompt_ids, completions
