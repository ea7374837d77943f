"""ByteFallback runs: token classes follow ``tokenizers``' rule exactly.

A maximal run of ``<0xNN>`` tokens decodes to its text when valid UTF-8, else to one
U+FFFD per byte (valid characters inside the run included); skipped ids do not end a run;
a ``Strip`` rule drops the leading space of a valid first run only. The oracles are the
``tokenizers`` library's own decode (a small vocabulary built here, and Mistral v1 from
mistral-common) and Python ``re`` on the decoded text.
"""

import itertools
import logging
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.dfa import _counter
from tests.dfa.test_tokens import mistral_tokenizer
from twinkle.dfa import compile_regex
from twinkle.dfa import tokens as T

# (pattern, flags, mode): patterns that place or count U+FFFD, or read the characters an
# invalid run turns into U+FFFD.
PATTERNS = [
    (r'W', 0, 'search'),
    (r'\ufffd', 0, 'search'),
    (r'\ufffd\ufffd', 0, 'fullmatch'),
    (r'\ufffd*', 0, 'fullmatch'),
    (r'a\ufffd+ ?a', 0, 'search'),
    (r'é|你', 0, 'search'),
    (r' ', 0, 'match'),
    (r'.{3}', re.DOTALL, 'fullmatch'),
    (r'[^\ufffd]*', 0, 'fullmatch'),
    (r'<think>.*?</think>\s*<answer>.*?</answer>\s*', re.DOTALL, 'fullmatch'),
]


# ---- the strict UTF-8 validator ------------------------------------------------------------


def _valid(data: bytes) -> bool:
    try:
        data.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def _validate(data: bytes) -> int:
    u8 = T._utf8_validator()
    state = T._U8_BOUNDARY
    for b in data:
        state = int(u8[state, b])
    return state


def test_utf8_validator_is_strict_utf8():
    """Every 1- and 2-byte string, every lead byte with two more, and random 4-byte strings."""
    cases = [bytes([a]) for a in range(256)] + [bytes(p) for p in itertools.product(range(256), repeat=2)]
    cont = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
    cases += [bytes([a, b, c]) for a in range(0xC0, 0x100) for b in cont for c in cont]
    rng = random.Random(7)
    cases += [
        bytes([rng.choice([0xF0, 0xF4, 0xF1, 0xE0, 0xED]), *(rng.choice(cont) for _ in range(3))])
        for _ in range(5000)
    ]
    for data in cases:
        assert (_validate(data) == T._U8_BOUNDARY) == _valid(data), data.hex()


# ---- a small vocabulary, decoded by the tokenizers library -----------------------------------

PIECES = ['<unk>', '▁a', 'b', '▁', 'W', '<think>', '▁<answer>', '</answer>', '</think>'] + [
    f'<0x{b:02X}>'
    for b in (
        0x20,
        0x41,
        0x57,
        0x0A,
        0x80,
        0xBD,
        0xA0,
        0xA9,
        0xC3,
        0xE4,
        0xED,
        0xF0,
        0x9F,
        0x98,
        0x80 + 0x1F,
        0xFF,
    )
]


def _small_tokenizer(kind):
    from tokenizers import Tokenizer, decoders, models

    tok = Tokenizer(models.Unigram([(p, -1.0) for p in PIECES], unk_id=0))
    if kind == 'strip':  # the Llama 2 / Mistral chain
        tok.decoder = decoders.Sequence(
            [decoders.Replace('▁', ' '), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(' ', 1, 0)]
        )
    else:
        tok.decoder = decoders.Sequence(
            [decoders.Metaspace(prepend_scheme='first'), decoders.ByteFallback(), decoders.Fuse()]
        )
    tok.add_special_tokens(['<pad>'])
    return tok


