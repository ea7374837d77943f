"""Python regex -> minimal :class:`~twinkle.dfa.automaton.ByteDFA` over UTF-8 bytes.

Pipeline: parse (:mod:`twinkle.dfa.regex`) and give each character atom its exact code-point
set (:mod:`twinkle.dfa.charset`, from the running interpreter's ``re`` tables and IGNORECASE
rules); split the code points into the coarsest classes no atom distinguishes; build a
Thompson NFA with assertions as edges, determinize it with dominated threads pruned and
minimize; compose with CPython's UTF-8 decoder (errors='replace') straight into the minimal
byte DFA.

Look-behind (``^``, ``\\A``) is resolved while building subsets; look-ahead (``$``, ``\\Z``,
``\\b``) is a constraint on the next two characters and the end, a 13-bit truth table. Every
stage runs under a :class:`~twinkle.dfa.automaton.Budget`. Results are cached per (pattern,
flags, mode, limits), and running a DFA is linear in its input, even for patterns that make
backtracking engines explode (``(a+)+$``).
"""

from __future__ import annotations

import functools
import re
import sys

import numpy as np

from . import charset as cs
from .automaton import (
    DEFAULT_MAX_STATES,
    DEFAULT_MAX_WORK,
    Budget,
    ByteDFA,
    StateLimitError,
    _canonical,
    _coreachable,
    _minimize,
)
from .regex import FLAG_I, FLAG_M, FLAG_S, INF, Branch, Group, Repeat, check_flags, parse
from .rows import group_rows

__all__ = ['compile_regex']

_MODES = ('search', 'match', 'fullmatch')
_MAX_NFA_STATES = 500_000

# --- look-ahead constraints ------------------------------------------------------------------
# Symbols for what follows a position: a newline, a word character, any other character.
NL, W, O = 0, 1, 2
START = 3  # look-behind context at the beginning of the input


def _future_bit(seq: tuple, end: bool) -> int:
    """Bit index of a future: END (0), x END (1+x), x y ... (4+3x+y)."""
    if not seq:
        return 0
    if len(seq) == 1 and end:
        return 1 + seq[0]
    return 4 + 3 * seq[0] + seq[1]


def _sig(pred) -> int:
    """Truth table of ``pred(next_chars, ends_after_them)`` over the 13 futures."""
    bits = 0
    futures = [((), True)] + [((x,), True) for x in range(3)]
    futures += [((x, y), False) for x in range(3) for y in range(3)]
    for seq, end in futures:
        if pred(seq, end):
            bits |= 1 << _future_bit(seq, end)
    return bits


# All constraints we need are decided by the next two characters, so 13 bits describe each.
NONE = _sig(lambda s, e: True)
C_END = _sig(lambda s, e: not s)  # \Z
C_DOLLAR = _sig(lambda s, e: not s or (s == (NL,) and e))  # $ : end or final '\n'
C_EOL = _sig(lambda s, e: not s or s[0] == NL)  # $ with MULTILINE
C_WORD = _sig(lambda s, e: bool(s) and s[0] == W)  # next is a word char
C_NONWORD = _sig(lambda s, e: not s or s[0] != W)  # next is not a word char
C_NONWORD_STRICT = _sig(lambda s, e: bool(s) and s[0] != W)  # ... and exists


_B_MATCHES_EMPTY = sys.version_info >= (3, 14)


@functools.cache
def _step_sig(sig: int, x: int) -> int:
    """The constraint on the rest of the input after reading a character of kind ``x``."""
    out = 0
    if sig >> (1 + x) & 1:
        out |= 1  # END
    for y in range(3):
        b = sig >> (4 + 3 * x + y) & 1
        if b:
            # After two characters every constraint is decided, so 'x y ...' covers both
            # 'y END' and 'y z ...'.
            out |= 1 << (1 + y)
            out |= 0b111 << (4 + 3 * y)
    return out


def _assertion(kind: str, ctx: int) -> int:
    """Constraint added by a zero-width assertion given the previous character's kind (0: fails)."""
    if kind == 'A':
        return NONE if ctx == START else 0
    if kind == 'bol':
        return NONE if ctx in (START, NL) else 0
    if kind == 'Z':
        return C_END
    if kind == 'eol':
        return C_DOLLAR
    if kind == 'eol_m':
        return C_EOL
    if kind == 'b':
        return C_NONWORD if ctx == W else C_WORD
    if kind == 'B':
        # Before Python 3.14, \B never matches in an empty string, hence the strict form at the
        # start (3.14 changed this; we follow the running interpreter).
        if ctx == START:
            return C_NONWORD if _B_MATCHES_EMPTY else C_NONWORD_STRICT
        return C_WORD if ctx == W else C_NONWORD
    raise AssertionError(kind)


