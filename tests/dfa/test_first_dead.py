"""First-dead positions: a text is dead at byte (or token) p iff no continuation of its first
p + 1 bytes can match, and every backend reports the same first such p.

The oracle is written here, independently of ``twinkle.dfa.automaton``: the states from which
an accepting state is reachable (a plain fixpoint over the byte table), and each verdict is
confirmed with Python ``re`` itself: a live prefix followed by the shortest accepted
continuation (a breadth-first search here) matches, and a dead prefix followed by any short
continuation over a small alphabet does not. The op (``twinkle.ops.dfa_scan``: its lockstep,
CPU byte-shortcut, chunked and tiled paths, picked by the chunk length, the id type and the
number of rows) and the pure-torch reference must give the oracle's position, on byte ids and
on token ids, for every chunk length.
"""

import itertools
import random
import re
from collections import deque

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dfa.test_differential import _valid, patterns
from twinkle import ops, reference
from twinkle.dfa import ByteDFA, compile_regex
from twinkle.dfa.tokens import TokenTable, byte_table, token_classes

MODES = ('search', 'match', 'fullmatch')
CHUNKS = [0, 1, 2, 3, 5, 64, 1000]
SETTINGS = settings(
    max_examples=150, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# Patterns no text can match: each must be dead from the start.
NEVER = [
    (r'\W$X', re.M),
    (r'^\ZA', 0),
    (r'a\Zb', 0),
    (r'$a', 0),
    (r'\b\B', 0),
    (r'x[^\d\D]y', 0),
    (r'(?:a|\Ab)c\A', 0),
]
FORMATS = [
    (r'<think>.*?</think>\s*<answer>.*?</answer>', re.S),
    (r'<think>[^<]*</think>', 0),
    (r'\\boxed\{\d+\}', 0),
    (r'<answer>\s*\d{1,3}\s*</answer>$', 0),
    (r'<think>.{0,20}</think>', re.S),
    (r'(?m)^\w+$', 0),
    (r'[^<]{0,5}', 0),
]


def _coreachable(dfa) -> list:
    """Per state: can an accepting state be reached? (A plain fixpoint, no shared code.)"""
    rows = dfa.trans.tolist()
    live = [bool(a) for a in dfa.accept.tolist()]
    changed = True
    while changed:
        changed = False
        for s, row in enumerate(rows):
            if not live[s] and any(live[t] for t in set(row)):
                live[s] = changed = True
    return live


def _completion(dfa, state: int) -> bytes:
    """The shortest byte string leading from ``state`` to an accepting state (state is live)."""
    rows = dfa.trans.tolist()
    back = {state: None}
    queue = deque([state])
    while queue:
        s = queue.popleft()
        if dfa.accept[s]:
            out = []
            while back[s] is not None:
                s, b = back[s]
                out.append(b)
            return bytes(reversed(out))
        for b in range(256):
            t = rows[s][b]
            if t not in back:
                back[t] = (s, b)
                queue.append(t)
    raise AssertionError('not live')


def _oracle(dfa, live, data: bytes, ends=None) -> int:
    """First byte after which ``data`` is dead (a dead start: 0 when there is a byte), or -1;
    with ``ends`` (each token's end offset; tokens are never empty), the token holding it."""
    rows = dfa.trans.tolist()
    s = dfa.start
    p = -1 if live[s] or not data else 0
    for i, b in enumerate(data if p < 0 else b''):
        s = rows[s][b]
        if not live[s]:
            p = i
            break
    if ends is None or p < 0:
        return p
    return next(k for k, e in enumerate(ends) if e > p)


def _matches(pattern: str, flags: int, mode: str, data: bytes) -> bool:
    return bool(getattr(re, mode)(pattern, data.decode('utf-8', 'replace'), flags))


def _confirm_with_re(pattern, flags, mode, dfa, live, data, fd):
    """``re`` agrees: live prefixes complete to a match, the dead one completes to none."""
    rows = dfa.trans.tolist()
    s = dfa.start
    for p in range(len(data) if fd < 0 else fd):
        s = rows[s][data[p]]
        if p % 7 == 0 or p == len(data) - 1:  # a sample keeps re's work small
            assert _matches(pattern, flags, mode, data[: p + 1] + _completion(dfa, s))
    if fd >= 0:
        head = data[: fd + 1]
        for n in range(3):
            for tail in itertools.product([b'a', b'<', b' ', b'\n', b'\xc3\xa9'], repeat=n):
                assert not _matches(pattern, flags, mode, head + b''.join(tail)), (head, tail)


TEXT_PIECES = [
    b'<think>',
    b'</think>',
    b'<answer>',
    b'</answer>',
    b'\\boxed{',
    b'}',
    b'12',
    b'a',
    b'b',
    b'X',
    b' ',
    b'\n',
    b'<',
    b'>',
    b'_',
    b'\xc3\xa9',
    b'\xe4\xb8\xad',
    b'\xff',
    b'\xe4\xb8',
]


@st.composite
def byte_texts(draw):
    return b''.join(draw(st.lists(st.sampled_from(TEXT_PIECES), max_size=12)))


# ---- the compiled DFA: dead means exactly "no continuation can match" ------------------


@pytest.mark.parametrize('pattern,flags', NEVER)
@pytest.mark.parametrize('mode', MODES)
def test_never_matching_patterns_are_dead_at_0(pattern, flags, mode):
    dfa = compile_regex(pattern, flags, mode)
    assert dfa.is_empty() and dfa.start == dfa.dead and dfa.num_states == 1
    assert dfa.first_dead(b'x') == 0 and dfa.first_dead(b'') == -1  # as the op: no byte
    assert not any(_matches(pattern, flags, mode, t) for t in [b'', b'a', b'X', b'\nX', b'ab'])


@SETTINGS
@given(
    pattern=patterns,
    flags=st.sampled_from([0, re.I, re.S, re.M, re.S | re.M]),
    mode=st.sampled_from(MODES),
    data=byte_texts(),
)
def test_dead_is_exactly_no_continuation(pattern, flags, mode, data):
    """Random patterns: the one dead state is the one non-coreachable state, and
    ``ByteDFA.first_dead`` is the oracle's position, confirmed with re."""
    if not _valid(pattern):
        return
    dfa = compile_regex(pattern, flags, mode)
    live = _coreachable(dfa)
    assert [s for s, ok in enumerate(live) if not ok] == ([dfa.dead] if dfa.dead >= 0 else [])
    again = ByteDFA.from_tables(dfa.trans, dfa.accept)  # minimal, as built
    assert again == dfa and again.dead == dfa.dead
    fd = _oracle(dfa, live, data)
    assert dfa.first_dead(data) == (fd if dfa.dead >= 0 else -1)
    _confirm_with_re(pattern, flags, mode, dfa, live, data, fd)


# ---- the op: every path, byte and token ids, every chunk length ------------------------

# Tokens: every single byte (so every byte string is spelled) plus longer pieces, so that a
# text dies inside a token as well as at a token's end.
_TOKENS = [bytes([b]) for b in range(256)] + [
    b'<think>',
    b'</think>',
    b'<answer>',
    b'</answer>',
    b'</',
    b'think',
    b'answer',
    b'>\n',
    b'ab',
    b' the',
    b'\xc3\xa9',
    b'\xe4\xb8\xad',
    b'\xe4\xb8',
    b'\\boxed{',
    b'12',
    b'\n\n',
]
_TOKEN_TABLE = TokenTable.from_bytes(_TOKENS, name='test')
_BY_LENGTH = sorted(range(len(_TOKENS)), key=lambda i: -len(_TOKENS[i]))


def _tokenize(data: bytes) -> list:
    """Greedy longest-match ids (any segmentation is a valid input)."""
    ids, i = [], 0
    while i < len(data):
        j = next(j for j in _BY_LENGTH if data.startswith(_TOKENS[j], i))
        ids.append(j)
        i += len(_TOKENS[j])
    return ids


def _scan_all(dfa, rows_ids, table, id_dtype, chunk, with_reference=True):
    """(op first-dead, reference first-dead or None) for the rows, one pattern."""
    tc = token_classes(dfa, table)
    width = max([len(r) for r in rows_ids] + [1])
    ids = torch.zeros((len(rows_ids), width), dtype=id_dtype)
    for i, r in enumerate(rows_ids):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.int64).to(id_dtype)
    lengths = torch.tensor([len(r) for r in rows_ids], dtype=torch.int64)
    cls = torch.from_numpy(np.array(tc.class_ids))
    tab = torch.from_numpy(np.array(tc.transitions))
    _, got = ops.dfa_scan(ids, lengths, cls, tab, tc.start, tc.dead, chunk=chunk)
    if not with_reference:
        return got.tolist(), None
    _, want = reference.dfa_scan(
        ids,
        lengths,
        cls[None],
        tab[None],
        torch.tensor([tc.start], dtype=torch.int32),
        torch.tensor([tc.dead], dtype=torch.int32),
    )
    return got.tolist(), want[:, 0].tolist()


