"""ByteDFA: construction, running, boolean algebra, canonical form, value semantics."""

import itertools
import pickle

import numpy as np
import pytest

from twinkle.dfa import ByteDFA, StateLimitError, compile_regex

# A small alphabet that still includes a byte that is invalid UTF-8 on its own.
ALPHABET = [b'a', b'b', b'\n', b'\xff']
STRINGS = [b''.join(p) for n in range(5) for p in itertools.product(ALPHABET, repeat=n)]


def _lang(dfa):
    return {s for s in STRINGS if dfa.accepts(s)}


A = compile_regex('a*b')
B = compile_regex('.*b.*', mode='fullmatch')
C = compile_regex(r'(?:a|\n)+', mode='match')


def test_helpers():
    lit = ByteDFA.from_literal(b'ab')
    assert lit.accepts(b'ab') and not lit.accepts(b'a') and not lit.accepts(b'abb')
    assert lit.num_states == 4 and lit.dead >= 0 and lit.start == 0
    assert ByteDFA.from_literal(b'').accepts(b'') and not ByteDFA.from_literal(b'').accepts(b'x')
    anything = ByteDFA.any_string()
    assert anything.num_states == 1 and anything.dead == -1 and anything.accepts(b'\x00\xff')
    nothing = ByteDFA.empty()
    assert nothing.num_states == 1 and nothing.is_empty() and nothing.dead == 0
    assert not nothing.accepts(b'')
    assert not lit.is_empty() and not anything.is_empty()


@pytest.mark.parametrize('x,y', [(A, B), (B, C), (A, C), (C, C)])
def test_boolean_operations_match_set_operations(x, y):
    lx, ly = _lang(x), _lang(y)
    assert _lang(x.union(y)) == lx | ly
    assert _lang(x.intersect(y)) == lx & ly
    assert _lang(x.difference(y)) == lx - ly
    assert _lang(x.complement()) == set(STRINGS) - lx


def test_algebraic_identities_hold_as_equalities():
    # Canonical minimal form makes language equality plain ==.
    assert A.union(B).complement() == A.complement().intersect(B.complement())
    assert A.intersect(A) == A and A.union(A) == A
    assert A.difference(A) == ByteDFA.empty()
    assert A.union(A.complement()) == ByteDFA.any_string()
    assert A.complement().complement() == A
    assert compile_regex('a|b') == compile_regex('[ab]')
    assert compile_regex('a|b') != compile_regex('a')


def test_concat_matches_concatenated_pattern():
    assert compile_regex('a+').concat(compile_regex('b?')) == compile_regex('a+b?')
    assert ByteDFA.from_literal(b'<think>').concat(compile_regex('.*', 16)) == compile_regex(
        '<think>', mode='match'
    )
    assert ByteDFA.empty().concat(A).is_empty()


def test_run_advance_and_first_dead():
    dfa = compile_regex(r'<think>\d+</think>')
    data = b'<think>123</think>'
    for i in range(len(data) + 1):
        assert dfa.advance(dfa.run(data[:i]), data[i:]) == dfa.run(data)
    assert dfa.first_dead(b'<think>12x') == 9
    assert dfa.first_dead(b'<think>12') == -1
    assert dfa.first_dead(b'<thinkk>') == 6
    assert ByteDFA.empty().first_dead(b'x') == 0  # already dead before the first byte
    assert ByteDFA.empty().first_dead(b'') == -1  # no byte to point at, as the op says
    assert ByteDFA.any_string().first_dead(b'abc') == -1
    # A prefix the prompt already ended with: start from the state after it.
    state = dfa.advance(dfa.start, b'<think>')
    assert dfa.accept[dfa.advance(state, b'7</think>')]
    assert dfa.first_dead(b'x', state=state) == 0


def test_from_tables_minimizes_and_canonicalizes():
    # Two copies of "ends with b" (states duplicated), plus an unreachable state.
    t = np.zeros((5, 256), dtype=np.int32)
    t[0, :] = 2
    t[0, ord('b')] = 1
    t[1, :] = 0
    t[1, ord('b')] = 3
    t[2, :] = 0
    t[2, ord('b')] = 1
    t[3, :] = 2
    t[3, ord('b')] = 3
    t[4, :] = 4
    acc = np.array([False, True, False, True, True])
    dfa = ByteDFA.from_tables(t, acc)
    assert dfa.num_states == 2
    assert dfa == compile_regex('.*b', 16)
    assert dfa.minimize() == dfa


