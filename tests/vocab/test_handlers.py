"""One test per decoder handler (twinkle.vocab.decoders) and for added tokens (twinkle.vocab.hf).

Each handler is checked on its plan and, where the ``tokenizers`` library has the decoder,
against that library's decoding of a small vocabulary.
"""

import random

import pytest

from twinkle.vocab import DECODERS, DecoderPlan, gpt2_byte_decoder, plan_decoder, token_table
from twinkle.vocab.hf import added_tokens, backend_of


def _agrees_with_tokenizers(tok, n=400, length=5, seed=0):
    """The table's decoding of random id sequences equals ``tok.decode``."""
    table = token_table(tok)
    rng = random.Random(seed)
    for _ in range(n):
        ids = [rng.randrange(table.vocab_size) for _ in range(rng.randrange(0, length + 1))]
        assert table.decode(ids).decode('utf-8', 'replace') == tok.decode(ids, skip_special_tokens=True), ids
    return table


def _unigram(pieces, decoder):
    from tokenizers import Tokenizer, models

    tok = Tokenizer(models.Unigram([(p, -1.0) for p in pieces], unk_id=0))
    tok.decoder = decoder
    return tok


def test_every_supported_decoder_has_a_handler():
    assert set(DECODERS) == {'Replace', 'ByteFallback', 'ByteLevel', 'Metaspace', 'Fuse', 'Strip'}


def test_replace():
    plan = plan_decoder({'type': 'Replace', 'pattern': {'String': '▁'}, 'content': ' '})
    assert plan.replaces == [('▁', ' ')] and plan.token_bytes('▁a▁', {}) == b' a '
    with pytest.raises(NotImplementedError, match='regex pattern'):
        plan_decoder({'type': 'Replace', 'pattern': {'Regex': 'x'}, 'content': ''})
    after = [{'type': 'ByteFallback'}, {'type': 'Replace', 'pattern': {'String': 'a'}, 'content': 'b'}]
    with pytest.raises(NotImplementedError, match='Replace after ByteFallback'):
        plan_decoder({'type': 'Sequence', 'decoders': after})
    from tokenizers import decoders

    _agrees_with_tokenizers(_unigram(['<unk>', '▁a', 'b▁', '▁▁', 'c'], decoders.Replace('▁', ' ')))


def test_byte_fallback():
    plan = plan_decoder({'type': 'ByteFallback'})
    assert plan.byte_fallback
    assert plan.fallback_byte('<0x41>') == 0x41 and plan.token_bytes('<0xE4>', {}) == b'\xe4'
    assert plan.fallback_byte('<0x4>') == -1 and plan.fallback_byte('a') == -1
    assert DecoderPlan().fallback_byte('<0x41>') == -1  # no ByteFallback step: plain text
    from tokenizers import decoders

    tok = _unigram(['<unk>', 'a', '<0x41>', '<0xE4>', '<0xBD>', '<0xA0>', '<0x80>'], decoders.ByteFallback())
    table = _agrees_with_tokenizers(tok, n=1000, length=6)
    assert table.fallback.tolist() == [-1, -1, 0x41, 0xE4, 0xBD, 0xA0, 0x80]


def test_byte_level():
    plan = plan_decoder({'type': 'ByteLevel'})
    m = gpt2_byte_decoder()
    assert plan.byte_level and plan.token_bytes('Ġa', m) == b' a'
    assert plan.token_bytes('<think>', m) == b'<think>'  # not byte-level characters: its text
    assert plan.token_bytes('你', m) == '你'.encode()
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1, 'Ã©': 2, 'Ã': 3, 'Ċ': 4}, []))
    tok.decoder = decoders.ByteLevel()
    _agrees_with_tokenizers(tok)


@pytest.mark.parametrize('scheme', ['always', 'first', 'never'])
def test_metaspace(scheme):
    plan = plan_decoder({'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': scheme})
    assert plan.replaces == [('▁', ' ')]
    assert plan.first_remove == ('' if scheme == 'never' else '▁')
    assert plan.token_bytes('▁a▁b', {}, first=True) == (b' a b' if scheme == 'never' else b'ab')
    legacy = plan_decoder({'type': 'Metaspace', 'replacement': '▁', 'add_prefix_space': False})
    assert legacy.first_remove == ''
    with pytest.raises(NotImplementedError, match='Metaspace after'):
        plan_decoder({'type': 'Sequence', 'decoders': [{'type': 'ByteLevel'}, {'type': 'Metaspace'}]})
    from tokenizers import decoders

    tok = _unigram(['<unk>', '▁a', 'b', '▁▁', '▁x▁y', 'z▁', '▁'], decoders.Metaspace(prepend_scheme=scheme))
    assert _agrees_with_tokenizers(tok).has_first_rule == (scheme != 'never')


def test_fuse():
    assert plan_decoder({'type': 'Fuse'}) == DecoderPlan()
    from tokenizers import decoders

    _agrees_with_tokenizers(_unigram(['<unk>', 'a', 'b c', ' '], decoders.Fuse()))


def test_strip():
    plan = plan_decoder({'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0})
    assert plan.strip_first == ord(' ')
    assert plan_decoder({'type': 'Strip', 'content': ' ', 'start': 0, 'stop': 0}).strip_first == -1
    for bad in (
        {'type': 'Strip', 'content': ' ', 'start': 2, 'stop': 0},
        {'type': 'Strip', 'content': ' ', 'start': 0, 'stop': 1},
        {'type': 'Strip', 'content': '▁', 'start': 1, 'stop': 0},  # three bytes
        {'type': 'Sequence', 'decoders': [{'type': 'Strip', 'content': ' ', 'start': 1}, {'type': 'Fuse'}]},
    ):
        with pytest.raises(NotImplementedError, match='Strip'):
            plan_decoder(bad)
    with pytest.raises(NotImplementedError, match='Metaspace together with Strip'):
        plan_decoder({'type': 'Sequence', 'decoders': [{'type': 'Metaspace'}, {'type': 'Strip', 'start': 1}]})
    from tokenizers import decoders

    chain = decoders.Sequence([decoders.Replace('▁', ' '), decoders.Fuse(), decoders.Strip(' ', 1, 0)])
    table = _agrees_with_tokenizers(_unigram(['<unk>', '▁a', 'b', '▁', '▁▁c'], chain))
    assert table.strip_first == ord(' ') and table.has_first_rule


def test_unknown_decoder_is_named():
    with pytest.raises(NotImplementedError, match="'WordPiece' decoder is not supported .*ByteLevel"):
        plan_decoder({'type': 'WordPiece'})
    assert plan_decoder(None) == DecoderPlan()


def test_added_tokens():
    """Added tokens decode by their text, special ones (and ids past the tokenizer) to b''."""
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1}, []))
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens(['<think>', 'x y'])
    tok.add_special_tokens(['<pad>'])
    n, special = added_tokens(tok, backend_of(tok))
    assert (n, special) == (5, {4})
    table = token_table(tok, vocab_size=7)
    assert [table.token_bytes(i) for i in range(7)] == [b'a', b' b', b'<think>', b'x y', b'', b'', b'']
    with pytest.raises(TypeError, match='fast tokenizer'):
        backend_of(object())