@pytest.mark.parametrize('kind', ['strip', 'metaspace'])
def test_small_vocabulary_agrees_with_tokenizers(kind, case_counter):
    tok = _small_tokenizer(kind)
    table = T.token_table(tok, vocab_size=len(PIECES) + 3)  # two ids past the tokenizer
    assert table.has_byte_runs and table.fallback[PIECES.index('<0x80>')] == 0x80
    byte_ids = [i for i, p in enumerate(PIECES) if p.startswith('<0x')]
    rng = random.Random(11)
    seqs = [
        [
            rng.choice(byte_ids) if rng.random() < 0.6 else rng.randrange(table.vocab_size)
            for _ in range(rng.randrange(0, 9))
        ]
        for _ in range(1500)
    ]
    texts = [tok.decode(s, skip_special_tokens=True) for s in seqs]
    for s, text in zip(seqs, texts):
        assert table.decode(s).decode('utf-8', 'replace') == text, s
    for pattern, flags, mode in PATTERNS:
        dfa = compile_regex(pattern, flags, mode)
        tc = T.token_classes(dfa, table, mask_id=True)
        for s, text in zip(seqs, texts):
            want = bool(getattr(re, mode)(pattern, text, flags))
            assert tc.accepts(s) == want, (pattern, s, text)
            case_counter['cases'] += 1


def _closure(step, seed):
    while True:
        grown = seed | step(seed)
        if (grown == seed).all():
            return seed
        seed = grown


def test_first_dead_is_exact_inside_runs():
    """A run state is dead as soon as no continuation can match: the dead state is a sink and
    every other state reachable from the start can still reach acceptance."""
    table = T.token_table(_small_tokenizer('strip'))
    for pattern, flags, mode in PATTERNS:
        dfa = compile_regex(pattern, flags, mode)
        tc = T.token_classes(dfa, table, mask_id=True)
        n = tc.num_states
        start = np.zeros(n, dtype=bool)
        start[tc.start] = True
        reach = _closure(lambda r: np.bincount(tc.transitions[r].ravel(), minlength=n) > 0, start)
        live = _closure(lambda x: x[tc.transitions].any(axis=1), tc.accept.copy())
        hopeless = np.flatnonzero(reach & ~live).tolist()
        assert hopeless in ([], [tc.dead]), pattern
        if tc.dead >= 0:
            assert (tc.transitions[tc.dead] == tc.dead).all()


# ---- Mistral v1 (SentencePiece byte fallback), random byte runs ------------------------------

# Bytes that make runs valid, invalid, truncated, overlong or surrogate.
BYTES = [
    0x20,
    0x41,
    0x57,
    0x0A,
    0x80,
    0x8F,
    0x9F,
    0xA0,
    0xA9,
    0xBD,
    0xBF,
    0xC0,
    0xC3,
    0xE0,
    0xE4,
    0xED,
    0xF0,
    0xF4,
    0xF5,
    0xFF,
]
TEXTS = ['W', ' a', 'a', '<think>', '</think>', '<answer>', '</answer>', 'é', '你', ' ', '\ufffd']


@pytest.fixture(scope='module')
def mistral():
    from twinkle.reward.format import _DfaReward

    tok = mistral_tokenizer()
    mod = _DfaReward([('regex', p, f, m) for p, f, m in PATTERNS], tokenizer=tok)
    byte_id = {b: tok.convert_tokens_to_ids(f'<0x{b:02X}>') for b in range(256)}
    return tok, mod, byte_id


@st.composite
def _ids(draw, tok, byte_id):
    ids = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 9))
        if kind < 6:  # a run of byte-fallback ids
            ids += [
                byte_id[draw(st.sampled_from(BYTES) if draw(st.booleans()) else st.integers(0, 255))]
                for _ in range(draw(st.integers(1, 5)))
            ]
        elif kind < 8:
            ids += tok.encode(draw(st.sampled_from(TEXTS)), add_special_tokens=False)
        else:  # skipped ids: specials, which do not end a run
            ids.append(draw(st.sampled_from(sorted(tok.all_special_ids))))
    return ids


