"""Deterministic finite automata over bytes: the value type every format check compiles to.

A :class:`ByteDFA` is total over the 256 byte values, so ``trans`` is a dense ``(S, 256)``
table device code indexes without bounds checks; acceptance is decided after the last byte.
Every constructor keeps these invariants:

* minimal and canonically numbered (BFS from ``start == 0``, bytes in order), so ``==`` and
  ``hash`` are language equality;
* at most one *dead* state (cannot reach acceptance): ``dead``, or -1 when there is none;
* immutable (read-only arrays) and picklable, so it caches and ships to workers.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Iterable

import numpy as np

from .rows import group_rows

__all__ = ['Budget', 'ByteDFA', 'StateLimitError', 'DEFAULT_MAX_STATES', 'DEFAULT_MAX_WORK']

#: Default limit on the states of any automaton a construction builds.
DEFAULT_MAX_STATES = 100_000
#: Default work budget of one construction, in work units (see :class:`Budget`): enough for
#: format patterns, small enough that a hopeless pattern fails within seconds.
DEFAULT_MAX_WORK = 15_000_000

# Below this many table cells per step, loops run in plain Python: a numpy call's overhead
# dominates on long chains (``a{0,3000}`` has thousands of one-state BFS levels and
# refinement rounds).
_PY_CELLS = 2048


class StateLimitError(ValueError):
    """A construction would exceed its ``max_states`` limit or its ``max_work`` budget.

    The message names the construction, the limit and the stage that hit it.
    """


class Budget:
    """The limits of one construction: states per automaton and total work.

    Work is counted in units (one elementary step; an NFA state costs 20) rather than timed, so
    a pattern gets the same verdict on every machine and under any load.

    Args:
        what: names the construction in error messages, e.g. ``"compile_regex('a{3}', ...)"``.
        max_states: limit on the states of any automaton built.
        max_work: limit on the total work, in units.

    >>> b = Budget("demo", max_states=10, max_work=100)
    >>> b.spend(60); b.used
    60
    >>> b.spend(60)
    Traceback (most recent call last):
    ...
    twinkle.dfa.automaton.StateLimitError: demo: construction exceeded max_work=100 work units \
(stopped at 120, while spending 60); raise max_work, or simplify the pattern
    """

    __slots__ = ('what', 'max_states', 'max_work', 'used')

    def __init__(self, what: str, max_states: int = DEFAULT_MAX_STATES, max_work: int = DEFAULT_MAX_WORK):
        if max_states < 1 or max_work < 1:
            raise ValueError(
                f'{what}: max_states and max_work must be >= 1, got '
                f'max_states={max_states}, max_work={max_work}'
            )
        self.what = what
        self.max_states = int(max_states)
        self.max_work = int(max_work)
        self.used = 0

    def spend(self, units: int, stage: str = '') -> None:
        """Adds ``units`` of work; raises :class:`StateLimitError` past ``max_work``."""
        self.used += int(units)
        if self.used > self.max_work:
            where = f' in {stage}' if stage else ''
            raise StateLimitError(
                f'{self.what}: construction exceeded max_work={self.max_work:,} work units'
                f'{where} (stopped at {self.used:,}, while spending {int(units):,}); raise '
                'max_work, or simplify the pattern'
            )

    def check_states(self, n: int, stage: str) -> None:
        """Raises :class:`StateLimitError` when ``stage`` needs more than ``max_states`` states."""
        if n > self.max_states:
            raise StateLimitError(
                f'{self.what}: {stage} needs more than max_states={self.max_states:,} states ({n:,} so far)'
            )


def _byte_classes(trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(reps, cls)``: one representative byte per class of equal ``trans`` columns, class per byte."""
    cls, reps = group_rows(np.ascontiguousarray(trans.T))  # reps: first byte of each class
    return reps, cls


