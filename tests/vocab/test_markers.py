"""Marker flags from the token bytes equal the flags of every id decoded alone.

The reference is what ``MarkerTable`` computed before it read token bytes: each id decoded
alone by the tokenizer (``skip_special_tokens=True``) and flagged text by text.
"""

import random

import numpy as np
import pytest

from tests.dfa.test_tokens import mistral_tokenizer, qwen_tokenizer
from tests.math.test_math_reward import CharTokenizer
from twinkle.math.spans import MarkerTable
from twinkle.vocab import TokenTable, token_table, vocab_of
from twinkle.vocab.markers import (
    BOX,
    LT,
    build_marker_flags,
    decoded_texts,
    id_count,
    probe,
    table_flags,
    texts_flags,
    token_flags,
)


def _reference(tok):
    """``(flags (V + 1,), reliable)`` by decoding every id alone (the former algorithm)."""
    texts = decoded_texts(tok, id_count(tok))
    flags = np.array([token_flags(t) for t in texts] + [0], dtype=np.uint8)
    return flags, probe(tok, flags)


def _small(kind):
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    pieces = [
        '<unk>',
        '▁a',
        'box',
        '▁box',
        '\\',
        '▁<',
        '<',
        '##',
        'ANS',
        'WER',
        '▁answer',
        '<0x3C>',
        '<0xE4>',
    ]
    core = Tokenizer(models.Unigram([(p, -1.0) for p in pieces], unk_id=0))
    if kind == 'strip':
        core.decoder = decoders.Sequence(
            [decoders.Replace('▁', ' '), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(' ', 1, 0)]
        )
    else:
        core.decoder = decoders.Sequence(
            [decoders.Metaspace(prepend_scheme='first'), decoders.ByteFallback(), decoders.Fuse()]
        )
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token='<unk>')
    tok.add_special_tokens({'pad_token': '<pad>'})
    tok.add_tokens(['<think>'])
    return tok


def _tiny():
    from twinkle.sampler.testing import tiny_tokenizer

    return tiny_tokenizer()


def _byte_level():
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {
        t: i for i, t in enumerate(['a', 'b', '<', '>', 'Ġ', '/', 'think', 'answer', 'Ġbox', 'box', 'Ã'])
    }
    core = Tokenizer(models.BPE(vocab, []))
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core)


TOKENIZERS = {
    'qwen3': qwen_tokenizer,
    'mistral': mistral_tokenizer,
    'tiny': _tiny,
    'byte-level': _byte_level,
    'sentencepiece-strip': lambda: _small('strip'),
    'sentencepiece-metaspace': lambda: _small('metaspace'),
}


@pytest.mark.parametrize('name', list(TOKENIZERS))
def test_flags_from_token_bytes_equal_decoding_every_id(name):
    tok = TOKENIZERS[name]()
    flags, reliable = _reference(tok)
    got = build_marker_flags(tok, token_table(tok))
    assert got.flags.dtype == np.uint8 and got.flags.shape == flags.shape
    assert np.array_equal(got.flags, flags), np.flatnonzero(got.flags != flags)[:10]
    assert got.reliable == reliable
    view = MarkerTable.of(tok)
    assert np.array_equal(view.flags.numpy(), flags) and view.reliable == reliable


def test_the_real_tokenizers_flag_what_they_did():
    assert MarkerTable.of(qwen_tokenizer()).reliable
    assert not MarkerTable.of(mistral_tokenizer()).reliable


def test_a_tokenizer_without_a_table_is_decoded():
    tok = CharTokenizer()
    markers = vocab_of(tok).marker_flags()
    assert np.array_equal(markers.flags, _reference(tok)[0]) and not markers.reliable
    assert markers.flags[ord('<')] == LT and not markers.flags.flags.writeable


def test_the_candidate_pass_misses_no_flag():
    """Random texts over marker pieces and look-alike characters (Kelvin sign, long s,
    dotted I): the regex pass plus per-candidate flags equal flagging every text."""
    rng = random.Random(7)
    alphabet = ['a', 'A', 'n', 'N', 's', 'S', 'w', 'W', 'e', 'r', 'R', 'b', 'o', 'x', 'B', '<', '/', '>', '#']
    alphabet += ['`', ' ', '\\', 'ſ', 'K', 'İ', 'ı', 'é', '\0', 'think', 'answer', 'ANSW', 'wer', 'box']
    texts = [''.join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8))) for _ in range(20000)]
    expect = [token_flags(t) for t in texts]
    assert texts_flags(texts).tolist() == expect
    table = TokenTable.from_bytes([t.encode() for t in texts])
    assert table_flags(table, len(texts) + 2).tolist() == expect + [0, 0]
    assert sum(1 for f in expect if f & BOX) > 10


def test_marker_table_keeps_its_api():
    import torch

    tok = _tiny()
    table = MarkerTable.of(tok)
    assert table.flags.dtype == torch.uint8 and table.flags.shape == (len(tok) + 1,)
    assert table.to('cpu') is table.to(torch.device('cpu'))
    assert table.flags[-1] == 0