# --- NFA -------------------------------------------------------------------------------------


class _NFA:
    """Thompson NFA, counted repeats unrolled; ``key``/``vec`` place states for dominance pruning."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.eps: list[list[int]] = []
        self.asserts: list[list[tuple[str, int]]] = []
        self.chars: list[list[tuple[int, int]]] = []
        self.atoms: list[np.ndarray] = []
        self.atom_ids: dict = {}
        self.assert_kinds: set[str] = set()
        self.key: list[int] = []
        self.vec: list[tuple] = []
        self._keys: dict = {}
        self._repeat_ids: dict = {}
        # (repeat id, first state of the current copy, ((copy index, ordered), ...) outermost first)
        self._frame: tuple = (0, 0, ())

    def new(self) -> int:
        q = len(self.eps)
        if q >= _MAX_NFA_STATES:
            raise StateLimitError(
                f'{self.budget.what}: the pattern expands to more than {_MAX_NFA_STATES:,} NFA '
                'states (each count of a counted repeat is a copy of its body)'
            )
        self.eps.append([])
        self.asserts.append([])
        self.chars.append([])
        rid, first, levels = self._frame
        key = (rid, q - first, tuple(-1 if ordered else i for i, ordered in levels))
        self.key.append(self._keys.setdefault(key, len(self._keys)))
        self.vec.append(tuple(i if ordered else 0 for i, ordered in levels))
        return q

    def reserve(self, seq: list) -> None:
        """Charges the budget for ``seq`` before building it, so oversized unrolled repeats fail at once."""
        n = _nfa_size(seq)
        if n > _MAX_NFA_STATES:
            raise StateLimitError(
                f'{self.budget.what}: the pattern expands to {n:,} NFA states, more than '
                f'{_MAX_NFA_STATES:,} (each count of a counted repeat is a copy of its body)'
            )
        self.budget.spend(20 * n, 'NFA construction')

    def build_copy(self, node: Repeat, flags: int, index: int, ordered: bool) -> tuple[int, int]:
        """Copy ``index`` (1-based) of a repeat's body.

        ``ordered`` marks the optional copies (``index >= min`` of a bounded repeat): a position in a
        lower copy accepts a superset of what it accepts in a higher one, so the higher is dominated.
        """
        rid = self._repeat_ids.setdefault(id(node), len(self._repeat_ids) + 1)
        saved = self._frame
        self._frame = (rid, len(self.eps), saved[2] + ((index, ordered),))
        try:
            return self.build_seq(node.seq, flags)
        finally:
            self._frame = saved

    def atom(self, key, make) -> int:
        """Id of a character atom; its set is kept as intervals (a mask is 1.1 MB)."""
        got = self.atom_ids.get(key)
        if got is None:
            got = self.atom_ids[key] = len(self.atoms)
            val = make()
            self.atoms.append(cs.to_intervals(val) if isinstance(val, np.ndarray) else val)
        return got

    def build_seq(self, seq: list, flags: int) -> tuple[int, int]:
        start = cur = self.new()
        for node in seq:
            s, e = self.build(node, flags)
            self.eps[cur].append(s)
            cur = e
        return start, cur

    def build(self, node, flags: int) -> tuple[int, int]:
        ic = bool(flags & FLAG_I)
        if isinstance(node, tuple):
            kind = node[0]
            if kind == 'at':
                a = node[1]
                if a == '^':
                    a = 'bol' if flags & FLAG_M else 'A'
                elif a == '$':
                    a = 'eol_m' if flags & FLAG_M else 'eol'
                self.assert_kinds.add(a)
                s, e = self.new(), self.new()
                self.asserts[s].append((a, e))
                return s, e
            if kind == 'lit' and not (ic and cs.is_cased(node[1])):
                # The common case, without building a mask: one code point.
                cp = node[1]
                aid = self.atom(('lit', cp, False), lambda: (np.array([cp]), np.array([cp + 1])))
            elif kind == 'lit':
                aid = self.atom(('lit', node[1], ic), lambda: cs.literal_set(node[1], ic))
            elif kind == 'notlit':
                aid = self.atom(('notlit', node[1], ic), lambda: cs.literal_set(node[1], ic, negate=True))
            elif kind == 'in':
                aid = self.atom(('in', node[1], node[2], ic), lambda: cs.class_set(node[2], node[1], ic))
            elif kind == 'any':
                dotall = bool(flags & FLAG_S)
                aid = self.atom(('any', dotall), lambda: cs.any_set(dotall))
            else:
                raise AssertionError(node)
            s, e = self.new(), self.new()
            self.chars[s].append((aid, e))
            return s, e
        if isinstance(node, Group):
            return self.build_seq(node.seq, (flags | node.add_flags) & ~node.del_flags)
        if isinstance(node, Branch):
            s, e = self.new(), self.new()
            for alt in node.alts:
                a, b = self.build_seq(alt, flags)
                self.eps[s].append(a)
                self.eps[b].append(e)
            return s, e
        if isinstance(node, Repeat):
            start = cur = self.new()
            bounded = node.max != INF
            for i in range(1, node.min + 1):
                a, b = self.build_copy(node, flags, i, bounded and i == node.min)
                self.eps[cur].append(a)
                cur = b
            if not bounded:
                a, b = self.build_copy(node, flags, node.min + 1, False)
                self.eps[cur].append(a)
                self.eps[b].append(cur)
                return start, cur
            end = self.new()
            for i in range(node.min + 1, node.max + 1):
                self.eps[cur].append(end)
                a, b = self.build_copy(node, flags, i, True)
                self.eps[cur].append(a)
                cur = b
            self.eps[cur].append(end)
            return start, end
        raise AssertionError(node)

    def live_states(self, final: int, nonempty: np.ndarray) -> bytearray:
        """States from which ``final`` is reachable; threads anywhere else can never match."""
        n = len(self.eps)
        preds: list[list[int]] = [[] for _ in range(n)]
        for q in range(n):
            for t in self.eps[q]:
                preds[t].append(q)
            for _, t in self.asserts[q]:
                preds[t].append(q)
            for aid, t in self.chars[q]:
                if nonempty[aid]:
                    preds[t].append(q)
        live = bytearray(n)
        live[final] = 1
        stack = [final]
        while stack:
            for q in preds[stack.pop()]:
                if not live[q]:
                    live[q] = 1
                    stack.append(q)
        return live


def _nfa_size(seq: list) -> int:
    """The number of states :meth:`_NFA.build_seq` creates for ``seq``."""
    n = 1
    for node in seq:
        if isinstance(node, tuple):
            n += 2
        elif isinstance(node, Group):
            n += _nfa_size(node.seq)
        elif isinstance(node, Branch):
            n += 2 + sum(_nfa_size(alt) for alt in node.alts)
        else:  # Repeat
            body = _nfa_size(node.seq)
            copies = node.min + 1 if node.max == INF else node.max
            n += 1 + body * copies + (node.max != INF)
    return n


# --- alphabet partition ----------------------------------------------------------------------


def _partition(sets: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code-point classes no interval set splits: ``(cls (0x110000,), member (n_sets, K), rep (K,))``."""
    bounds = [np.array([0, cs.NUM_CPS])]
    for st, en in sets:
        bounds += [st, en]
    cuts = np.unique(np.concatenate(bounds))
    seg_start = cuts[:-1]
    if sets:
        # Membership of each segment's first code point, for every set at once.
        cols = []
        for st, en in sets:
            if len(st) == 0:  # an empty class such as [^\d\D]
                cols.append(np.zeros(len(seg_start), dtype=bool))
                continue
            idx = np.searchsorted(st, seg_start, side='right') - 1
            cols.append((idx >= 0) & (seg_start < en[np.maximum(idx, 0)]))
        sig = np.stack(cols, axis=1)
    else:
        sig = np.zeros((len(seg_start), 0), dtype=bool)
    packed = np.packbits(sig, axis=1) if sig.shape[1] else np.zeros((len(seg_start), 1), np.uint8)
    _, first, seg_cls = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    seg_cls = seg_cls.reshape(-1)
    cls = np.repeat(seg_cls.astype(np.int32), np.diff(cuts))
    member = sig[first].T if sets else np.zeros((0, len(first)), dtype=bool)
    return cls, np.ascontiguousarray(member), seg_start[first]


