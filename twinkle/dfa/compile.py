"""Python regex -> minimal :class:`~twinkle.dfa.automaton.ByteDFA` over UTF-8 bytes.

Pipeline:

1. :mod:`twinkle.dfa.regex` parses the pattern; :mod:`twinkle.dfa.charset` gives every
   character atom its exact code-point set (Python's Unicode ``\\d \\w \\s``, IGNORECASE rules).
2. The code points are split into the coarsest classes no atom distinguishes, so everything after
   this step works on a few dozen symbols instead of 0x110000.
3. A Thompson NFA over those classes, with zero-width assertions as edges, is determinized by the
   subset construction and minimized (code-point DFA).
4. The code-point DFA is composed with a deterministic UTF-8 decoding automaton and minimized
   again, giving the byte DFA.

Anchors. ``\\A`` and ``^`` look back one character, ``$``, ``\\Z`` and (part of) ``\\b``/``\\B``
look ahead. Look-behind is resolved while building the subset (the DFA state knows what the last
character was); look-ahead becomes a *constraint* carried by the NFA thread: a predicate on the
rest of the input that depends on at most its next two characters and on where it ends (Python's
``$`` matches at the end or before a final ``'\\n'``). Constraints are kept as 13-bit truth tables
over the possible futures, so conjunction is ``&`` and reading a character is a table shift.
``search`` and ``match`` modes add a "done" thread that only has to satisfy its constraint.

Invalid UTF-8 (``encoding_errors='replace'``, the only mode). The DFA accepts ``data`` iff
``re.<mode>(pattern, data.decode('utf-8', 'replace'), flags)`` matches, for every byte string.
CPython's decoder replaces each *maximal subpart* of an ill-formed sequence with one U+FFFD
(Unicode 15, section 3.9): a byte that cannot start a sequence (80..C1, F5..FF) is one U+FFFD;
a valid prefix of a sequence (E2 82, or F0 9F 98) followed by a byte that cannot continue it is one
U+FFFD, and that byte is then decoded afresh; a valid prefix cut off by the end of the input is
one U+FFFD. Overlong forms (C0 AF, E0 80 AF), surrogates (ED A0 80) and values above U+10FFFF
(F4 90 ...) fail at the first byte that rules them out, exactly like CPython. The decoding
automaton's states are the pending prefixes, grouped by what their completions can lead to, and
the acceptance of a state with a pending prefix is that of its state after one U+FFFD.

Agreement with ``re``. The character sets (``\\d \\w \\s``, case folding) are taken from the
running interpreter's own ``re`` tables, and CPython's IGNORECASE quirks are reproduced (see
:mod:`twinkle.dfa.charset`), so there is no known input on which the DFA and ``re`` disagree
within the supported syntax and flags; the differential tests compare hundreds of thousands of
cases with zero mismatches. The remaining differences are by design: constructs beyond regular
languages raise :class:`~twinkle.dfa.regex.UnsupportedRegexError`, and automata larger than
``max_states`` raise :class:`~twinkle.dfa.automaton.StateLimitError` where ``re`` would run
(possibly in exponential time).

Cost: compilation is dominated by numpy work on the composed byte automaton (typically
0.02-0.3 s for format patterns, plus about 0.2 s once per process to gather the Unicode tables;
results are cached per (pattern, flags, mode)). Long counted repeats are the expensive case:
``.{0,1000}`` unrolls into thousands of states and takes seconds, and under ``search`` a
bounded repeat can need exponentially many states (then ``StateLimitError``). Running a DFA
reads each byte once, so inputs that make backtracking engines explode (``(a+)+$`` on a long
run of ``a``) take linear time.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from . import charset as cs
from .automaton import ByteDFA, StateLimitError, _group_rows, _minimize
from .regex import (FLAG_I, FLAG_M, FLAG_S, INF, Branch, Group, Repeat, check_flags,
                    parse)

__all__ = ["compile_regex"]

_MODES = ("search", "match", "fullmatch")
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
C_END = _sig(lambda s, e: not s)                                  # \Z
C_DOLLAR = _sig(lambda s, e: not s or (s == (NL,) and e))         # $ : end or final '\n'
C_EOL = _sig(lambda s, e: not s or s[0] == NL)                    # $ with MULTILINE
C_WORD = _sig(lambda s, e: bool(s) and s[0] == W)                 # next is a word char
C_NONWORD = _sig(lambda s, e: not s or s[0] != W)                 # next is not a word char
C_NONWORD_STRICT = _sig(lambda s, e: bool(s) and s[0] != W)       # ... and exists


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
    if kind == "A":
        return NONE if ctx == START else 0
    if kind == "bol":
        return NONE if ctx in (START, NL) else 0
    if kind == "Z":
        return C_END
    if kind == "eol":
        return C_DOLLAR
    if kind == "eol_m":
        return C_EOL
    if kind == "b":
        return C_NONWORD if ctx == W else C_WORD
    if kind == "B":
        # Before Python 3.14, \B never matches in an empty string, hence the strict form at the
        # start (3.14 changed this; we follow the running interpreter).
        if ctx == START:
            return C_NONWORD if _B_MATCHES_EMPTY else C_NONWORD_STRICT
        return C_WORD if ctx == W else C_NONWORD
    raise AssertionError(kind)


# --- NFA -------------------------------------------------------------------------------------


class _NFA:
    """Thompson NFA: epsilon edges, assertion edges and edges labelled with atom ids."""

    def __init__(self):
        self.eps: list[list[int]] = []
        self.asserts: list[list[tuple[str, int]]] = []
        self.chars: list[list[tuple[int, int]]] = []
        self.atoms: list[np.ndarray] = []
        self.atom_ids: dict = {}
        self.assert_kinds: set[str] = set()

    def new(self) -> int:
        if len(self.eps) >= _MAX_NFA_STATES:
            raise StateLimitError(f"pattern expands to more than {_MAX_NFA_STATES} NFA states")
        self.eps.append([])
        self.asserts.append([])
        self.chars.append([])
        return len(self.eps) - 1

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
            if kind == "at":
                a = node[1]
                if a == "^":
                    a = "bol" if flags & FLAG_M else "A"
                elif a == "$":
                    a = "eol_m" if flags & FLAG_M else "eol"
                self.assert_kinds.add(a)
                s, e = self.new(), self.new()
                self.asserts[s].append((a, e))
                return s, e
            if kind == "lit" and not (ic and cs.is_cased(node[1])):
                # The common case, without building a mask: one code point.
                cp = node[1]
                aid = self.atom(("lit", cp, False), lambda: (np.array([cp]), np.array([cp + 1])))
            elif kind == "lit":
                aid = self.atom(("lit", node[1], ic), lambda: cs.literal_set(node[1], ic))
            elif kind == "notlit":
                aid = self.atom(("notlit", node[1], ic),
                                lambda: cs.literal_set(node[1], ic, negate=True))
            elif kind == "in":
                aid = self.atom(("in", node[1], node[2], ic),
                                lambda: cs.class_set(node[2], node[1], ic))
            elif kind == "any":
                dotall = bool(flags & FLAG_S)
                aid = self.atom(("any", dotall), lambda: cs.any_set(dotall))
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
            for _ in range(node.min):
                a, b = self.build_seq(node.seq, flags)
                self.eps[cur].append(a)
                cur = b
            if node.max == INF:
                a, b = self.build_seq(node.seq, flags)
                self.eps[cur].append(a)
                self.eps[b].append(cur)
                return start, cur
            end = self.new()
            for _ in range(node.max - node.min):
                self.eps[cur].append(end)
                a, b = self.build_seq(node.seq, flags)
                self.eps[cur].append(a)
                cur = b
            self.eps[cur].append(end)
            return start, end
        raise AssertionError(node)


# --- alphabet partition ----------------------------------------------------------------------


def _partition(sets: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Splits the code points into classes that no set distinguishes.

    Args:
        sets: code-point sets as ``(starts, ends)`` half-open intervals.

    Returns:
        ``(cls, member, rep)``: ``cls`` int32 (0x110000,) class of each code point, ``member``
        bool (n_sets, K) whether set i contains class k, ``rep`` (K,) one code point per class.
    """
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
            idx = np.searchsorted(st, seg_start, side="right") - 1
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