def _check_op(pattern, flags, mode, texts, chunk, kind, with_reference=True):
    dfa = compile_regex(pattern, flags, mode)
    live = _coreachable(dfa)
    if kind == 'bytes':
        rows = [list(t) for t in texts]
        want = [_oracle(dfa, live, t) for t in texts]
        table, dtype = byte_table(), torch.uint8
    else:
        rows = [_tokenize(t) for t in texts]
        want = []
        for t, r in zip(texts, rows):
            ends = list(itertools.accumulate(len(_TOKENS[i]) for i in r))
            want.append(_oracle(dfa, live, t, ends))
        table, dtype = _TOKEN_TABLE, (torch.int32 if len(texts) % 2 else torch.int64)
    if dfa.dead < 0:
        want = [-1] * len(texts)
    got, ref = _scan_all(dfa, rows, table, dtype, chunk, with_reference)
    assert ref in (None, want), (pattern, mode, kind)
    assert got == want, (pattern, mode, kind, chunk)
    # One row alone takes the few-rows paths (its chunks spread over the threads).
    got1, _ = _scan_all(dfa, rows[:1], table, dtype, chunk, with_reference=False)
    assert got1 == want[:1], (pattern, mode, kind, chunk)


@SETTINGS
@given(
    pattern=st.one_of(
        st.sampled_from(FORMATS + NEVER), st.tuples(patterns, st.sampled_from([0, re.S, re.M]))
    ),
    mode=st.sampled_from(MODES),
    texts=st.lists(byte_texts(), min_size=1, max_size=6),
    chunk=st.sampled_from(CHUNKS),
    kind=st.sampled_from(['bytes', 'tokens']),
)
def test_op_first_dead_matches_oracle(pattern, mode, texts, chunk, kind):
    pattern, flags = pattern
    if not _valid(pattern):
        return
    _check_op(pattern, flags, mode, texts, chunk, kind)