# --- subset construction ---------------------------------------------------------------------

_DONE = -1  # pseudo NFA state: matched already, only the constraint is left (match/search)
_DONE_KEY = -1  # its dominance key


def _determinize(
    nfa: _NFA, start: int, final: int, mode: str, member: np.ndarray, kinds: list[int], budget: Budget
) -> tuple[np.ndarray, np.ndarray]:
    """Subset construction with dominated threads pruned: ``(trans (S, K) int64, accept_at_end (S,))``."""
    # A DFA state is a set of threads (nfa_state, constraint). Keeping only its maximal threads
    # leaves its language unchanged and stops .*<think>.{0,100}</think> (search) from tracking
    # every <think> of the last 100 characters; threads that cannot reach `final` are dropped.
    threads = _ThreadTable(nfa, budget)
    moves = _ThreadMoves(nfa, threads, final, mode, member, kinds, budget)
    # Under search a match may begin at every character: its start closure joins every step.
    restart = [moves.closure(start, NONE, x) for x in kinds] if mode == 'search' else None
    init = threads.prune(set(moves.closure(start, NONE, START)))
    states, rows = _explore_subsets(init, restart, moves, threads, budget)
    trans = np.asarray(rows, dtype=np.int64).reshape(len(states), member.shape[1])
    accept = np.array([threads.accepts_at_end(st, final) for st in states], dtype=bool)
    return trans, accept


