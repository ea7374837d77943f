"""One cache per tokenizer (twinkle.vocab.cache): weakly keyed, thread-safe, shared by tables."""

import gc
import threading
import weakref

import pytest

from twinkle.dfa import tokens as dfa_tokens
from twinkle.math.spans import MarkerTable
from twinkle.vocab import TokenTable, Vocab, token_table, vocab_of
from twinkle.vocab import cache as C


def _byte_level():
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1, 'c': 2}, []))
    tok.decoder = decoders.ByteLevel()
    return tok


def test_one_vocab_per_tokenizer_holds_every_table():
    from twinkle.sampler.testing import tiny_tokenizer

    tok = tiny_tokenizer()
    vocab = vocab_of(tok)
    assert vocab_of(tok) is vocab and vocab.tokenizer is tok
    assert token_table(tok) is vocab.token_table() is dfa_tokens.token_table(tok)
    assert MarkerTable.of(tok) is MarkerTable.of(tok)
    assert vocab.marker_flags() is vocab.marker_flags()
    assert MarkerTable.of(tok).flags.tolist() == vocab.marker_flags().flags.tolist()


def test_the_moved_names_are_re_exported():
    import twinkle.vocab as V

    for name in ('TokenTable', 'token_table', 'byte_table', 'gpt2_byte_decoder'):
        assert getattr(dfa_tokens, name) is getattr(V, name)


def test_a_wider_table_equals_one_built_wide():
    tok = _byte_level()
    wide = token_table(tok, vocab_size=6)
    assert token_table(tok, vocab_size=6) is wide
    assert wide == TokenTable.from_bytes([b'a', b' b', b'c', b'', b'', b''])
    assert token_table(tok, vocab_size=3) == token_table(tok)


def test_the_cache_is_weak():
    tok = _byte_level()
    token_table(tok)
    ref = weakref.ref(tok)
    del tok
    gc.collect()
    assert ref() is None


def test_threads_build_each_table_once(monkeypatch):
    calls = []
    build = C.build_token_table

    def counted(tokenizer):
        calls.append(1)
        return build(tokenizer)

    monkeypatch.setattr(C, 'build_token_table', counted)
    tok = _byte_level()
    got = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        got.append(token_table(tok))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and all(g is got[0] for g in got)


def test_a_failed_build_caches_nothing():
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.WordPiece({'a': 0, '[UNK]': 1}, unk_token='[UNK]'))
    tok.decoder = decoders.WordPiece()
    for _ in range(2):
        with pytest.raises(NotImplementedError, match='WordPiece'):
            token_table(tok)


def test_an_unhashable_tokenizer_is_not_cached():
    class Unhashable:
        __hash__ = None

        def __len__(self):
            return 4

        def decode(self, ids, skip_special_tokens=True):
            return ''.join('<' for _ in ids)

    tok = Unhashable()
    assert vocab_of(tok) is not vocab_of(tok) and isinstance(vocab_of(tok), Vocab)
    assert MarkerTable.of(tok).flags.tolist() == [1, 1, 1, 1, 0]