@pytest.mark.parametrize('pattern,flags', NEVER[:3] + FORMATS[:3])
@pytest.mark.parametrize('kind', ['bytes', 'tokens'])
def test_long_rows_every_path(pattern, flags, kind):
    """Rows past 16k tokens: with one row the CPU op picks chunks itself (chunk=0), with
    several it scans whole rows; the byte shortcut serves uint8 ids. All give the oracle's
    position, for every chunk length (the reference, a Python loop over positions, is
    compared on the short rows above)."""
    rng = random.Random(7)
    body = b''.join(rng.choice(TEXT_PIECES[:12]) for _ in range(6000))
    texts = [
        b'<think>' + body,
        body + b'\xff',
        b'<answer> 12 </answer>' + body[:20000],
        b'\\boxed{12}' + body[:17000],
    ]
    for mode in MODES:
        for chunk in (0, 7, 1024):
            _check_op(pattern, flags, mode, texts, chunk, kind, with_reference=False)


@pytest.mark.parametrize('pattern,flags', NEVER)
@pytest.mark.parametrize('kind', ['bytes', 'tokens'])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_never_matching_rows_dead_at_0_on_every_path(pattern, flags, kind, chunk):
    texts = [b'hello', b'', b'X', b'\n' * 40, b'a' * 300]
    for mode in MODES:
        dfa = compile_regex(pattern, flags, mode)
        rows = [list(t) for t in texts] if kind == 'bytes' else [_tokenize(t) for t in texts]
        table = byte_table() if kind == 'bytes' else _TOKEN_TABLE
        dtype = torch.uint8 if kind == 'bytes' else torch.int64
        got, ref = _scan_all(dfa, rows, table, dtype, chunk)
        assert got == ref == [0, -1, 0, 0, 0], (pattern, mode, kind, chunk)
