"""A DFA's token equivalence classes, over the bytes of a token table.

:func:`token_classes` runs every token of a :class:`TokenTable` (from :mod:`twinkle.vocab`,
re-exported here) through a :class:`ByteDFA` from every state at once and groups tokens that
act alike: ``class_ids (V,) int32`` and ``transitions (S', C) int32`` are all the scan op
(``twinkle.ops.dfa_scan``) receives.

Two decoder rules are not properties of one token and become DFA states: a first-token rule
(``Strip`` drops one leading space, ``Metaspace`` the first token's ``'▁'``) adds a "nothing
emitted yet" state, and ``ByteFallback`` runs of ``<0xNN>`` tokens (their characters when
valid UTF-8, else one U+FFFD per byte) add run states (:class:`_ByteRuns`).

>>> table = byte_table()
>>> table.vocab_size, table.token_bytes(ord('a'))
(256, b'a')
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import weakref
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from twinkle.dfa.rows import group_rows
from twinkle.vocab.cache import token_table
from twinkle.vocab.decoders import gpt2_byte_decoder
from twinkle.vocab.table import FFFD_UTF8, NOT_A_BYTE, TokenTable, byte_table

logger = logging.getLogger('twinkle')

__all__ = ['TokenTable', 'TokenClasses', 'byte_table', 'token_table', 'token_classes', 'gpt2_byte_decoder']


# ---- equivalence classes for one DFA -----------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class TokenClasses:
    """A DFA lifted from bytes to the tokens of a :class:`TokenTable`.

    Attributes:
        class_ids: (V,) int32, the class of every token id, in ``[0, C)``.
        transitions: (S', C) int32, ``transitions[s, c]`` is the state after any token of
            class ``c`` in state ``s``. States ``[0, S)`` are the DFA's; state ``S`` is
            "nothing emitted yet" where the table has a first-token rule; byte-fallback
            tables add run states after those (see :func:`token_classes`).
        accept: (S',) bool.
        start: the state a completion starts in (after the prefix, if any).
        dead: the DFA's sink state, or -1.

    >>> from twinkle.dfa import ByteDFA
    >>> tc = token_classes(ByteDFA.from_literal(b'ab'), byte_table())
    >>> tc.num_classes, tc.accepts([97, 98]), tc.accepts([97])
    (3, True, False)
    """

    class_ids: np.ndarray
    transitions: np.ndarray
    accept: np.ndarray
    start: int
    dead: int

    @property
    def num_states(self) -> int:
        return int(self.transitions.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.transitions.shape[1])

    def run(self, ids: Sequence[int]) -> int:
        """Final state after ``ids`` (a slow host loop: tests and debugging only)."""
        s = self.start
        for i in ids:
            s = int(self.transitions[s, self.class_ids[int(i)]])
        return s

    def accepts(self, ids: Sequence[int]) -> bool:
        return bool(self.accept[self.run(ids)])


# Work per chunk of states: S_chunk * U int64 entries (~64 MiB).
_CHUNK_ENTRIES = 8 << 20


class _TokenRunner:
    """Runs every distinct token string from given states with numpy (the compiled lift's fallback)."""

    def __init__(self, trans_c: np.ndarray, byte_cls: np.ndarray, padded: np.ndarray, lengths: np.ndarray):
        self.n_cls = trans_c.shape[1]
        self.flat = trans_c.reshape(-1)
        width = max(int(lengths.max(initial=0)), 1)
        cp = byte_cls[padded[:, :width]].astype(np.int64)
        cp[np.arange(width)[None, :] >= lengths[:, None]] = self.n_cls  # padding sentinel
        inverse, uniq = group_rows(cp)
        order = np.argsort(-lengths[uniq], kind='stable')
        self.ucp, self.ulen = cp[uniq[order]], lengths[uniq[order]]
        back = np.empty(order.size, dtype=np.int64)
        back[order] = np.arange(order.size)
        self.token_string = back[inverse.astype(np.int64)]  # (V,): each token's row in ucp
        self.lmax = int(self.ulen[0]) if order.size else 0
        self.active = _longer_than(self.ulen, self.lmax)

    def run(self, init: np.ndarray) -> np.ndarray:
        """(R, U) int64: the state after each distinct string from each state in ``init`` (R,)."""
        u = self.ulen.shape[0]
        out = np.empty((init.shape[0], u), dtype=np.int64)
        chunk = max(1, _CHUNK_ENTRIES // max(u, 1))
        for r0 in range(0, init.shape[0], chunk):
            cur = np.repeat(init[r0 : r0 + chunk, None], u, axis=1)
            for p in range(self.lmax):
                n = int(self.active[p])
                cur[:, :n] = self.flat[cur[:, :n] * self.n_cls + self.ucp[None, :n, p]]
            out[r0 : r0 + chunk] = cur
        return out


def _check_cells(v: int, s_count: int) -> None:
    """Refuses a (V, S) int64 lift past :data:`MAX_LIFT_CELLS` before allocating it."""
    cells = v * (s_count + 1)
    if cells > MAX_LIFT_CELLS:
        # Refuse early rather than allocate gigabytes (``<think>.{0,1000}</think>`` on a
        # 150k vocabulary).
        from twinkle.dfa.automaton import StateLimitError

        raise StateLimitError(
            f'token_classes: lifting a DFA of {s_count:,} states to a vocabulary of {v:,} '
            f'tokens needs {cells:,} cells (limit MAX_LIFT_CELLS={MAX_LIFT_CELLS:,}); use a '
            f'pattern with fewer states (a smaller bound) or score decoded strings'
        )


#: Set to False to lift with numpy even when the compiled library is loaded (tests compare).
USE_COMPILED_LIFT = True


def _compiled_lift() -> Any:
    """``twinkle._C.lift_tokens`` when the compiled library is loaded, else None."""
    if not USE_COMPILED_LIFT:
        return None
    from twinkle import _ext

    mod = _ext.string_scanner()
    return None if mod is None else mod.lift_tokens


def _token_rows(
    lift: Any,
    trans_c: np.ndarray,
    byte_cls: np.ndarray,
    padded: np.ndarray,
    lengths: np.ndarray,
    init: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(class of each token (V,), end states of each class (C, R))`` from each state of ``init``."""
    v = lengths.shape[0]
    if lift is None:
        _check_cells(v, init.shape[0])
        runner = _TokenRunner(trans_c, byte_cls, padded, lengths)
        sig = runner.run(init).T[runner.token_string]  # (V, R)
        cls, reps = group_rows(sig)
        return cls.astype(np.int32), sig[reps]
    codes = byte_cls.astype(np.uint8)[_flat_bytes(padded, lengths)]  # <= 256 byte classes
    offsets = np.zeros(v + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    cls = np.empty(v, dtype=np.int32)
    nodes, n_cls, rows = lift(
        np.ascontiguousarray(trans_c, dtype=np.int32),
        codes,
        offsets,
        np.ascontiguousarray(init, dtype=np.int32),
        cls,
        MAX_LIFT_WORK,
    )
    if rows is None:
        from twinkle.dfa.automaton import StateLimitError

        raise StateLimitError(
            f'token_classes: lifting a DFA of {trans_c.shape[0]:,} states to a vocabulary of {v:,} tokens '
            f'moves {init.shape[0]:,} states through {nodes:,} distinct token prefixes (limit '
            f'MAX_LIFT_WORK={MAX_LIFT_WORK:,} steps); use a pattern with fewer states (a smaller bound) '
            f'or score decoded strings'
        )
    return cls, np.frombuffer(rows, dtype=np.int32).reshape(n_cls, init.shape[0]).astype(np.int64)


_FLAT: Dict[int, Tuple[Any, np.ndarray]] = {}


def _flat_bytes(padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every token's bytes back to back, cached per read-only table array."""
    hit = _FLAT.get(id(padded))
    if hit is not None and hit[0]() is padded:
        return hit[1]
    flat = padded[np.arange(padded.shape[1])[None, :] < lengths[:, None]]
    if not padded.flags.writeable:
        key = id(padded)
        _FLAT[key] = (weakref.ref(padded, lambda _: _FLAT.pop(key, None)), flat)
    return flat


def _first_seen_order(class_ids: np.ndarray, transitions: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Renumbers classes by their first id, so both lift backends give equal output."""
    if class_ids.size == 0:
        return class_ids.astype(np.int32), np.ascontiguousarray(transitions, dtype=np.int32)
    _, first = np.unique(class_ids, return_index=True)
    order = np.argsort(first, kind='stable')  # old class ids, by first id
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return rank[class_ids], np.ascontiguousarray(transitions[:, order], dtype=np.int32)


def _add_column(class_ids: np.ndarray, rows: np.ndarray, col: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Splits classes by one more per-token end state ``col`` (V,): rows gain that column."""
    _, first, cls = np.unique(
        class_ids.astype(np.int64) * (int(col.max(initial=0)) + 1) + col,
        return_index=True,
        return_inverse=True,
    )
    rows = np.concatenate([rows[class_ids[first]], col[first][:, None]], axis=1)
    return cls.reshape(-1).astype(np.int32), rows


def token_classes(
    dfa: Any, table: TokenTable, start: Optional[int] = None, mask_id: bool = False
) -> TokenClasses:
    """Groups the tokens of ``table`` into classes that move ``dfa`` alike.

    Every token runs from every state (compiled: bounded by :data:`MAX_LIFT_WORK`; numpy
    fallback: by :data:`MAX_LIFT_CELLS`); tokens with equal rows of end states form one class,
    numbered by first id.

    Args:
        dfa: a :class:`twinkle.dfa.ByteDFA` (``trans`` (S, 256) int32, ``accept`` (S,),
            ``start``, ``dead``).
        table: the token bytes.
        start: the state a completion starts in (default ``dfa.start``); pass
            ``dfa.advance(dfa.start, prefix)`` for a prompt prefix.
        mask_id: add one id, ``V``, that decodes to nothing (class_ids gets ``V + 1``
            entries): callers write it over masked positions so any padding layout scans
            as the unmasked text.

    Returns:
        :class:`TokenClasses`. A first-token rule (``Strip`` or ``Metaspace``) adds state
        ``S``, "nothing emitted yet", as the start. ``ByteFallback`` ids add the run states
        (at most :data:`MAX_RUN_STATES`; past it a warning says invalid runs decode with
        Python's rule instead); a run state from which nothing can match is ``dead``, so
        first-dead positions stay exact.

    Raises:
        ValueError: ``start`` is not a state of ``dfa``.
        StateLimitError: the lift would pass its work or cell limit.

    >>> from twinkle.dfa import ByteDFA
    >>> t = TokenTable.from_bytes([b' a', b'a', b''], strip_first=ord(' '))
    >>> tc = token_classes(ByteDFA.from_literal(b'aa'), t)
    >>> tc.accepts([0, 1]), tc.accepts([2, 1, 0]), tc.accepts([1, 0])
    (True, False, False)
    """
    trans = np.ascontiguousarray(dfa.trans, dtype=np.int64)
    s_count = trans.shape[0]
    start = int(dfa.start if start is None else start)
    if not 0 <= start < s_count:
        raise ValueError(f'token_classes: start state {start} not in [0, {s_count})')
    v = table.vocab_size
    lift = _compiled_lift()
    if lift is not None and table.has_byte_runs:
        _check_cells(v, s_count)  # the runs read a (V, S) int64 matrix
    lengths = table.lengths.astype(np.int64)
    # Bytes the DFA never tells apart share a column: run tokens over those byte classes.
    # (Hashed columns: np.unique(axis=0) over 256 rows of S entries is slow for large S.)
    byte_cls, byte_rep = group_rows(np.ascontiguousarray(trans.T))
    byte_cls = byte_cls.astype(np.int64)
    trans_c = np.ascontiguousarray(trans[:, byte_rep])
    rows_of = functools.partial(_token_rows, lift, trans_c, byte_cls)
    class_ids, rows = rows_of(table.padded, lengths, np.arange(s_count, dtype=np.int64))
    strip = table.has_first_rule
    cols = s_count + (1 if strip else 0)
    if strip:
        # "Nothing emitted yet": the first emitting token's own bytes, run from `start`.
        first_ids, first_rows = rows_of(
            table.first_padded, table.first_lengths.astype(np.int64), np.array([start], dtype=np.int64)
        )
        col = first_rows[first_ids, 0]
        col[lengths == 0] = s_count  # an empty token emits nothing: still at the start
        class_ids, rows = _add_column(class_ids, rows, col)
    if mask_id:
        empty = np.arange(cols, dtype=np.int64)  # every state stays put; "nothing yet" too
        class_ids = np.append(class_ids, np.int32(rows.shape[0]))
        rows = np.concatenate([rows, empty[None, :]], axis=0)
    accept = np.asarray(dfa.accept, dtype=bool)
    if strip:
        accept = np.concatenate([accept, accept[start : start + 1]])
    lifted = None
    if table.has_byte_runs:
        runs = _ByteRuns(trans, int(dfa.dead), start if strip else -1, table.strip_first)
        lifted = runs.lift(rows[class_ids], table, accept)
        if lifted is None:
            logger.warning(
                'twinkle: byte-fallback runs of %s would need more than %d extra states for a '
                "DFA of %d states; invalid runs are decoded with Python's rule instead (see "
                'twinkle.dfa.tokens)',
                table.name or 'a token table',
                MAX_RUN_STATES,
                s_count,
            )
    if lifted is not None:
        class_ids, transitions, accept = lifted
    else:
        row_cls, reps = group_rows(rows)
        class_ids, transitions = row_cls[class_ids], rows[reps].T
    class_ids, transitions = _first_seen_order(class_ids, transitions)
    if strip:
        start = s_count
    for a in (class_ids, transitions, accept):
        a.setflags(write=False)
    return TokenClasses(class_ids, transitions, np.ascontiguousarray(accept), start, int(dfa.dead))


# ---- ByteFallback runs --------------------------------------------------------------------

#: States of :func:`_utf8_validator`: at a character boundary, and the invalid sink.
_U8_BOUNDARY, _U8_INVALID = 0, 8
#: The key standing for the DFA's dead state: a run whose outcomes are both dead.
_DEAD_KEY = -1
#: Most run states one (pattern, table) pair may add; past it the runs are not modelled (a
#: warning says so) and invalid runs decode with Python's rule.
MAX_RUN_STATES = 50_000
#: Most vocabulary x state cells the numpy lift (no compiled library) and the byte-fallback
#: runs build (int64, so 2.4 GB at the limit).
MAX_LIFT_CELLS = 300_000_000
#: Most steps the compiled lift takes: distinct token prefixes (over the DFA's byte classes)
#: x states. Bounds the lift to seconds and refuses hopeless DFAs early.
MAX_LIFT_WORK = 1_000_000_000


@functools.lru_cache(maxsize=1)
def _utf8_validator() -> np.ndarray:
    """(9, 256) int64: strict UTF-8 as ``bytes.decode`` accepts it (state 0 boundary, 8 invalid)."""
    t = np.full((9, 256), _U8_INVALID, dtype=np.int64)
    t[0, :0x80] = 0
    t[0, 0xC2:0xE0] = 1
    t[0, 0xE1:0xF0] = 2
    t[0, 0xF1:0xF4] = 3
    t[0, [0xE0, 0xED, 0xF0, 0xF4]] = [4, 5, 6, 7]
    for state, lo, hi, nxt in (
        (1, 0x80, 0xC0, 0),
        (2, 0x80, 0xC0, 1),
        (3, 0x80, 0xC0, 2),
        (4, 0xA0, 0xC0, 1),
        (5, 0x80, 0xA0, 1),
        (6, 0x90, 0xC0, 2),
        (7, 0x80, 0x90, 2),
    ):
        t[state, lo:hi] = nxt
    t.setflags(write=False)
    return t


class _ByteRuns:
    """The run states a ``ByteFallback`` table adds to a DFA, and the lifted token classes."""

    # A run of <0xNN> tokens decodes to its bytes if valid UTF-8, else one U+FFFD per byte, known
    # only at its end. A run state is (sv, sf, u): the DFA state after its bytes (-1 once invalid),
    # after one U+FFFD per byte, and the UTF-8 validator's; the end resolves to sv at a boundary,
    # else sf. Key: ((sv + 1) * S + sf) * 9 + u.

    def __init__(self, trans: np.ndarray, dead: int, first: int, strip_first: int):
        self.trans = trans  # (S, 256) int64
        self.s = trans.shape[0]
        self.dead = dead
        self.first = first  # the start state behind "nothing emitted yet", or -1
        self.strip_first = strip_first
        f = np.arange(self.s)
        for b in FFFD_UTF8:
            f = trans[f, b]
        self.fffd = f  # (S,): the state after one U+FFFD

    # -- keys -------------------------------------------------------------------------------

    def _key(self, sv: np.ndarray, sf: np.ndarray, u: np.ndarray) -> np.ndarray:
        sv = np.where(u == _U8_INVALID, -1, sv)
        key = ((sv + 1) * self.s + sf) * 9 + u
        if self.dead >= 0:  # both outcomes dead: the run is dead whatever follows
            gone = (sf == self.dead) & ((u == _U8_INVALID) | (sv == self.dead))
            key = np.where(gone, _DEAD_KEY, key)
        return key

    def _unkey(self, key: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        return key // (9 * self.s) - 1, (key // 9) % self.s, key % 9

    def _step(self, sv: np.ndarray, sf: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Keys after one more byte ``b`` (arrays broadcast)."""
        u2 = _utf8_validator()[u, b]
        sv2 = np.where(u2 == _U8_INVALID, -1, self.trans[np.maximum(sv, 0), b])
        return self._key(sv2, self.fffd[sf], u2)

    def _entries(self, byte_vals: np.ndarray) -> np.ndarray:
        """(S (+1), nb) keys: a run opened by each byte from each plain state (then "nothing yet")."""
        plain = np.arange(self.s, dtype=np.int64)[:, None]
        keys = self._step(plain, plain, np.zeros_like(plain), byte_vals[None, :])
        if self.first < 0:
            return keys
        s0 = self.first
        u = _utf8_validator()[_U8_BOUNDARY, byte_vals]
        # A valid first run loses the byte the decoder strips (Strip is applied to the fused text).
        sv = np.where(byte_vals == self.strip_first, s0, self.trans[s0, byte_vals])
        first = self._key(sv, np.full_like(sv, self.fffd[s0]), u)
        return np.concatenate([keys, first[None, :]], axis=0)

    def _explore(self, entries: np.ndarray, byte_vals: np.ndarray) -> Optional[np.ndarray]:
        """Sorted keys of the run states reachable from the entries; None past :data:`MAX_RUN_STATES`."""
        known = np.unique(entries[entries != _DEAD_KEY])
        frontier = known
        while frontier.size:
            if known.size > MAX_RUN_STATES:
                return None
            sv, sf, u = self._unkey(frontier)
            nxt = np.unique(self._step(sv[:, None], sf[:, None], u[:, None], byte_vals[None, :]))
            frontier = np.setdiff1d(nxt[nxt != _DEAD_KEY], known, assume_unique=True)
            known = np.union1d(known, frontier)
        return known

    # -- lifting ----------------------------------------------------------------------------

    def lift(
        self, sig: np.ndarray, table: TokenTable, accept: np.ndarray
    ) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Token classes over plain, "nothing yet" and run states.

        ``sig`` (V', S') holds each id's successor from every plain state as if no id were a byte
        token (V' = V, +1 with the mask id). Returns ``(class_ids (V',) int32, transitions (S'', C)
        int32, accept (S'',) bool)`` with the run states after ``[0, S')``, or None past
        :data:`MAX_RUN_STATES`.
        """
        n_ids, cols = sig.shape
        fb = np.full(n_ids, NOT_A_BYTE, dtype=np.int64)
        fb[: table.vocab_size] = table.fallback
        empty = np.ones(n_ids, dtype=bool)  # the mask id (if any) emits nothing
        empty[: table.vocab_size] = table.lengths == 0
        text, byte_ids = np.flatnonzero(fb == NOT_A_BYTE), np.flatnonzero(fb != NOT_A_BYTE)
        byte_vals, byte_cls = self._byte_classes(fb[byte_ids])
        entries = self._entries(byte_vals)
        keys = self._explore(entries, byte_vals)
        if keys is None:
            return None
        # A text id acts on plain states as `sig` says; on a run it ends the run first,
        # unless it emits nothing (then it leaves the run as it is).
        plain_cls, _ = group_rows(sig)
        _, first, text_cls = np.unique(
            plain_cls[text].astype(np.int64) * 2 + empty[text], return_index=True, return_inverse=True
        )
        text_cls, text_reps = text_cls.reshape(-1), first
        sv, sf, u = self._unkey(keys)
        resolved = np.where(u == _U8_BOUNDARY, sv, sf)  # (R,)
        after = self._step(sv[:, None], sf[:, None], u[:, None], byte_vals[None, :])
        live = self._hopeful(keys, after, resolved)
        index = self._indexer(keys[live], cols)
        reps = text[text_reps]
        on_runs = np.where(empty[reps][None, :], index(keys[live])[:, None], sig[reps][:, resolved[live]].T)
        trans = np.concatenate(
            [
                np.concatenate([sig[reps].T, on_runs], axis=0),  # text classes
                index(np.concatenate([entries, after[live]], axis=0)),
            ],
            axis=1,
        )  # byte classes
        acc = np.concatenate([accept, accept[resolved[live]]])
        cls, col_reps = group_rows(trans.T)
        class_ids = np.empty(n_ids, dtype=np.int32)
        class_ids[text] = cls[text_cls]
        class_ids[byte_ids] = cls[text_reps.size + byte_cls]
        return class_ids, np.ascontiguousarray(trans[:, col_reps], dtype=np.int32), np.ascontiguousarray(acc)

    def _byte_classes(self, vals: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Byte values alike on the DFA, the validator and the strip rule: ``(representatives, class of each)``."""
        sig = np.concatenate(
            [self.trans[:, vals], _utf8_validator()[:, vals], (vals == self.strip_first)[None, :]], axis=0
        ).T
        cls, reps = group_rows(sig.astype(np.int64))
        return vals[reps], cls.astype(np.int64)

    def _hopeful(self, keys: np.ndarray, after: np.ndarray, resolved: np.ndarray) -> np.ndarray:
        """(R,) bool: run states from which acceptance is still reachable."""
        # A run state can be hopeless while neither outcome is dead yet; first_dead must see it.
        if self.dead < 0:
            return np.ones(keys.size, dtype=bool)
        # Hopeful iff some state it reaches over run bytes resolves to a live state (the byte
        # DFA is minimal, so only its dead state cannot reach acceptance).
        target = np.searchsorted(keys, after)
        target[after == _DEAD_KEY] = keys.size  # a sink outside the run states
        return _coreachable(target, resolved != self.dead)

    def _indexer(self, keys: np.ndarray, base: int):
        """Maps run keys to state indices (``base`` + rank); dead and dropped keys to ``dead``."""

        def index(k: np.ndarray) -> np.ndarray:
            pos = np.minimum(np.searchsorted(keys, k), max(keys.size - 1, 0))
            hit = (keys[pos] == k) if keys.size else np.zeros(k.shape, dtype=bool)
            return np.where(hit, base + pos, self.dead)

        return index


def _coreachable(succ: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """(R,) bool: nodes from which a seed is reachable over ``r -> succ[r, j]`` (R in ``succ``: a sink)."""
    r, n = succ.shape
    dst = succ.ravel()
    order = np.argsort(dst, kind='stable')
    src = order // n
    ptr = np.searchsorted(dst[order], np.arange(r + 1))
    live = np.asarray(seeds, dtype=bool).copy()
    frontier = np.flatnonzero(live)
    while frontier.size:
        lens = ptr[frontier + 1] - ptr[frontier]
        offsets = np.repeat(ptr[frontier] - (np.cumsum(lens) - lens), lens)
        preds = np.unique(src[np.arange(int(lens.sum())) + offsets])
        frontier = preds[~live[preds]]
        live[frontier] = True
    return live


def _longer_than(lengths: np.ndarray, lmax: int) -> np.ndarray:
    """(lmax,) int64: how many tokens are longer than p, for p = 0 .. lmax - 1."""
    counts = np.bincount(lengths, minlength=lmax + 1)
    return lengths.size - np.cumsum(counts)[:lmax]