def _canonical(
    trans: np.ndarray,
    accept: np.ndarray,
    start: int,
    cols: np.ndarray | None = None,
    return_order: bool = False,
):
    """States reachable from ``start``, in BFS order: ``(trans, accept[, old -> new or -1])``."""
    n = trans.shape[0]
    # Any column set holding the first byte of each class of equal columns meets successors in
    # the order all 256 bytes would; level by level, wide levels as numpy gathers.
    if cols is None:
        cols = np.sort(_byte_classes(trans)[0]) if trans.shape[1] > 1 else np.zeros(1, np.int64)
    narrow = np.ascontiguousarray(trans[:, cols], dtype=np.int64)
    width = narrow.shape[1]
    order = np.full(n, -1, dtype=np.int64)
    order[start] = 0
    seen = bytearray(n)
    seen[start] = 1
    succ = None
    levels = [np.array([start], dtype=np.int64)]
    count = 1
    frontier = levels[0]
    while len(frontier):
        if len(frontier) * min(width, 16) <= _PY_CELLS:
            if succ is None:
                succ, ptr = _distinct_successors(narrow)
            new = []
            for s in frontier.tolist():
                for t in succ[ptr[s] : ptr[s + 1]]:
                    if not seen[t]:
                        seen[t] = 1
                        new.append(t)
            frontier = np.asarray(new, dtype=np.int64)
        else:
            flat = narrow[frontier].ravel()
            flat = flat[order[flat] < 0]
            uniq, first = np.unique(flat, return_index=True)
            frontier = uniq[np.argsort(first, kind='stable')].astype(np.int64)
            for t in frontier.tolist():
                seen[t] = 1
        if not len(frontier):
            break
        order[frontier] = np.arange(count, count + len(frontier))
        count += len(frontier)
        levels.append(frontier)
    keep = np.concatenate(levels)
    new_trans = order[trans[keep]].astype(np.int32)
    if return_order:
        return new_trans, accept[keep].copy(), order
    return new_trans, accept[keep].copy()