@pytest.mark.parametrize(
    'trans,accept',
    [
        (np.zeros((2, 255), dtype=np.int32), np.zeros(2, dtype=bool)),
        (np.full((2, 256), 2, dtype=np.int32), np.zeros(2, dtype=bool)),
        (np.zeros((2, 256), dtype=np.int32), np.zeros(3, dtype=bool)),
        (np.zeros((0, 256), dtype=np.int32), np.zeros(0, dtype=bool)),
    ],
)
def test_from_tables_rejects_bad_tables(trans, accept):
    with pytest.raises(ValueError):
        ByteDFA.from_tables(trans, accept)


def test_value_semantics():
    again = compile_regex('a*b', max_states=50_000)  # built again, not the cached object
    assert again == A and hash(again) == hash(A)
    assert {A: 1}[again] == 1
    restored = pickle.loads(pickle.dumps(A))
    assert restored == A and restored.accepts(b'aab')
    assert not restored.trans.flags.writeable
    assert A != 'a*b'
    assert 'num_states' in repr(A)


def test_product_state_limit():
    x = compile_regex('(?:a|b)*a(?:a|b){6}')
    y = compile_regex('(?:a|b)*b(?:a|b){6}')
    with pytest.raises(StateLimitError):
        x.intersect(y, max_states=20)


def _naive_minimal(trans, accept):
    """Textbook minimization (Moore's rounds over all states until stable) and BFS numbering
    in byte order, in plain Python: the oracle for the incremental, hybrid refinement."""
    rows = [list(r) for r in trans.tolist()]
    n = len(rows)
    block = [int(a) for a in accept]
    while True:
        sig = {}
        new = [sig.setdefault((block[s], tuple(block[t] for t in rows[s])), len(sig)) for s in range(n)]
        if len(sig) == len(set(block)):
            break
        block = new
    order = {block[0]: 0}
    queue = [0]
    rep = {}
    for s in range(n):
        rep.setdefault(block[s], s)
    for b in queue:
        for t in rows[rep[b]]:
            if block[t] not in order:
                order[block[t]] = len(order)
                queue.append(block[t])
    out = np.zeros((len(order), 256), dtype=np.int32)
    acc = np.zeros(len(order), dtype=bool)
    for b, i in order.items():
        out[i] = [order[block[t]] for t in rows[rep[b]]]
        acc[i] = accept[rep[b]]
    return out, acc


@pytest.mark.parametrize('seed', range(12))
def test_minimization_matches_textbook(seed):
    """Random tables, chains (thousands of one-state rounds: the Python rounds) and wide
    blocks (the numpy rounds), unreachable states: the same minimal canonical tables."""
    rng = np.random.default_rng(seed)
    n = [5, 40, 300, 2500][seed % 4]
    k = int(rng.integers(1, 5))
    cls = rng.integers(0, k, 256)
    small = rng.integers(0, n, (n, k))
    if seed % 3 == 0:  # a long chain with a random tail, duplicated: minimization merges it
        small[:, 0] = np.minimum(np.arange(1, n + 1), n - 1)
    accept = rng.random(n) < (0.5 if seed % 2 else 0.05)
    trans = small[:, cls]
    got = ByteDFA.from_tables(trans, accept)
    want_t, want_a = _naive_minimal(trans, accept)
    assert np.array_equal(got.trans, want_t) and np.array_equal(got.accept, want_a)


def test_long_chain_minimizes_to_itself():
    # a{0,3000} over bytes: 3002 states, 3000 refinement rounds of one state each.
    n = 3000
    t = np.full((n + 2, 256), n + 1, dtype=np.int32)
    t[np.arange(n), ord('a')] = np.arange(1, n + 1)
    acc = np.zeros(n + 2, dtype=bool)
    acc[: n + 1] = True
    dfa = ByteDFA.from_tables(t, acc)
    assert dfa.num_states == n + 2 and dfa.dead == 1  # byte 0 (no "a") finds it first
    assert dfa.accepts(b'a' * n) and not dfa.accepts(b'a' * (n + 1))
    assert dfa == compile_regex('a{0,3000}')