def _determinize(nfa: _NFA, start: int, final: int, mode: str, member: np.ndarray,
                 kinds: list[int], max_states: int) -> tuple[np.ndarray, np.ndarray]:
    """Subset construction over code-point classes.

    DFA states are frozensets of threads ``(nfa_state, constraint)`` after the epsilon closure,
    which is computed knowing the kind of the character just read (for look-behind).

    Returns:
        ``(trans, accept_at_end)``: int64 (S, K) and bool (S,); state 0 is the start.
    """
    K = member.shape[1]
    done_after_final = mode != "fullmatch"
    # Per NFA state and class: successor states (only states with character edges).
    step_cache: dict[int, list[list[int]]] = {}

    def steps(q: int) -> list[list[int]]:
        got = step_cache.get(q)
        if got is None:
            got = [[] for _ in range(K)]
            for aid, t in nfa.chars[q]:
                for k in np.flatnonzero(member[aid]).tolist():
                    got[k].append(t)
            step_cache[q] = got
        return got

    closure_cache: dict[tuple[int, int, int], frozenset] = {}

    def closure(q0: int, sig0: int, ctx: int) -> frozenset:
        key = (q0, sig0, ctx)
        got = closure_cache.get(key)
        if got is not None:
            return got
        seen = {(q0, sig0)}
        stack = [(q0, sig0)]
        out = set()
        while stack:
            q, sig = stack.pop()
            if q == final:
                out.add((_DONE if done_after_final else final, sig))
            if nfa.chars[q]:
                out.add((q, sig))
            for t in nfa.eps[q]:
                if (t, sig) not in seen:
                    seen.add((t, sig))
                    stack.append((t, sig))
            for kind, t in nfa.asserts[q]:
                s2 = sig & _assertion(kind, ctx)
                if s2 and (t, s2) not in seen:
                    seen.add((t, s2))
                    stack.append((t, s2))
        got = closure_cache[key] = frozenset(out)
        return got

    def normalize(threads: set) -> frozenset:
        if (_DONE, NONE) in threads:
            return frozenset({(_DONE, NONE)})  # accepts every continuation
        by_q: dict[int, list[int]] = {}
        for q, sig in threads:
            by_q.setdefault(q, []).append(sig)
        out = []
        for q, sigs in by_q.items():
            for s in sigs:
                # Drop a thread whose constraint implies another's on the same NFA state.
                if not any(t != s and s & t == s for t in sigs):
                    out.append((q, s))
        return frozenset(out)

    init = normalize(set(closure(start, NONE, START)))
    ids = {init: 0}
    states = [init]
    rows = []
    head = 0
    while head < len(states):
        cur = states[head]
        head += 1
        row = []
        for k in range(K):
            x = kinds[k]
            nxt: set = set()
            for q, sig in cur:
                s2 = _step_sig(sig, x)
                if not s2:
                    continue
                if q == _DONE:
                    nxt.add((_DONE, s2))
                    continue
                for t in steps(q)[k]:
                    nxt |= closure(t, s2, x)
            if mode == "search":
                nxt |= closure(start, NONE, x)
            key = normalize(nxt)
            got = ids.get(key)
            if got is None:
                got = len(states)
                if got >= max_states:
                    raise StateLimitError(
                        f"regex DFA exceeds max_states={max_states} code-point states")
                ids[key] = got
                states.append(key)
            row.append(got)
        rows.append(row)
    trans = np.asarray(rows, dtype=np.int64).reshape(len(states), K)
    accept = np.array([any(sig & 1 for q, sig in st if q in (_DONE, final)) for st in states],
                      dtype=bool)
    return trans, accept


