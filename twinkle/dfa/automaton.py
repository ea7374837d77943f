"""Deterministic finite automata over bytes: the value type every format check compiles to.

A :class:`ByteDFA` reads raw bytes (alphabet size 256) and is always *total*: every state has a
successor for every byte, so ``trans`` is a dense ``(S, 256)`` table that device code can index
without bounds checks. Acceptance is decided once, after the last byte.

Invariants kept by every constructor and combinator in this module:

* The automaton is minimal and canonically numbered: states are numbered in breadth-first order
  from ``start`` (``start == 0``), visiting bytes 0..255 in order. Two ``ByteDFA`` objects accept
  the same language exactly when their tables are equal, so ``==`` and ``hash`` (by content) are
  language equality.
* A minimal DFA has at most one *dead* state (no accepting state is reachable from it). ``dead``
  is its index, or -1 when every state can still reach acceptance.
* Objects are immutable (arrays are read-only) and picklable, so they can be cached and shipped to
  worker processes; device code only ever receives ``trans``/``accept`` as tensors.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Iterable

import numpy as np

__all__ = ["ByteDFA", "StateLimitError"]

_DEFAULT_MAX_STATES = 100_000


class StateLimitError(ValueError):
    """Raised when a construction would need more DFA states than its ``max_states`` limit."""


def _byte_classes(trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups bytes whose columns in ``trans`` are identical.

    Most patterns distinguish only a handful of byte ranges, so working on byte classes instead of
    all 256 bytes makes minimization and products an order of magnitude cheaper.

    Returns:
        ``(reps, cls)``: ``reps`` (C,) one representative byte per class, ``cls`` (256,) the class
        of each byte.
    """
    cls = _group_rows(np.ascontiguousarray(trans.T))
    reps = np.zeros(int(cls.max()) + 1, dtype=np.int64)
    reps[cls[::-1]] = np.arange(len(cls) - 1, -1, -1)  # first byte of each class
    return reps, cls