def test_mistral_byte_runs_against_re(mistral):
    import torch

    tok, mod, byte_id = mistral
    stats = {'cases': 0, 'invalid_runs': 0}

    @seed(20261201)
    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(_ids(tok, byte_id), min_size=1, max_size=32))
    def run(seqs):
        width = max(max(len(s) for s in seqs), 1)
        ids = torch.zeros((len(seqs), width), dtype=torch.int64)
        lengths = torch.tensor([len(s) for s in seqs])
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.int64)
        acc, _ = mod.scan_ids(ids, lengths=lengths)
        for i, (s, text) in enumerate(zip(seqs, tok.batch_decode(seqs, skip_special_tokens=True))):
            assert mod.token_table.decode(s).decode('utf-8', 'replace') == text, s
            stats['invalid_runs'] += '\ufffd' in text
            for k, (p, f, m) in enumerate(PATTERNS):
                stats['cases'] += 1
                want = bool(getattr(re, m)(p, text, f))
                if bool(acc[i, k] == 1.0) != want:
                    _counter.COUNTS['mismatches'] += 1
                    raise AssertionError(f'pattern {p!r} ({m}) on ids {s} -> {text!r}: re says {want}')

    run()
    _counter.COUNTS['cases'] += stats['cases']
    assert stats['invalid_runs'] > 500  # the hard case is well represented


def test_mistral_examples(mistral):
    tok, mod, byte_id = mistral
    table = mod.token_table
    a = tok.convert_tokens_to_ids('▁a')
    cases = [  # (ids, what tokenizers decodes)
        ([byte_id[0x80], byte_id[0x57]], '\ufffd\ufffd'),  # W inside an invalid run
        ([a, byte_id[0xE4], byte_id[0xBD], a], 'a\ufffd\ufffd a'),  # a truncated character
        ([byte_id[0xC3], tok.eos_token_id, byte_id[0xA9]], 'é'),  # a skipped id inside a run
        ([byte_id[0x20], a], ' a'),  # a valid first run is stripped
        ([byte_id[0x20], byte_id[0xFF], a], '\ufffd\ufffd a'),  # an invalid one is not
    ]
    for ids, want in cases:
        assert tok.decode(ids, skip_special_tokens=True) == want
        assert table.decode(ids).decode('utf-8', 'replace') == want
    w = T.token_classes(compile_regex('W', 0, 'search'), table, mask_id=True)
    assert not w.accepts([byte_id[0x80], byte_id[0x57]]) and not w.accepts([byte_id[0x57], byte_id[0x80]])
    assert w.accepts([byte_id[0x57], a, byte_id[0x80]])  # the run ends at '▁a': W is valid on its own


# ---- limits and arguments --------------------------------------------------------------------


def test_too_many_run_states_warn_and_keep_python_rule(monkeypatch, caplog):
    """Past MAX_RUN_STATES the runs are not modelled (a warning says so): valid runs still agree."""
    tok = _small_tokenizer('strip')
    table = T.token_table(tok)
    monkeypatch.setattr(T, 'MAX_RUN_STATES', 3)
    dfa = compile_regex(r'.{0,6}', re.DOTALL, 'fullmatch')
    with caplog.at_level(logging.WARNING, logger='twinkle'):
        tc = T.token_classes(dfa, table)
    assert 'byte-fallback runs' in caplog.text
    assert tc.num_states == dfa.num_states + 1  # plain states and "nothing yet" only
    ids = [PIECES.index(p) for p in ('<0xC3>', '<0xA9>', '▁a')]
    assert tc.accepts(ids) == bool(re.fullmatch(r'.{0,6}', tok.decode(ids), re.DOTALL))


@pytest.mark.parametrize(
    'fallback,match',
    [
        ([0x61, -1], None),
        ([0x62, -1], r'fallback\[0\] is the byte 0x62'),
        ([0x61], 'one byte'),
        ([256, -1], 'one byte'),
        ([-2, -1], 'one byte'),
    ],
)
def test_from_bytes_checks_fallback(fallback, match):
    if match is None:
        assert T.TokenTable.from_bytes([b'a', b'xy'], fallback=fallback).has_byte_runs
        return
    with pytest.raises(ValueError, match=match):
        T.TokenTable.from_bytes([b'a', b'xy'], fallback=fallback)


def test_fallback_is_part_of_the_fingerprint():
    plain = T.TokenTable.from_bytes([b'a', b'\x80'])
    runs = T.TokenTable.from_bytes([b'a', b'\x80'], fallback=[-1, 0x80])
    assert plain != runs and not plain.has_byte_runs
    assert T.TokenTable.from_bytes([b'a', b'\x80'], fallback=[-1, -1]) == plain  # no byte id: no runs