def _distinct_successors(rows: np.ndarray) -> tuple[list[int], list[int]]:
    """Each row's distinct entries in order of first appearance, as CSR lists (succ, ptr)."""
    by_value = np.argsort(rows, axis=1, kind='stable')
    sorted_rows = np.take_along_axis(rows, by_value, axis=1)
    new_value = np.ones(rows.shape, dtype=bool)
    new_value[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    first = np.zeros(rows.shape, dtype=bool)
    np.put_along_axis(first, by_value, new_value, axis=1)  # first occurrence in its row
    ptr = np.concatenate([[0], np.cumsum(first.sum(axis=1))])
    return rows[first].tolist(), ptr.tolist()


def _predecessors(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse transitions as CSR: the predecessors of ``t`` are ``src[ptr[t]:ptr[t + 1]]``."""
    n, c = small.shape
    dst = small.ravel()
    order = np.argsort(dst, kind='stable')
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


def _minimize(
    trans: np.ndarray, accept: np.ndarray, start: int, budget: Budget | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Minimal canonical tables by incremental partition refinement (Moore's)."""
    # Invariant: every state's row of successor blocks equals its block's `sig`, except for the
    # candidates (predecessors of states that changed block), so a round costs only its candidates.
    if budget is not None:
        budget.spend(trans.shape[0] * trans.shape[1] // 4, 'minimization')
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
    while len(cand) and len(cand) * c > _PY_CELLS:
        if budget is not None:
            budget.spend(len(cand) * c // 4 + 64, 'minimization')
        cand, count = _refine_round(small, src, ptr, block, sizes, sig, count, cand)
    if len(cand):
        block = _refine_python(small, src, ptr, block, sig, count, cand, budget)
    # Collapse states into their blocks, then renumber canonically from the start's block.
    count = int(block.max()) + 1
    rep_state = np.zeros(count, dtype=np.int64)
    rep_state[block] = np.arange(len(block))
    merged_trans = block[trans[rep_state]].astype(np.int32)
    merged_accept = accept[rep_state]
    return _canonical(merged_trans, merged_accept, int(block[0]))


def _refine_round(small, src, ptr, block, sizes, sig, count, cand):
    """One numpy round of :func:`_minimize` (in place): ``(next candidates, block count)``."""
    # The largest part of a block keeps its id, so ids change only on real splits and the next
    # candidates come from the smaller parts (Hopcroft's "smaller half").
    rows = block[small[cand]]
    own = block[cand]
    moved = ~(rows == sig[own]).all(axis=1)
    if not moved.any():
        return cand[:0], count
    cand, rows, own = cand[moved], rows[moved], own[moved]
    # Group the movers by (block, row): exact (hash, then verified). Renaming a block whose
    # members did not split would propagate forever around cycles.
    inv, first = group_rows(np.concatenate([own[:, None], rows], axis=1))
    ng = len(first)
    g_block = own[first]
    g_size = np.bincount(inv, minlength=ng)
    by_block = np.lexsort((-g_size, g_block))
    sorted_blocks = g_block[by_block]
    largest = by_block[np.r_[True, sorted_blocks[1:] != sorted_blocks[:-1]]]
    blocks_hit = g_block[largest]
    movers = np.bincount(np.searchsorted(blocks_hit, own), minlength=len(blocks_hit))
    stay = sizes[blocks_hit] - movers
    takes_id = g_size[largest] > stay
    keeps = np.zeros(ng, dtype=bool)
    keeps[largest[takes_id]] = True
    new_ids = g_block.copy()
    fresh = ~keeps
    n_fresh = int(fresh.sum())
    new_ids[fresh] = count + np.arange(n_fresh)
    count += n_fresh
    # Blocks whose largest moving group took the id while some members stay: those move.
    swapped = blocks_hit[takes_id & (stay > 0)]
    stay_sig = sig[swapped].copy()
    sig[new_ids] = rows[first]
    target = new_ids[inv]
    move = target != own
    changed, src_block, dst_block = cand[move], own[move], target[move]
    if len(swapped):
        is_mover = np.zeros(len(block), dtype=bool)
        is_mover[cand] = True
        stayers = np.flatnonzero(np.isin(block, swapped) & ~is_mover)
        swap_ids = count + np.arange(len(swapped))
        count += len(swapped)
        sig[swap_ids] = stay_sig
        stay_block = block[stayers]
        changed = np.concatenate([changed, stayers])
        src_block = np.concatenate([src_block, stay_block])
        dst_block = np.concatenate([dst_block, swap_ids[np.searchsorted(swapped, stay_block)]])
    np.subtract.at(sizes, src_block, 1)
    np.add.at(sizes, dst_block, 1)
    block[changed] = dst_block
    return np.unique(_gather(src, ptr, changed)), count


def _refine_python(small, src, ptr, block, sig, count, cand, budget):
    """The rounds of :func:`_minimize` from ``cand`` on, in Python (same rules as :func:`_refine_round`)."""
    c = small.shape[1]
    rows_l = small.tolist()
    block_l = block.tolist()
    sig_l = [tuple(r) if r[0] >= 0 else None for r in sig[:count].tolist()]
    members: list[set] = [set() for _ in range(count)]
    for s, b in enumerate(block_l):
        members[b].add(s)
    src_l, ptr_l = src.tolist(), ptr.tolist()
    cand_l = cand.tolist()
    while cand_l:
        if budget is not None:
            budget.spend(2 * len(cand_l) * c + 8, 'minimization')
        groups: dict = {}
        for s in cand_l:
            own = block_l[s]
            row = tuple([block_l[t] for t in rows_l[s]])
            if row != sig_l[own]:
                groups.setdefault((own, row), []).append(s)
        if not groups:
            break
        by_block: dict = {}
        for key, group in groups.items():
            by_block.setdefault(key[0], []).append((len(group), key))
        changed = []
        for own, parts in by_block.items():
            n_moving = sum(size for size, _ in parts)
            size, key = max(parts)
            stay = len(members[own]) - n_moving
            for _, other in parts:
                if other == key and size > stay:
                    continue
                changed += _move(groups[other], own, other[1], block_l, sig_l, members)
            if size > stay:
                if stay:  # the largest group keeps the id: the stayers move out
                    stayers = members[own] - set(groups[key])
                    changed += _move(list(stayers), own, sig_l[own], block_l, sig_l, members)
                sig_l[own] = key[1]
        nxt = set()
        for s in changed:
            nxt.update(src_l[ptr_l[s] : ptr_l[s + 1]])
        cand_l = list(nxt)
    return np.asarray(block_l, dtype=np.int64)


def _move(states: list, own: int, row: tuple, block_l: list, sig_l: list, members: list) -> list:
    """Moves ``states`` out of block ``own`` into a fresh block whose row is ``row``."""
    new = len(sig_l)
    sig_l.append(row)
    members.append(set(states))
    members[own].difference_update(states)
    for s in states:
        block_l[s] = new
    return states


def _coreachable(trans: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """bool (S,): the states from which some state in ``targets`` is reachable (backward BFS)."""
    trans = np.asarray(trans)
    if trans.shape[1] > 1:
        trans = trans[:, _byte_classes(trans)[0]]
    src, ptr = _predecessors(np.asarray(trans, dtype=np.int64))
    alive = np.array(targets, dtype=bool)
    frontier = np.flatnonzero(alive)
    src_l = ptr_l = None
    while len(frontier):
        if len(frontier) <= _PY_CELLS // 8:
            if src_l is None:
                src_l, ptr_l = src.tolist(), ptr.tolist()
            fl = frontier.tolist()
            if sum(ptr_l[t + 1] - ptr_l[t] for t in fl) <= _PY_CELLS:
                new = {s for t in fl for s in src_l[ptr_l[t] : ptr_l[t + 1]]}
                frontier = np.fromiter((s for s in new if not alive[s]), dtype=np.int64)
                alive[frontier] = True
                continue
        preds = np.unique(_gather(src, ptr, frontier))
        frontier = preds[~alive[preds]]
        alive[frontier] = True
    return alive


def _find_dead(trans: np.ndarray, accept: np.ndarray) -> int:
    """Index of the (unique, in a minimal DFA) state that cannot reach acceptance, or -1."""
    dead = np.flatnonzero(~_coreachable(trans, accept))
    if len(dead) == 0:
        return -1
    if len(dead) > 1:
        raise ValueError(f'{len(dead)} dead states: the tables are not minimal (use minimize=True)')
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
    ) -> ByteDFA:
        """Builds a DFA from raw tables, minimizing and renumbering it canonically.

        Args:
            trans: integer (S, 256) successor table, entries in ``[0, S)``.
            accept: bool (S,) accepting states.
            start: start state.
            minimize: set False only for tables known to be minimal and canonical already.

        Returns:
            The minimal canonical DFA for the same language.

        Raises:
            ValueError: bad shapes, no state, a start or a target out of range.

        >>> import numpy as np
        >>> t = np.zeros((2, 256), dtype=np.int32); t[0, ord("x")] = 1; t[1, :] = 1
        >>> ByteDFA.from_tables(t, np.array([False, True])).accepts(b"xyz")
        True
        """
        trans = np.asarray(trans)
        accept = np.asarray(accept, dtype=bool)
        if trans.ndim != 2 or trans.shape[1] != 256 or accept.shape != (trans.shape[0],):
            raise ValueError(f'bad DFA table shapes {trans.shape} / {accept.shape}')
        if trans.shape[0] == 0 or not 0 <= start < trans.shape[0]:
            raise ValueError('a DFA needs at least one state and a valid start state')
        if trans.min() < 0 or trans.max() >= trans.shape[0]:
            raise ValueError('transition target out of range')
        if minimize:
            trans, accept = _minimize(trans.astype(np.int64), accept, int(start))
            start = 0
        trans = np.ascontiguousarray(trans, dtype=np.int32)
        accept = np.ascontiguousarray(accept, dtype=bool)
        trans.setflags(write=False)
        accept.setflags(write=False)
        return cls(trans, accept, int(start), _find_dead(trans, accept))

    @classmethod
    def _from_minimal(cls, trans: np.ndarray, accept: np.ndarray, dead: int) -> ByteDFA:
        """Wraps tables already minimal and canonical (start 0) without checking them."""
        trans = np.ascontiguousarray(trans, dtype=np.int32)
        accept = np.ascontiguousarray(accept, dtype=bool)
        trans.setflags(write=False)
        accept.setflags(write=False)
        return cls(trans, accept, 0, int(dead))

    @classmethod
    def from_literal(cls, data: bytes) -> ByteDFA:
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
    def any_string(cls) -> ByteDFA:
        """The DFA accepting every byte string.

        >>> ByteDFA.any_string().accepts(b"\\xff")
        True
        """
        return cls.from_tables(np.zeros((1, 256), dtype=np.int32), np.array([True]))

    @classmethod
    def empty(cls) -> ByteDFA:
        """The DFA accepting nothing (its only state is dead).

        >>> ByteDFA.empty().is_empty()
        True
        """
        return cls.from_tables(np.zeros((1, 256), dtype=np.int32), np.array([False]))

    # -- running ------------------------------------------------------------------------------

    @functools.cached_property
    def _rows(self) -> list[list[int]]:
        # Python lists index faster than numpy scalars in a per-byte loop.
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

        The dead state is exactly "no continuation can match", so this is the first ``i`` such
        that no string starting with ``data[:i + 1]`` is accepted: the position
        ``twinkle.ops.dfa_scan`` reports on byte ids.

        Args:
            data: input bytes.
            state: state to start from (default ``start``). If it is already dead the answer is 0
                when ``data`` is not empty (no byte can repair the input, and the first byte is
                the first offending one), -1 for empty ``data`` (no byte to point at).

        >>> ByteDFA.from_literal(b"abc").first_dead(b"abx!")
        2
        """
        s = self.start if state is None else int(state)
        if self.dead < 0 or not data:
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

    def _product(self, other: ByteDFA, op, max_states: int) -> ByteDFA:
        """Reachable product automaton with acceptance ``op(acc_self, acc_other)``."""
        if not isinstance(other, ByteDFA):
            raise TypeError(f'expected ByteDFA, got {type(other).__name__}')
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
                        raise StateLimitError(f'product DFA exceeds max_states={max_states}')
                mapped[k] = got
            rows.append(mapped[inv.reshape(-1)])
        codes_arr = np.asarray(codes, dtype=np.int64)
        acc = op(self.accept[codes_arr // n2], other.accept[codes_arr % n2])
        return ByteDFA.from_tables(np.stack(rows), acc)

    def union(self, other: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
        """Language union.

        >>> a, b = ByteDFA.from_literal(b"a"), ByteDFA.from_literal(b"b")
        >>> a.union(b).accepts(b"b")
        True
        """
        return self._product(other, np.logical_or, max_states)

    def intersect(self, other: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
        """Language intersection.

        >>> ByteDFA.from_literal(b"a").intersect(ByteDFA.any_string()).accepts(b"a")
        True
        """
        return self._product(other, np.logical_and, max_states)

    def difference(self, other: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
        """Strings accepted by ``self`` and not by ``other``.

        >>> ByteDFA.any_string().difference(ByteDFA.from_literal(b"")).accepts(b"")
        False
        """
        return self._product(other, lambda x, y: x & ~y, max_states)

    def complement(self) -> ByteDFA:
        """All byte strings not accepted (the DFA is total, so flipping ``accept`` suffices).

        >>> ByteDFA.empty().complement() == ByteDFA.any_string()
        True
        """
        return ByteDFA.from_tables(self.trans, ~self.accept, self.start)

    def minimize(self) -> ByteDFA:
        """Returns the minimal canonical DFA (objects from this module already are).

        >>> d = ByteDFA.from_literal(b"x")
        >>> d.minimize() == d
        True
        """
        return ByteDFA.from_tables(self.trans, self.accept, self.start)

    def concat(self, other: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
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
                        raise StateLimitError(f'concatenation exceeds max_states={max_states}')
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
        return f'ByteDFA(num_states={self.num_states}, start={self.start}, dead={self.dead})'

    def __getstate__(self):
        return {
            'trans': np.array(self.trans),
            'accept': np.array(self.accept),
            'start': self.start,
            'dead': self.dead,
        }

    def __setstate__(self, state):
        trans, accept = state['trans'], state['accept']
        trans.setflags(write=False)
        accept.setflags(write=False)
        object.__setattr__(self, 'trans', trans)
        object.__setattr__(self, 'accept', accept)
        object.__setattr__(self, 'start', state['start'])
        object.__setattr__(self, 'dead', state['dead'])
