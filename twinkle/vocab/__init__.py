"""Per-tokenizer tables, built from one place and cached once per tokenizer.

- :mod:`twinkle.vocab.table`: :class:`TokenTable`, the bytes every token id decodes to
  (and :func:`byte_table`, the 256 bytes as ids);
- :mod:`twinkle.vocab.decoders`: one handler per decoder step (ByteLevel, ByteFallback,
  Metaspace, Replace, Fuse, Strip), reducing a tokenizer's decoder chain to a plan;
- :mod:`twinkle.vocab.hf`: the table of a Hugging Face tokenizer (added and special
  tokens included);
- :mod:`twinkle.vocab.markers`: the answer-marker flags ``MathReward`` reads, from the
  token bytes;
- :mod:`twinkle.vocab.cache`: :func:`vocab_of`, one :class:`Vocab` per tokenizer (weakly
  keyed, thread-safe) holding all of the above; :func:`token_table` reads it.

>>> from tokenizers import Tokenizer, models, decoders
>>> from twinkle.vocab import token_table, vocab_of
>>> tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1}, [])); tok.decoder = decoders.ByteLevel()
>>> vocab_of(tok).token_table() is token_table(tok)
True
"""

from twinkle._lazy import lazy_getattr

__all__ = [
    'DECODERS',
    'DecoderPlan',
    'FFFD_UTF8',
    'MarkerFlags',
    'NOT_A_BYTE',
    'TokenTable',
    'Vocab',
    'byte_table',
    'gpt2_byte_decoder',
    'plan_decoder',
    'token_table',
    'vocab_of',
]

# Loaded on first use: twinkle.math.spans reads the flag bits without numpy.
_LAZY = {
    'DECODERS': 'twinkle.vocab.decoders',
    'DecoderPlan': 'twinkle.vocab.decoders',
    'FFFD_UTF8': 'twinkle.vocab.table',
    'MarkerFlags': 'twinkle.vocab.markers',
    'NOT_A_BYTE': 'twinkle.vocab.table',
    'TokenTable': 'twinkle.vocab.table',
    'Vocab': 'twinkle.vocab.cache',
    'byte_table': 'twinkle.vocab.table',
    'gpt2_byte_decoder': 'twinkle.vocab.decoders',
    'plan_decoder': 'twinkle.vocab.decoders',
    'token_table': 'twinkle.vocab.cache',
    'vocab_of': 'twinkle.vocab.cache',
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