def _explore_subsets(
    init: frozenset, restart: list | None, moves: _ThreadMoves, threads: _ThreadTable, budget: Budget
) -> tuple[list[frozenset], list[list[int]]]:
    """BFS over the pruned thread sets from ``init``: ``(states, rows)``, successor ids per class."""
    K = len(moves.kinds)
    restart = restart or [()] * K
    step, prune = moves.step, threads.prune
    ids = {init: 0}
    states = [init]
    rows = []
    for cur in states:  # grows while it runs
        row = []
        work = K
        for k in range(K):
            nxt = step(cur, k, restart[k])
            work += len(cur) + len(nxt)
            key = prune(nxt)
            got = ids.get(key)
            if got is None:
                got = len(states)
                budget.check_states(got + 1, 'the code-point DFA (subset construction)')
                ids[key] = got
                states.append(key)
            row.append(got)
        rows.append(row)
        budget.spend(2 * work, 'subset construction')
    return states, rows


class _ThreadTable:
    """Interned threads ``(nfa_state, constraint)`` with their dominance ``key`` and ``vec``, and their pruning."""

    def __init__(self, nfa: _NFA, budget: Budget):
        self.nfa = nfa
        self.budget = budget
        self.q: list[int] = []
        self.sig: list[int] = []
        self.key: list[int] = []
        self.vec: list[tuple] = []
        self._ids: dict[tuple[int, int], int] = {}
        self.done_none = self.id(_DONE, NONE)  # accepts every continuation

    def id(self, q: int, sig: int) -> int:
        """The id of thread ``(q, sig)``, interned on first sight."""
        got = self._ids.get((q, sig))
        if got is None:
            got = self._ids[(q, sig)] = len(self.q)
            self.q.append(q)
            self.sig.append(sig)
            self.key.append(_DONE_KEY if q == _DONE else self.nfa.key[q])
            self.vec.append(() if q == _DONE else self.nfa.vec[q])
        return got

    def accepts_at_end(self, threads: frozenset, final: int) -> bool:
        """Whether the input may end here: a done or final thread allows the end."""
        return any(self.sig[t] & 1 for t in threads if self.q[t] in (_DONE, final))

    def prune(self, threads: set) -> frozenset:
        """The DFA state of ``threads``: its maximal threads, the dominated ones dropped."""
        if len(threads) < 2:
            return frozenset(threads)
        if self.done_none in threads:
            return frozenset((self.done_none,))
        keys = {self.key[t] for t in threads}
        if len(keys) == len(threads) and _DONE_KEY not in keys:
            return frozenset(threads)  # the common case: nothing to compare
        return frozenset(self._maximal(threads))

    def _maximal(self, threads: set) -> list[int]:
        """Threads that no other thread with their key, nor any done thread, dominates."""
        groups: dict[int, list[int]] = {}
        for t in threads:
            groups.setdefault(self.key[t], []).append(t)
        done = groups.get(_DONE_KEY)
        done_sigs = [self.sig[t] for t in done] if done else []
        out = []
        for key, ts in groups.items():
            if len(ts) > 1:
                ts = self._undominated(ts)
            if done_sigs and key != _DONE_KEY:
                # Done with constraint d accepts every continuation satisfying d.
                ts = [t for t in ts if not any(self.sig[t] & ~d == 0 for d in done_sigs)]
            out += ts
        return out

    def _undominated(self, ts: list[int]) -> list[int]:
        """The threads of ``ts`` (one key) that no other thread of ``ts`` dominates."""
        self.budget.spend(len(ts) * len(ts), 'dominance pruning')
        return [t for t in ts if not any(u != t and self.dominates(u, t) for u in ts)]

    def dominates(self, u: int, t: int) -> bool:
        """Whether ``u`` accepts every continuation ``t`` (same key) accepts: a weaker constraint, and
        a lower or equal copy at every ordered repeat level.
        """
        if self.sig[t] & ~self.sig[u]:
            return False
        return all(a <= b for a, b in zip(self.vec[u], self.vec[t]))


