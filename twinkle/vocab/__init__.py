"""Per-tokenizer tables, built from one place and cached once per tokenizer.

:mod:`~twinkle.vocab.table` (:class:`TokenTable`: each id's bytes), :mod:`~twinkle.vocab.decoders`
(one handler per decoder step), :mod:`~twinkle.vocab.hf` (a Hugging Face tokenizer's table),
:mod:`~twinkle.vocab.markers` (answer-marker flags) and :mod:`~twinkle.vocab.cache`
(:func:`vocab_of`: one thread-safe :class:`Vocab` per tokenizer holding them all).

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