def _canonical(trans: np.ndarray, accept: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Keeps the states reachable from ``start`` and renumbers them in BFS order (start = 0).

    BFS visits successors in byte order. It runs level by level: the next level is the unseen
    states of the current level's rows, concatenated, in order of first appearance, which is the
    order a one-state-at-a-time BFS would discover them in.
    """
    n = trans.shape[0]
    order = np.full(n, -1, dtype=np.int64)
    order[start] = 0
    levels = [np.array([start], dtype=np.int64)]
    count = 1
    frontier = levels[0]
    while len(frontier):
        flat = trans[frontier].ravel()
        flat = flat[order[flat] < 0]
        if not len(flat):
            break
        uniq, first = np.unique(flat, return_index=True)
        frontier = uniq[np.argsort(first, kind="stable")].astype(np.int64)
        order[frontier] = np.arange(count, count + len(frontier))
        count += len(frontier)
        levels.append(frontier)
    keep = np.concatenate(levels)
    new_trans = order[trans[keep]].astype(np.int32)
    return new_trans, accept[keep].copy()


_HASH_WEIGHTS = np.random.default_rng(0x7F4A7C15).integers(1, 2**63, size=4096, dtype=np.uint64) | 1


def _hash_weights(width: int) -> np.ndarray:
    if width <= len(_HASH_WEIGHTS):
        return _HASH_WEIGHTS[:width]
    return np.random.default_rng(width).integers(1, 2**63, size=width, dtype=np.uint64) | 1


def _group_rows(sig: np.ndarray) -> np.ndarray:
    """Dense ids (in no particular order) of identical rows of ``sig``.

    Like ``np.unique(sig, axis=0, return_inverse=True)[1]`` up to renaming, but sorting wide
    rows is slow (seconds for 10^4 x 10^2), so rows are grouped by a 64-bit hash first; the
    grouping is then verified row by row, with the exact sort as fallback on a collision.
    """
    n, width = sig.shape
    h = (sig.astype(np.uint64) * _hash_weights(width)).sum(axis=1, dtype=np.uint64)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not (sig == sig[first[inv]]).all():
        _, inv = np.unique(sig, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
    return inv


def _predecessors(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse transitions as CSR: the predecessors of ``t`` are ``src[ptr[t]:ptr[t + 1]]``."""
    n, c = small.shape
    dst = small.ravel()
    order = np.argsort(dst, kind="stable")
    src = (order // c).astype(np.int64)
    ptr = np.searchsorted(dst[order], np.arange(n + 1))
    return src, ptr


def _gather(src: np.ndarray, ptr: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Concatenation of the CSR rows of ``nodes`` (a ragged gather, without a Python loop)."""
    starts, ends = ptr[nodes], ptr[nodes + 1]
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return src[np.arange(total) + offsets]


def _minimize(trans: np.ndarray, accept: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Partition refinement (Moore's, made incremental) and canonical numbering.

    Invariant: every state's row of successor blocks equals its block's recorded row ``sig``,
    except for *candidates*, the predecessors of states whose block changed in the last round.
    A round compares only the candidates with their block's row and splits off those that
    differ, grouped by row; a block whose members all move keeps its id for the first group,
    so every id change is a real split and the loop ends after at most S rounds. Plain Moore
    needs as many rounds as the DFA is deep, each over all S states, which made a long chain
    such as ``a{0,3000}`` take seconds; here a round costs what its candidates cost.
    """
    trans, accept = _canonical(trans, accept, start)
    reps, _ = _byte_classes(trans)
    small = np.ascontiguousarray(trans[:, reps], dtype=np.int64)
    n, c = small.shape
    src, ptr = _predecessors(small)
    _, block = np.unique(accept, return_inverse=True)
    block = block.reshape(-1).astype(np.int64)
    count = int(block.max()) + 1
    sizes = np.zeros(n, dtype=np.int64)  # at most n blocks ever exist
    sizes[:count] = np.bincount(block)
    sig = np.full((n, c), -1, dtype=np.int64)  # -1: unknown, matches no row
    cand = np.arange(n, dtype=np.int64)
    while len(cand):
        rows = block[small[cand]]
        own = block[cand]
        moved = ~(rows == sig[own]).all(axis=1)
        if not moved.any():
            break
        cand, rows, own = cand[moved], rows[moved], own[moved]
        # Group the movers by (block, row): exact (hash, then verified), and cheap since the
        # movers of a round are usually few.
        inv = _group_rows(np.concatenate([own[:, None], rows], axis=1))
        ng = int(inv.max()) + 1
        first = np.zeros(ng, dtype=np.int64)
        first[inv[::-1]] = np.arange(len(inv) - 1, -1, -1)
        g_block = own[first]
        # A block all of whose members move keeps its id for one of its groups, so that ids
        # only change on real splits (renaming would propagate forever around cycles).
        blocks_hit, one_per_block = np.unique(g_block, return_index=True)
        movers = np.bincount(np.searchsorted(blocks_hit, own), minlength=len(blocks_hit))
        keeps = np.zeros(ng, dtype=bool)
        keeps[one_per_block] = movers == sizes[blocks_hit]
        new_ids = g_block.copy()
        fresh = ~keeps
        n_fresh = int(fresh.sum())
        new_ids[fresh] = count + np.arange(n_fresh)
        count += n_fresh
        sig[new_ids] = rows[first]
        target = new_ids[inv]
        move = target != own
        changed = cand[move]
        np.subtract.at(sizes, own[move], 1)
        np.add.at(sizes, target[move], 1)
        block[changed] = target[move]
        cand = np.unique(_gather(src, ptr, changed))
    # Collapse states into their blocks, then renumber canonically from the start's block.
    rep_state = np.zeros(count, dtype=np.int64)
    rep_state[block] = np.arange(len(block))
    merged_trans = block[trans[rep_state]].astype(np.int32)
    merged_accept = accept[rep_state]
    return _canonical(merged_trans, merged_accept, int(block[0]))


def _find_dead(trans: np.ndarray, accept: np.ndarray) -> int:
    """Index of the (unique, in a minimal DFA) state that cannot reach acceptance, or -1."""
    # Backward breadth-first search from the accepting states over inverse transitions.
    src, ptr = _predecessors(np.asarray(trans, dtype=np.int64))
    alive = accept.copy()
    frontier = np.flatnonzero(alive)
    while len(frontier):
        preds = np.unique(_gather(src, ptr, frontier))
        frontier = preds[~alive[preds]]
        alive[frontier] = True
    dead = np.flatnonzero(~alive)
    if len(dead) == 0:
        return -1
    if len(dead) > 1:
        raise ValueError(f"{len(dead)} dead states: the tables are not minimal (use minimize=True)")
    return int(dead[0])


@dataclasses.dataclass(frozen=True, eq=False)
class ByteDFA:
    """A minimal, total DFA over the byte alphabet.

    Attributes:
        trans: int32 (S, 256), ``trans[s, b]`` is the state after reading byte ``b`` in state ``s``.
        accept: bool (S,), states in which the input read so far is accepted.
        start: the start state (always 0 for objects built by this module).
        dead: the sink state from which no accepting state is reachable, or -1 if none.

    Build instances with :meth:`from_tables` (which minimizes), the helpers
    :meth:`from_literal`, :meth:`any_string`, :meth:`empty`, or
    :func:`twinkle.dfa.compile_regex`.

    >>> d = ByteDFA.from_literal(b"ab")
    >>> d.accepts(b"ab"), d.accepts(b"abc"), d.num_states
    (True, False, 4)
    """

    trans: np.ndarray
    accept: np.ndarray
    start: int
    dead: int

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_tables(
        cls, trans: np.ndarray, accept: np.ndarray, start: int = 0, *, minimize: bool = True
    ) -> "ByteDFA":
        """Builds a DFA from raw tables, minimizing and renumbering it canonically.

        Args:
            trans: integer (S, 256) successor table, entries in ``[0, S)``.
            accept: bool (S,) accepting states.
            start: start state.
            minimize: set False only for tables known to be minimal and canonical already.

        Returns:
            The minimal canonical DFA for the same language.

        >>> import numpy as np
        >>> t = np.zeros((2, 256), dtype=np.int32); t[0, ord("x")] = 1; t[1, :] = 1
        >>> ByteDFA.from_tables(t, np.array([False, True])).accepts(b"xyz")
        True
        """
        trans = np.asarray(trans)
        accept = np.asarray(accept, dtype=bool)
        if trans.ndim != 2 or trans.shape[1] != 256 or accept.shape != (trans.shape[0],):
            raise ValueError(f"bad DFA table shapes {trans.shape} / {accept.shape}")
        if trans.shape[0] == 0 or not 0 <= start < trans.shape[0]:
            raise ValueError("a DFA needs at least one state and a valid start state")
        if trans.min() < 0 or trans.max() >= trans.shape[0]:
            raise ValueError("transition target out of range")
        if minimize:
            trans, accept = _minimize(trans.astype(np.int64), accept, int(start))
            start = 0
        trans = np.ascontiguousarray(trans, dtype=np.int32)
        accept = np.ascontiguousarray(accept, dtype=bool)
        trans.setflags(write=False)
        accept.setflags(write=False)
        return cls(trans, accept, int(start), _find_dead(trans, accept))

    @classmethod
    def from_literal(cls, data: bytes) -> "ByteDFA":
        """The DFA accepting exactly ``data``.

        >>> ByteDFA.from_literal(b"<think>").accepts(b"<think>")
        True
        """
        n = len(data)
        # States 0..n follow the literal, state n+1 is the sink.
        trans = np.full((n + 2, 256), n + 1, dtype=np.int32)
        for i, b in enumerate(data):
            trans[i, b] = i + 1
        accept = np.zeros(n + 2, dtype=bool)
        accept[n] = True
        return cls.from_tables(trans, accept)

    @classmethod
    def any_string(cls) -> "ByteDFA":
        """The DFA accepting every byte string.

        >>> ByteDFA.any_string().accepts(b"\\xff")
        True
        """
        return cls.from_tables(np.zeros((1, 256), dtype=np.int32), np.array([True]))

    @classmethod
    def empty(cls) -> "ByteDFA":
        """The DFA accepting nothing (its only state is dead).

        >>> ByteDFA.empty().is_empty()
        True
        """
        return cls.from_tables(np.zeros((1, 256), dtype=np.int32), np.array([False]))

    # -- running ------------------------------------------------------------------------------

    @functools.cached_property
    def _rows(self) -> list[list[int]]:
        # Python lists index ~10x faster than numpy scalars in a per-byte loop.
        return self.trans.tolist()

    @property
    def num_states(self) -> int:
        """Number of states S (a property).

        >>> ByteDFA.any_string().num_states
        1
        """
        return int(self.trans.shape[0])

    def advance(self, state: int, data: bytes) -> int:
        """The state reached from ``state`` after reading ``data`` (used to apply a prefix).

        >>> d = ByteDFA.from_literal(b"ab")
        >>> bool(d.accept[d.advance(d.advance(d.start, b"a"), b"b")])
        True
        """
        rows = self._rows
        s = int(state)
        for b in data:
            s = rows[s][b]
        return s

    def run(self, data: bytes) -> int:
        """The final state after reading ``data`` from the start state.

        >>> d = ByteDFA.from_literal(b"ab")
        >>> d.run(b"ab") != d.dead, d.run(b"x") == d.dead
        (True, True)
        """
        return self.advance(self.start, data)

    def accepts(self, data: bytes) -> bool:
        """Whether ``data`` is in the language.

        >>> ByteDFA.from_literal(b"a").accepts(b"a")
        True
        """
        return bool(self.accept[self.run(data)])

    def first_dead(self, data: bytes, state: int | None = None) -> int:
        """Index of the byte whose reading entered the dead state, or -1 if it never did.

        Args:
            data: input bytes.
            state: state to start from (default ``start``). If it is already dead the answer is 0:
                no byte can repair the input, and the first byte is the first offending one.

        >>> ByteDFA.from_literal(b"abc").first_dead(b"abx!")
        2
        """
        s = self.start if state is None else int(state)
        if self.dead < 0:
            return -1
        if s == self.dead:
            return 0
        rows = self._rows
        dead = self.dead
        for i, b in enumerate(data):
            s = rows[s][b]
            if s == dead:
                return i
        return -1

    def is_empty(self) -> bool:
        """Whether the language is empty (the start state is dead).

        >>> ByteDFA.from_literal(b"a").intersect(ByteDFA.from_literal(b"b")).is_empty()
        True
        """
        return self.start == self.dead

    # -- boolean algebra ----------------------------------------------------------------------

    def _product(self, other: "ByteDFA", op, max_states: int) -> "ByteDFA":
        """Reachable product automaton with acceptance ``op(acc_self, acc_other)``."""
        if not isinstance(other, ByteDFA):
            raise TypeError(f"expected ByteDFA, got {type(other).__name__}")
        n2 = other.num_states
        t1 = self.trans.astype(np.int64)
        t2 = other.trans.astype(np.int64)
        # Pair codes i * n2 + j; ids assigned in discovery order.
        ids = {self.start * n2 + other.start: 0}
        codes = [self.start * n2 + other.start]
        rows = []
        head = 0
        while head < len(codes):
            code = codes[head]
            head += 1
            i, j = divmod(code, n2)
            nxt = t1[i] * n2 + t2[j]
            uniq, inv = np.unique(nxt, return_inverse=True)
            mapped = np.empty(len(uniq), dtype=np.int64)
            for k, c in enumerate(uniq.tolist()):
                got = ids.get(c)
                if got is None:
                    got = len(codes)
                    ids[c] = got
                    codes.append(c)
                    if got >= max_states:
                        raise StateLimitError(f"product DFA exceeds max_states={max_states}")
                mapped[k] = got
            rows.append(mapped[inv.reshape(-1)])
        codes_arr = np.asarray(codes, dtype=np.int64)
        acc = op(self.accept[codes_arr // n2], other.accept[codes_arr % n2])
        return ByteDFA.from_tables(np.stack(rows), acc)

    def union(self, other: "ByteDFA", *, max_states: int = _DEFAULT_MAX_STATES) -> "ByteDFA":
        """Language union.

        >>> a, b = ByteDFA.from_literal(b"a"), ByteDFA.from_literal(b"b")
        >>> a.union(b).accepts(b"b")
        True
        """
        return self._product(other, np.logical_or, max_states)

    def intersect(self, other: "ByteDFA", *, max_states: int = _DEFAULT_MAX_STATES) -> "ByteDFA":
        """Language intersection.

        >>> ByteDFA.from_literal(b"a").intersect(ByteDFA.any_string()).accepts(b"a")
        True
        """
        return self._product(other, np.logical_and, max_states)

    def difference(self, other: "ByteDFA", *, max_states: int = _DEFAULT_MAX_STATES) -> "ByteDFA":
        """Strings accepted by ``self`` and not by ``other``.

        >>> ByteDFA.any_string().difference(ByteDFA.from_literal(b"")).accepts(b"")
        False
        """
        return self._product(other, lambda x, y: x & ~y, max_states)

    def complement(self) -> "ByteDFA":
        """All byte strings not accepted (the DFA is total, so flipping ``accept`` suffices).

        >>> ByteDFA.empty().complement() == ByteDFA.any_string()
        True
        """
        return ByteDFA.from_tables(self.trans, ~self.accept, self.start)

    def minimize(self) -> "ByteDFA":
        """Returns the minimal canonical DFA (objects from this module already are).

        >>> d = ByteDFA.from_literal(b"x")
        >>> d.minimize() == d
        True
        """
        return ByteDFA.from_tables(self.trans, self.accept, self.start)

    def concat(self, other: "ByteDFA", *, max_states: int = _DEFAULT_MAX_STATES) -> "ByteDFA":
        """Concatenation: strings ``x + y`` with ``x`` accepted by self and ``y`` by other.

        Subset construction over pairs (state of self, set of states of other).

        >>> ByteDFA.from_literal(b"a").concat(ByteDFA.from_literal(b"b")).accepts(b"ab")
        True
        """
        reps, cls = _byte_classes(np.concatenate([self.trans, other.trans], axis=0))
        t1 = self.trans[:, reps].tolist()
        t2 = other.trans[:, reps].tolist()
        acc1 = self.accept.tolist()
        acc2 = other.accept.tolist()

        def norm(q: int, subset: Iterable[int]) -> tuple[int, frozenset]:
            s = frozenset(subset)
            if acc1[q]:
                s = s | {other.start}
            return q, s

        first = norm(self.start, ())
        ids = {first: 0}
        states = [first]
        rows = []
        head = 0
        while head < len(states):
            q, s = states[head]
            head += 1
            row = []
            for c in range(len(reps)):
                nxt = norm(t1[q][c], (t2[p][c] for p in s))
                got = ids.get(nxt)
                if got is None:
                    got = len(states)
                    if got >= max_states:
                        raise StateLimitError(f"concatenation exceeds max_states={max_states}")
                    ids[nxt] = got
                    states.append(nxt)
                row.append(got)
            rows.append(row)
        small = np.asarray(rows, dtype=np.int64)
        acc = np.array([any(acc2[p] for p in s) for _, s in states], dtype=bool)
        return ByteDFA.from_tables(small[:, cls], acc)

    # -- value semantics ----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ByteDFA):
            return NotImplemented
        return (
            self.start == other.start
            and self.trans.shape == other.trans.shape
            and bool((self.trans == other.trans).all())
            and bool((self.accept == other.accept).all())
        )

    def __hash__(self) -> int:
        return hash((self.start, self.trans.shape, self.trans.tobytes(), self.accept.tobytes()))

    def __repr__(self) -> str:
        return f"ByteDFA(num_states={self.num_states}, start={self.start}, dead={self.dead})"

    def __getstate__(self):
        return {"trans": np.array(self.trans), "accept": np.array(self.accept),
                "start": self.start, "dead": self.dead}

    def __setstate__(self, state):
        trans, accept = state["trans"], state["accept"]
        trans.setflags(write=False)
        accept.setflags(write=False)
        object.__setattr__(self, "trans", trans)
        object.__setattr__(self, "accept", accept)
        object.__setattr__(self, "start", state["start"])
        object.__setattr__(self, "dead", state["dead"])