class _ThreadMoves:
    """Epsilon closures and per-class successors of threads, each computed once (live states only)."""

    def __init__(
        self,
        nfa: _NFA,
        threads: _ThreadTable,
        final: int,
        mode: str,
        member: np.ndarray,
        kinds: list[int],
        budget: Budget,
    ):
        self.nfa = nfa
        self.threads = threads
        self.final = final
        self.at_final = _DONE if mode != 'fullmatch' else final
        self.member = member
        self.kinds = kinds
        self.budget = budget
        self.live = nfa.live_states(final, member.any(axis=1))
        budget.spend(4 * len(self.live), 'NFA co-reachability')
        self._edges: dict[int, list[list[int]]] = {}
        self._closures: dict[tuple[int, int, int], tuple] = {}
        self._successors: list[dict[int, tuple]] = [{} for _ in kinds]

    def step(self, threads: frozenset, k: int, restart: tuple) -> set:
        """The threads (not yet pruned) after a class-``k`` character, plus ``restart``."""
        cache = self._successors[k]
        nxt = set(restart)
        for t in threads:
            got = cache.get(t)
            if got is None:
                got = cache[t] = self._successors_of(t, k)
            nxt.update(got)
        return nxt

    def _successors_of(self, t: int, k: int) -> tuple:
        """Thread ids after thread ``t`` reads a class-``k`` character (and its closure)."""
        q, sig = self.threads.q[t], self.threads.sig[t]
        x = self.kinds[k]
        s2 = _step_sig(sig, x)
        if not s2:
            return ()
        if q == _DONE:
            return (self.threads.id(_DONE, s2),)
        out: set = set()
        for t2 in self._char_edges(q)[k]:
            out.update(self.closure(t2, s2, x))
        return tuple(out)

    def _char_edges(self, q: int) -> list[list[int]]:
        """Per class, the live NFA states one character edge leads to from ``q``."""
        got = self._edges.get(q)
        if got is None:
            got = [[] for _ in self.kinds]
            for aid, t in self.nfa.chars[q]:
                if self.live[t]:
                    for k in np.flatnonzero(self.member[aid]).tolist():
                        got[k].append(t)
            self._edges[q] = got
        return got

    def closure(self, q0: int, sig0: int, ctx: int) -> tuple:
        """Thread ids reachable from ``(q0, sig0)`` without reading, after a ``ctx`` character."""
        key = (q0, sig0, ctx)
        got = self._closures.get(key)
        if got is None:
            got = self._closures[key] = self._closure(q0, sig0, ctx)
        return got

    def _closure(self, q0: int, sig0: int, ctx: int) -> tuple:
        """:meth:`closure`, uncached: a depth-first walk over epsilon and assertion edges."""
        nfa, live, intern = self.nfa, self.live, self.threads.id
        final, at_final = self.final, self.at_final
        seen = {(q0, sig0)}
        stack = [(q0, sig0)]
        out = set()
        while stack:
            q, sig = stack.pop()
            if q == final:
                out.add(intern(at_final, sig))
            if nfa.chars[q]:
                out.add(intern(q, sig))
            for t in nfa.eps[q]:
                if live[t] and (t, sig) not in seen:
                    seen.add((t, sig))
                    stack.append((t, sig))
            for kind, t in nfa.asserts[q]:
                s2 = sig & _assertion(kind, ctx)
                if s2 and live[t] and (t, s2) not in seen:
                    seen.add((t, s2))
                    stack.append((t, s2))
        self.budget.spend(4 * len(seen), 'epsilon closures')
        return tuple(out)


