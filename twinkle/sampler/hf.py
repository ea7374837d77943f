"""``TransformersSampler``: batched ``generate`` of a transformers causal LM.

Invariants: prompts are left-padded (pad id, else the first eos id) under an attention mask,
so new tokens start at one column; generation runs on the model's device; a row ends at its
first eos token or stop string (:func:`twinkle.sampler.base.finish_completion`).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from twinkle.data_format import Completion, SamplingParams, Trajectory
from twinkle.sampler.base import Sampler, finish_completion
from twinkle.sampler.hub import resolve_model_id

__all__ = ['TransformersSampler']

log = logging.getLogger(__name__)


def _as_id_list(x: Any) -> List[int]:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return [int(i) for i in x]
    return [int(x)]


def _content_text(content: Any) -> str:
    """A message's text for the chat template; non-text content written as text ('' for None)."""
    from twinkle.reward.base import content_text

    text = content_text(content)
    if text is not None:
        return text
    return '' if content is None else str(content)


class TransformersSampler(Sampler):
    """Samples with ``model.generate``, all rows of a batch at once.

    Args:
        model: a transformers causal LM, or a model id / local directory (``ms://``,
            ``hf://`` or a path; see :func:`twinkle.sampler.resolve_model_id`).
        tokenizer: the model's tokenizer, or an id / directory; loaded from ``model``'s
            directory when ``model`` is an id and this is None.
        device: move the model there; by default it stays where it is.
        dtype: dtype to load an id in (e.g. ``torch.bfloat16``); default the checkpoint's.
        chat_template: True: render prompts with the tokenizer's chat template (with
            ``add_generation_prompt``); False: the messages' text joined by newlines, with
            the tokenizer's special tokens added; None: the template when there is one.
        chat_template_kwargs: extra arguments for ``apply_chat_template`` (e.g.
            ``{'enable_thinking': False}`` for Qwen3).
        max_batch_size: most rows (prompts x samples) per ``generate`` call; None: all.
        revision: hub revision when ``model`` is an id.
        sampling_params: defaults for ``sample`` calls that pass none; a SamplingParams or dict.

    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from twinkle.sampler.testing import tiny_tokenizer
    >>> tok = tiny_tokenizer()
    >>> cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
    ...                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
    ...                   pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    >>> sampler = TransformersSampler(LlamaForCausalLM(cfg), tok)
    >>> r = sampler.sample(['1 2 3'], num_samples=2, sampling_params={'max_tokens': 3, 'seed': 0})
    >>> len(r.trajectories), r.stop_reasons[0] in ('eos', 'length')
    (2, True)
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        chat_template: Optional[bool] = None,
        chat_template_kwargs: Optional[Dict[str, Any]] = None,
        max_batch_size: Optional[int] = None,
        revision: Optional[str] = None,
        sampling_params: Any = None,
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if isinstance(model, str):
            path = resolve_model_id(model, revision)
            kwargs = {'dtype': dtype} if dtype is not None else {}
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
            if tokenizer is None:
                tokenizer = path
        elif not isinstance(model, torch.nn.Module) or not hasattr(model, 'generate'):
            raise TypeError(
                f'model must be a transformers causal LM or a model id/directory, got {type(model).__name__}'
            )
        if tokenizer is None:
            raise ValueError(
                "tokenizer is required when model is a module (pass the model's "
                'tokenizer or its id/directory)'
            )
        if isinstance(tokenizer, str):
            tokenizer = AutoTokenizer.from_pretrained(resolve_model_id(tokenizer, revision))
        if not callable(getattr(tokenizer, 'decode', None)):
            raise TypeError(f'tokenizer must be a transformers tokenizer, got {type(tokenizer).__name__}')
        if max_batch_size is not None and (not isinstance(max_batch_size, int) or max_batch_size <= 0):
            raise ValueError(f'max_batch_size must be a positive int or None, got {max_batch_size!r}')
        if device is not None:
            model = model.to(device)
        self.model = model
        self.tokenizer = tokenizer
        has_template = bool(getattr(tokenizer, 'chat_template', None))
        if chat_template and not has_template:
            raise ValueError('chat_template=True but the tokenizer has no chat template')
        self.use_chat_template = has_template if chat_template is None else bool(chat_template)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.max_batch_size = max_batch_size
        self.default_sampling_params = SamplingParams.coerce(sampling_params)
        gen_cfg = getattr(model, 'generation_config', None)
        eos = _as_id_list(getattr(gen_cfg, 'eos_token_id', None))
        eos += [i for i in _as_id_list(tokenizer.eos_token_id) if i not in eos]
        self.eos_token_ids: List[int] = eos
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = eos[0] if eos else 0
        self.pad_token_id: int = int(pad)

    @property
    def device(self) -> torch.device:
        p = next(self.model.parameters(), None)
        return p.device if p is not None else torch.device('cpu')

    # -- prompts -> ids --------------------------------------------------------------
    def render(self, prompt: Trajectory) -> List[int]:
        """The token ids the model sees for ``prompt`` (the generation prompt included)."""
        msgs = [dict(m) for m in prompt.messages]
        if self.use_chat_template:
            tools = prompt.get('tools') or None
            text = self.tokenizer.apply_chat_template(
                msgs, tools=tools, add_generation_prompt=True, tokenize=False, **self.chat_template_kwargs
            )
            return list(self.tokenizer(text, add_special_tokens=False)['input_ids'])
        text = '\n'.join(_content_text(m.get('content')) for m in msgs)
        return list(self.tokenizer(text, add_special_tokens=True)['input_ids'])

    def _generation_config(self, params: SamplingParams):
        from transformers import GenerationConfig

        sampling = params.temperature > 0
        kwargs: Dict[str, Any] = dict(
            max_new_tokens=params.max_tokens,
            do_sample=sampling,
            pad_token_id=self.pad_token_id,
            eos_token_id=self.eos_token_ids or None,
        )
        if sampling:
            # top_k=0 is "off" in SamplingParams; transformers reads None as off.
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or None)
        if params.stop:
            kwargs['stop_strings'] = list(params.stop)
        return GenerationConfig(**kwargs)

    def _generate(
        self, prompts: List[Trajectory], num_samples: int, params: SamplingParams
    ) -> Tuple[List[List[int]], List[List[Completion]]]:
        prompt_ids = [self.render(p) for p in prompts]
        for i, ids in enumerate(prompt_ids):
            if not ids:
                raise ValueError(f'batch[{i}] renders to no tokens')
        # Prompt-major rows: the N samples of prompt p are rows p*N .. p*N+N-1.
        rows = [ids for ids in prompt_ids for _ in range(num_samples)]
        gen_cfg = self._generation_config(params)
        dev = self.device
        chunk = self.max_batch_size or len(rows)
        outputs: List[List[int]] = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.random.fork_rng(devices=[dev] if dev.type == 'cuda' else []):
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                for start in range(0, len(rows), chunk):
                    outputs += self._generate_rows(rows[start : start + chunk], gen_cfg, params, dev)
        finally:
            self.model.train(was_training)
        decode = lambda ids: self.tokenizer.decode(ids, skip_special_tokens=True)  # noqa: E731
        done = [finish_completion(o, self.eos_token_ids, params.stop, decode) for o in outputs]
        return prompt_ids, [done[p * num_samples : (p + 1) * num_samples] for p in range(len(prompts))]

    def _generate_rows(
        self, rows: Sequence[List[int]], gen_cfg: Any, params: SamplingParams, dev: torch.device
    ) -> List[List[int]]:
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding
            input_ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
            mask[i, width - len(r) :] = 1
        kwargs = {'tokenizer': self.tokenizer} if params.stop else {}
        with torch.no_grad():
            out = self.model.generate(
                input_ids=input_ids.to(dev), attention_mask=mask.to(dev), generation_config=gen_cfg, **kwargs
            )
        seqs = out.sequences if hasattr(out, 'sequences') else out
        return seqs[:, width:].tolist()