# --- UTF-8 composition -----------------------------------------------------------------------


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)``, fast when most rows are constant.

    Most 64-code-point blocks lie inside one class, so constant rows are grouped by their value
    and only the mixed ones go through a (void-typed, memcmp) sort.
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    const = (rows == rows[:, :1]).all(axis=1)
    keys = np.empty(len(rows), dtype=np.int64)
    # Constant rows: key by value; mixed rows: key by unique void view, offset past the values.
    vals, const_inv = np.unique(rows[const, 0], return_inverse=True)
    keys[const] = const_inv.reshape(-1)
    mixed = rows[~const]
    if len(mixed):
        void = mixed.view(np.dtype((np.void, mixed.itemsize * mixed.shape[1]))).reshape(-1)
        _, mixed_inv = np.unique(void, return_inverse=True)
        keys[~const] = len(vals) + mixed_inv.reshape(-1)
    uniq_keys, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], inv.reshape(-1)


def _compose_utf8(trans: np.ndarray, accept: np.ndarray, cls: np.ndarray,
                  max_states: int) -> ByteDFA:
    """Composes a code-point DFA with CPython's UTF-8 decoder (errors='replace').

    A byte state is a code-point state ``q`` plus the decoder's pending prefix. Prefixes are
    grouped level by level by what their completions lead to: ``need1`` prefixes (one
    continuation byte missing) by the 64-code-point block they select, ``need2`` by the
    4096-block, ``need3`` by the lead byte. The groups are then specialised per ``q``: two
    prefixes whose every completion sends ``q`` to the same state are merged, which keeps the
    automaton handed to minimization close to minimal (a pattern with many CJK literals has
    many prefix groups, but each state cares about a few).
    """
    S = trans.shape[0]
    trans = trans.astype(np.int64)
    c_fffd = int(cls[0xFFFD])
    # Global groups. need1: rows of 64 classes, one per 64-block of code points (cp >> 6).
    g1_rows, g1 = _unique_rows(cls.reshape(-1, 64))
    # need2: per 4096-block (cp >> 12), the need1 group of each continuation byte; E0 and ED
    # forbid half of the continuations (overlong forms and surrogates), marked -1.
    r2 = g1.reshape(-1, 64).copy()
    r2[0, :32] = -1          # E0 80..9F: overlong
    r2[13, 32:] = -1         # ED A0..BF: surrogates
    g2_rows, g2 = _unique_rows(r2)
    # need3: per 4-byte lead F0..F4 (cp >> 18), the need2 group of each continuation byte.
    padded = np.full(5 * 64, -1, dtype=np.int64)
    padded[: len(g2)] = g2   # F4 90..BF: above U+10FFFF, -1 through the padding
    r3 = padded.reshape(5, 64).copy()
    r3[0, :16] = -1          # F0 80..8F: overlong
    g3_rows, g3 = _unique_rows(r3)

    if S * (len(g1_rows) + len(g2_rows) + len(g3_rows)) * 64 > 64 * (4 * max_states + 1_000_000):
        raise StateLimitError("byte DFA construction exceeds max_states")
    qcol = np.arange(S, dtype=np.int64)

    def specialise(targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-q ids of pending states with identical rows (S, G, 64) -> ids (S, G), reps."""
        G = targets.shape[1]
        keyed = np.concatenate([np.repeat(qcol, G)[:, None], targets.reshape(S * G, 64)], axis=1)
        ids = _group_rows(keyed)
        n = int(ids.max()) + 1 if len(ids) else 0
        first = np.zeros(n, dtype=np.int64)
        first[ids[::-1]] = np.arange(len(ids))[::-1]  # first row of each id
        return ids.reshape(S, G), first // G, first % G

    # Level 1 rows: the code-point state reached when the block completes.
    id1, q1, gg1 = specialise(trans[:, g1_rows])
    n_p1 = len(q1)
    off1 = S
    # Level 2 rows: the level-1 state reached, per continuation byte (-1: invalid).
    t2 = np.where(g2_rows[None] >= 0, off1 + id1[:, np.maximum(g2_rows, 0)], -1)
    id2, q2, gg2 = specialise(t2)
    n_p2 = len(q2)
    off2 = off1 + n_p1
    t3 = np.where(g3_rows[None] >= 0, off2 + id2[:, np.maximum(g3_rows, 0)], -1)
    id3, q3, gg3 = specialise(t3)
    off3 = off2 + n_p2
    total = off3 + len(q3)
    if total > 4 * max_states + 1_000_000:
        raise StateLimitError(f"byte DFA before minimization would need {total} states")

    # Root rows: what each byte does at a character boundary, for every code-point state.
    root = np.repeat(trans[:, [c_fffd]], 256, axis=1)  # invalid lead bytes: one U+FFFD each
    root[:, :0x80] = trans[:, cls[:0x80]]
    for lead in range(0xC2, 0xE0):
        root[:, lead] = off1 + id1[:, g1[lead & 0x1F]]
    for lead in range(0xE0, 0xF0):
        root[:, lead] = off2 + id2[:, g2[lead & 0x0F]]
    for lead in range(0xF0, 0xF5):
        root[:, lead] = off3 + id3[:, g3[lead & 0x07]]
    # A byte that cannot continue the pending prefix: emit U+FFFD, then decode it afresh.
    err = root[trans[:, c_fffd]]

    blocks = [root]
    b1 = err[q1]
    b1[:, 0x80:0xC0] = trans[q1[:, None], g1_rows[gg1]]
    blocks.append(b1)
    for qs, gs, rows in ((q2, gg2, t2), (q3, gg3, t3)):
        b = err[qs]
        tgt = rows[qs, gs]
        b[:, 0x80:0xC0] = np.where(tgt >= 0, tgt, b[:, 0x80:0xC0])
        blocks.append(b)
    full = np.concatenate(blocks, axis=0)
    acc_pending = accept[trans[:, c_fffd]]  # an unfinished sequence at the end is one U+FFFD
    full_acc = np.concatenate([accept, acc_pending[q1], acc_pending[q2], acc_pending[q3]])
    return ByteDFA.from_tables(full, full_acc, 0)


# --- public entry point ----------------------------------------------------------------------


def compile_regex(pattern: str, flags: int = 0, mode: str = "fullmatch", *,
                  encoding_errors: str = "replace", max_states: int = 100_000) -> ByteDFA:
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
        encoding_errors: how bytes are decoded; only ``'replace'`` (CPython's behaviour, see the
            module docstring) is implemented.
        max_states: limit on DFA states at any stage; exceeding it raises ``StateLimitError``.

    Returns:
        The minimal canonical :class:`ByteDFA`.

    Raises:
        UnsupportedRegexError: a construct or flag a DFA cannot express (the message names it
            and its position).
        RegexSyntaxError: a malformed pattern (with position). Both are ``ValueError``.
        StateLimitError: the automaton would exceed ``max_states``.

    >>> import re
    >>> fmt = compile_regex(r"<think>.*?</think>\\s*<answer>.*?</answer>", re.DOTALL)
    >>> fmt.accepts("<think>x</think>\\n<answer>42</answer>".encode())
    True
    >>> compile_regex(r"\\d+", mode="search").accepts("Σ ٣".encode())
    True
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if encoding_errors != "replace":
        raise ValueError(f"encoding_errors={encoding_errors!r} is not supported (only 'replace')")
    flags = int(flags)
    check_flags(flags)
    return _compile_cached(pattern, flags, mode, int(max_states))


@functools.lru_cache(maxsize=256)
def _compile_cached(pattern: str, flags: int, mode: str, max_states: int) -> ByteDFA:
    seq, global_flags = parse(pattern)
    flags |= global_flags
    nfa = _NFA()
    start, final = nfa.build_seq(seq, flags)
    sets = list(nfa.atoms)
    # Look-around needs to know newlines and word characters apart from the rest.
    if nfa.assert_kinds & {"bol", "eol", "eol_m"}:
        sets.append((np.array([10]), np.array([11])))
    if nfa.assert_kinds & {"b", "B"}:
        sets.append(cs.to_intervals(cs.category("w")))
    cls, member, rep = _partition(sets)
    if nfa.assert_kinds & {"b", "B"}:
        word = cs.category("w")
        kinds = [NL if cp == 10 else (W if word[cp] else O) for cp in rep.tolist()]
    else:
        # No word-boundary assertion: only newlines matter to the constraints.
        kinds = [NL if cp == 10 else O for cp in rep.tolist()]
    trans, accept = _determinize(nfa, start, final, mode, member, kinds, max_states)
    trans, accept = _minimize(trans, accept, 0)
    return _compose_utf8(trans.astype(np.int64), accept, cls, max_states)