# --- UTF-8 composition -----------------------------------------------------------------------


def _compose_utf8(trans: np.ndarray, accept: np.ndarray, cls: np.ndarray, budget: Budget) -> ByteDFA:
    """The minimal byte DFA: a minimal code-point DFA composed with CPython's UTF-8 decoder."""
    # A pending state (q plus a valid multi-byte prefix) is its key: r = trans[q, U+FFFD] (where a
    # non-continuation byte or the end leaves it) and its 64 continuation targets. It can equal only
    # the boundary state r, else pending states are equivalent iff their keys are: hash-consing by
    # key gives the minimal DFA without refinement.
    S = trans.shape[0]
    trans = trans.astype(np.int64)
    fffd = trans[:, int(cls[0xFFFD])]
    (g1_rows, g1), (g2_rows, g2), (g3_rows, g3) = _utf8_groups(cls)
    pairs = S * (len(g1_rows) + len(g2_rows) + len(g3_rows))
    if pairs > 4 * budget.max_states + 1_000_000:
        raise StateLimitError(
            f'{budget.what}: the byte DFA would have to examine {pairs:,} pending UTF-8 states '
            f'({S:,} code-point states x {pairs // S} prefix groups), more than max_states='
            f'{budget.max_states:,} allows'
        )
    budget.spend(16 * pairs, 'UTF-8 composition')
    keys = _PendingKeys(S, fffd, budget)
    inv_cont = fffd[fffd]  # where an invalid continuation byte leads: f(r), r = fffd[q]

    def level(g_rows: np.ndarray, deeper) -> np.ndarray:
        """Ids (S, G) of the pending states (q, g) whose continuations lead to ``deeper``."""

        def targets(qs: np.ndarray, gs: np.ndarray) -> np.ndarray:
            rows = g_rows[gs]
            if deeper is None:
                return trans[qs[:, None], rows]
            valid = rows >= 0
            return np.where(valid, deeper[qs[:, None], np.maximum(rows, 0)], inv_cont[qs][:, None])

        return keys.intern(len(g_rows), targets)

    id1 = level(g1_rows, None)
    id2 = level(g2_rows, id1)
    id3 = level(g3_rows, id2)
    # Boundary rows: what each byte does at a character boundary. Continuation bytes and
    # invalid leads decode to one U+FFFD.
    root = np.repeat(fffd[:, None].astype(np.int32), 256, axis=1)
    root[:, :0x80] = trans[:, cls[:0x80]]
    root[:, 0xC2:0xE0] = id1[:, g1[np.arange(0xC2, 0xE0) & 0x1F]]
    root[:, 0xE0:0xF0] = id2[:, g2[np.arange(0xE0, 0xF0) & 0x0F]]
    root[:, 0xF0:0xF5] = id3[:, g3[np.arange(0xF0, 0xF5) & 0x07]]
    r, cont = keys.table()
    full = np.concatenate([root, root[r]], axis=0)
    full[S:, 0x80:0xC0] = cont
    full_acc = np.concatenate([accept, accept[r]])  # a cut-off sequence at the end is one U+FFFD
    cols = _first_byte_columns(cls, g1, g2, g3)
    full, full_acc, order = _canonical(full, full_acc, 0, cols, return_order=True)
    budget.check_states(len(full_acc), 'the byte DFA')
    dead = np.flatnonzero(~_coreachable(trans, accept))  # at most one: the DFA is minimal
    return ByteDFA._from_minimal(full, full_acc, int(order[dead[0]]) if len(dead) else -1)


def _utf8_groups(cls: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pending UTF-8 prefixes grouped by what they decode to: ``(rows (G, 64), group)`` per level."""
    # The int64 copy (9 MB) is deliberate: freeing it raises glibc's dynamic mmap threshold
    # above the 4.4 MB tables each compile allocates, which would otherwise be mapped afresh
    # and page-faulted every time.
    blocks = cls.reshape(-1, 64).astype(np.int64)
    g1, first1 = group_rows(blocks)
    # E0 and ED forbid half of the continuations (overlong forms and surrogates).
    r2 = g1.reshape(-1, 64).copy()
    r2[0, :32] = -1  # E0 80..9F: overlong
    r2[13, 32:] = -1  # ED A0..BF: surrogates
    g2, first2 = group_rows(r2)
    padded = np.full(5 * 64, -1, dtype=np.int64)
    padded[: len(g2)] = g2  # F4 90..BF: above U+10FFFF, -1 through the padding
    r3 = padded.reshape(5, 64).copy()
    r3[0, :16] = -1  # F0 80..8F: overlong
    g3, first3 = group_rows(r3)
    return [(blocks[first1], g1), (r2[first2], g2), (r3[first3], g3)]


def _first_byte_columns(cls: np.ndarray, g1: np.ndarray, g2: np.ndarray, g3: np.ndarray) -> np.ndarray:
    """Sorted first byte of each set of composed-table columns equal by construction (all :func:`_canonical` reads)."""
    kind = np.repeat(np.arange(6), [0x80, 0x40, 2, 0x1E, 0x10, 16])
    kind[0xF5:] = 2  # invalid leads, like C0 and C1
    value = np.concatenate(
        [
            cls[:0x80],
            np.arange(0x40),
            np.full(2, -1),
            g1[np.arange(0xC2, 0xE0) & 0x1F],
            g2[np.arange(0xE0, 0xF0) & 0x0F],
            g3[np.arange(0xF0, 0xF5) & 0x07],
            np.full(11, -1),
        ]
    )
    return np.sort(np.unique(np.stack([kind, value], axis=1), axis=0, return_index=True)[1])


class _PendingKeys:
    """The pending states of :func:`_compose_utf8`, hash-consed by key in slices (ids from ``S``)."""

    _SLICE = 1 << 15

    def __init__(self, n_boundary: int, fffd: np.ndarray, budget: Budget):
        self.n = n_boundary
        self.fffd = fffd
        self.budget = budget
        self.ids: dict[bytes, int] = {}
        self.rows: list[np.ndarray] = []

    def intern(self, n_groups: int, targets) -> np.ndarray:
        """Ids (S, G) of the pending states ``(q, g)``; ``targets(qs, gs)`` gives their rows."""
        S = self.n
        out = np.empty(S * n_groups, dtype=np.int64)
        for lo in range(0, S * n_groups, self._SLICE):
            flat = np.arange(lo, min(lo + self._SLICE, S * n_groups))
            qs, gs = flat // n_groups, flat % n_groups
            t = targets(qs, gs)
            r = self.fffd[qs]
            # Equivalent to the boundary state r: every continuation goes where r sends one.
            merged = (t == self.fffd[r][:, None]).all(axis=1)
            out[flat[merged]] = r[merged]
            rest = ~merged
            if rest.any():
                key = np.concatenate([r[rest, None], t[rest]], axis=1).astype(np.int32)
                out[flat[rest]] = self._lookup(key)
        return out.reshape(S, n_groups)

    def _lookup(self, key: np.ndarray) -> np.ndarray:
        void = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1] * 4))).reshape(-1)
        uniq, first, inv = np.unique(void, return_index=True, return_inverse=True)
        ids = np.empty(len(uniq), dtype=np.int64)
        for j, raw in enumerate(uniq.tolist()):
            got = self.ids.get(raw)
            if got is None:
                got = self.ids[raw] = self.n + len(self.rows)
                self.rows.append(key[first[j]])
            ids[j] = got
        self.budget.check_states(self.n + len(self.rows), 'the byte DFA (UTF-8 composition)')
        self.budget.spend(64 * len(uniq), 'UTF-8 composition')
        return ids[inv.reshape(-1)]

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(r (P,), continuation targets (P, 64))`` of the pending states, in id order."""
        if not self.rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 64), dtype=np.int64)
        rows = np.stack(self.rows)
        return rows[:, 0], rows[:, 1:]


# --- public entry point ----------------------------------------------------------------------


def compile_regex(
    pattern: str,
    flags: int = 0,
    mode: str = 'fullmatch',
    *,
    encoding_errors: str = 'replace',
    max_states: int = DEFAULT_MAX_STATES,
    max_work: int = DEFAULT_MAX_WORK,
) -> ByteDFA:
    """Compiles a Python regex to a minimal DFA over UTF-8 bytes.

    The DFA accepts ``data`` iff ``bool(re.<mode>(pattern, data.decode('utf-8', 'replace'),
    flags))``, for any byte string, valid UTF-8 or not.

    Args:
        pattern: a Python regex (str). Supported: literals and escapes, classes, ``.``,
            ``\\d \\w \\s \\D \\W \\S`` (Unicode), ``^ $ \\A \\Z \\b \\B``, groups of all capturing
            and non-capturing kinds, scoped and leading inline flags (``i m s``), alternation,
            greedy and lazy quantifiers, comments ``(?#...)``.
        flags: any combination of ``re.DOTALL``, ``re.IGNORECASE``, ``re.MULTILINE``
            (``re.UNICODE`` is accepted and changes nothing for str patterns).
        mode: ``'search'``, ``'match'`` or ``'fullmatch'``, as the ``re`` function of that name.
        encoding_errors: how bytes are decoded; only ``'replace'`` is implemented.
        max_states: limit on the states of the code-point DFA and of the byte DFA.
        max_work: budget of the whole construction in work units (counted, not timed).

    Returns:
        The minimal canonical :class:`ByteDFA`.

    Raises:
        UnsupportedRegexError: a construct or flag a DFA cannot express (the message names it
            and its position).
        RegexSyntaxError: a malformed pattern (with position). Both are ``ValueError``.
        StateLimitError: the automaton would exceed ``max_states`` or its construction
            ``max_work``; the message names the pattern, the limit and the stage.

    >>> import re
    >>> fmt = compile_regex(r"<think>.*?</think>\\s*<answer>.*?</answer>", re.DOTALL)
    >>> fmt.accepts("<think>x</think>\\n<answer>42</answer>".encode())
    True
    >>> compile_regex(r"\\d+", mode="search").accepts("Σ ٣".encode())
    True
    >>> compile_regex(r"<think>.{0,100}</think>", re.DOTALL, "search").num_states
    1980
    """
    if mode not in _MODES:
        raise ValueError(f'mode must be one of {_MODES}, got {mode!r}')
    if encoding_errors != 'replace':
        raise ValueError(f"encoding_errors={encoding_errors!r} is not supported (only 'replace')")
    if not isinstance(pattern, str):
        raise TypeError(f'compile_regex: pattern must be a str, got {type(pattern).__name__} {pattern!r}')
    if isinstance(flags, bool) or not isinstance(flags, int):
        raise TypeError(
            f'compile_regex: flags must be an int of re flags (re.DOTALL | '
            f"re.IGNORECASE; inline '(?i)' goes in the pattern), got "
            f'{type(flags).__name__} {flags!r}'
        )
    flags = int(flags)
    check_flags(flags)
    return _compile_cached(pattern, flags, mode, int(max_states), int(max_work))


def _describe(pattern: str, flags: int, mode: str) -> str:
    """How error messages name a compilation: the pattern (shortened past 120 characters)."""
    shown = pattern if len(pattern) <= 120 else pattern[:100] + ' ... ' + pattern[-15:]
    flag_text = f', flags={re.RegexFlag(flags)!r}' if flags else ''
    return f'compile_regex({shown!r}{flag_text}, mode={mode!r})'


@functools.lru_cache(maxsize=256)
def _compile_cached(pattern: str, flags: int, mode: str, max_states: int, max_work: int) -> ByteDFA:
    budget = Budget(_describe(pattern, flags, mode), max_states, max_work)
    seq, global_flags = parse(pattern)
    flags |= global_flags
    nfa = _NFA(budget)
    nfa.reserve(seq)
    start, final = nfa.build_seq(seq, flags)
    sets = list(nfa.atoms)
    # Look-around needs to know newlines and word characters apart from the rest.
    if nfa.assert_kinds & {'bol', 'eol', 'eol_m'}:
        sets.append((np.array([10]), np.array([11])))
    if nfa.assert_kinds & {'b', 'B'}:
        sets.append(cs.to_intervals(cs.category('w')))
    cls, member, rep = _partition(sets)
    if nfa.assert_kinds & {'b', 'B'}:
        word = cs.category('w')
        kinds = [NL if cp == 10 else (W if word[cp] else O) for cp in rep.tolist()]
    else:
        # No word-boundary assertion: only newlines matter to the constraints.
        kinds = [NL if cp == 10 else O for cp in rep.tolist()]
    trans, accept = _determinize(nfa, start, final, mode, member, kinds, budget)
    trans, accept = _minimize(trans, accept, 0, budget)
    return _compose_utf8(trans.astype(np.int64), accept, cls, budget)
