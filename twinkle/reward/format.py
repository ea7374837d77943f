"""Format rewards: regexes compiled to DFAs and scanned over bytes or token ids in one op.

Each reward is a ``torch.nn.Module`` and a :class:`twinkle.reward.Reward`. Called on
trajectories it checks the text of each last assistant message (NaN, an abstention, when that
content is not text) with :func:`twinkle.ops.dfa_scan` over the UTF-8 bytes. Given a
tokenizer, ``score_ids`` (also the module call) scans token ids without decoding, through
per-token class tables (:mod:`twinkle.dfa.tokens`) kept as buffers: ``.to(device)`` moves
them and the call traces under ``torch.compile(fullgraph=True)``.

A check means exactly ``re.<mode>(pattern, prefix + completion, flags)`` on the decoded text,
a lone surrogate read as U+FFFD.
"""

from __future__ import annotations

import codecs
import functools
import math
import numbers
import re
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from twinkle import _ext
from twinkle.dfa import tokens as _tokens
from twinkle.dfa.combinators import THINK_ANSWER_TAGS
from twinkle.dfa.literals import Factor, assertion_free, required_factors, run_then_factors, window_start
from twinkle.dfa.regex import RegexSyntaxError, UnsupportedRegexError
from twinkle.reward.base import (
    check_batch,
    check_token_inputs,
    last_completion,
    lengths_range_message,
    require_tokenizer,
)
from twinkle.reward.module import RewardModule

__all__ = [
    'FormatReward',
    'TagCountReward',
    'BoxedReward',
    'has_think_and_answer',
    'boxed_pattern',
    'BOXED_MAX_DEPTH',
]

_MODES = ('search', 'match', 'fullmatch')
_FLAGS_OK = re.DOTALL | re.IGNORECASE | re.MULTILINE | re.UNICODE
# Id dtypes the scanners read; other integer ids are widened to int64 first.
_DIRECT_DTYPES = (torch.int32, torch.int64)

#: Nesting depth of braces :class:`BoxedReward` accepts inside ``\\boxed{...}``.
BOXED_MAX_DEPTH = 8


# ---- compiled patterns, cached per (pattern, flags, mode) and per token table ---------------

# A pattern spec is a hashable tuple: ('regex', pattern, flags, mode), ('think_answer',),
# ('exactly_once', literal) or ('all_of', spec, spec, ...) (one DFA: the intersection).


@functools.lru_cache(maxsize=128)
def _pattern_dfa(spec: Tuple):
    """The byte DFA of a pattern spec."""
    from twinkle import dfa as _dfa

    kind = spec[0]
    if kind == 'think_answer':
        return _dfa.think_answer_format()
    if kind == 'exactly_once':
        return _dfa.exactly_once(spec[1])
    if kind == 'all_of':
        return _dfa.intersect_all([_pattern_dfa(s) for s in spec[1:]])
    _, pattern, flags, mode = spec
    return _dfa.compile_regex(pattern, flags, mode)


def _prefix_start(spec: Tuple, prefix: str) -> int:
    """The DFA state after the prefix (text, so a lone surrogate in it reads as U+FFFD)."""
    d = _pattern_dfa(spec)
    return d.advance(d.start, prefix.encode('utf-8', _SURROGATE_ERRORS)) if prefix else d.start


def _impossible(spec: Tuple, prefix: str) -> bool:
    """Whether no completion can match: the pattern matches nothing, or the prefix rules it out."""
    return _prefix_start(spec, prefix) == _pattern_dfa(spec).dead


@functools.lru_cache(maxsize=128)
def _pattern_classes(spec: Tuple, prefix: str, table: _tokens.TokenTable) -> _tokens.TokenClasses:
    """Token classes of a pattern for one table (the "per (pattern, tokenizer)" cache)."""
    return _tokens.token_classes(_pattern_dfa(spec), table, start=_prefix_start(spec, prefix), mask_id=True)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _check_flags(flags: Any, who: str) -> int:
    if not _is_int(flags):
        raise TypeError(
            f'{who}: flags must be an int such as re.DOTALL | re.IGNORECASE, got '
            f'{type(flags).__name__} {flags!r} (inline flags go in the pattern: "(?i)...")'
        )
    flags = int(flags)
    if flags & ~_FLAGS_OK:
        raise ValueError(
            f'{who}: unsupported regex flags {re.RegexFlag(flags & ~_FLAGS_OK)!r} (supported: '
            'DOTALL, IGNORECASE, MULTILINE)'
        )
    return flags


def _check_mode(mode: str, flags: int, who: str) -> None:
    """A regex's mode and flags (its pattern is a str: :func:`_check_patterns`)."""
    if mode not in _MODES:
        raise ValueError(f"{who}: mode must be 'search', 'match' or 'fullmatch', got {mode!r}")
    _check_flags(flags, who)


def _check_str_list(value: Any, arg: str, noun: str, who: str, expected: str, item: str) -> Tuple[str, ...]:
    """``value``, a non-empty list or tuple of str, as a tuple. Otherwise a TypeError or
    ValueError naming ``who``, the argument ``arg`` and the bad value; ``expected`` is what
    the argument may be, ``item`` what each entry must be, ``noun`` what one entry is."""
    if not isinstance(value, (list, tuple)):
        hint = f' (one {noun} goes in a list: {arg}=[...])' if isinstance(value, str) else ''
        raise TypeError(f'{who}: {arg} must be {expected}, got {type(value).__name__} {value!r}{hint}')
    if not value:
        raise ValueError(
            f'{who}: {arg} is an empty {type(value).__name__}: {arg} must hold at least one {noun}'
        )
    for i, x in enumerate(value):
        if not isinstance(x, str):
            raise TypeError(f'{who}: {arg}[{i}] must be {item}, got {type(x).__name__} {x!r}')
    return tuple(value)


def _check_patterns(pattern: Any, who: str) -> Union[None, str, Tuple[str, ...]]:
    """None, one str, or a non-empty tuple of str; anything else raises naming it."""
    if pattern is None or isinstance(pattern, str):
        return pattern
    return _check_str_list(pattern, 'pattern', 'pattern', who, 'a str, a list of str or None', 'a str')


def _stack(classes: Sequence[_tokens.TokenClasses]) -> Tuple[Tensor, ...]:
    """K patterns as (class_ids (K, V), tables (K, S, C), accept (K, S), starts (K,), dead (K,))."""
    k = len(classes)
    v = classes[0].class_ids.shape[0]
    s = max(c.num_states for c in classes)
    c_max = max(c.num_classes for c in classes)
    cls = np.zeros((k, v), dtype=np.int32)
    # Padding states and classes loop on themselves, so a dead state stays a sink (the CPU
    # op's unchecked fast path requires it) and no padding entry leaves its row.
    tab = np.repeat(np.arange(s, dtype=np.int32)[None, :, None], c_max, axis=2).repeat(k, axis=0)
    acc = np.zeros((k, s), dtype=bool)
    for j, tc in enumerate(classes):
        cls[j] = tc.class_ids
        tab[j, : tc.num_states, : tc.num_classes] = tc.transitions
        acc[j, : tc.num_states] = tc.accept
    starts = np.array([tc.start for tc in classes], dtype=np.int32)
    dead = np.array([tc.dead for tc in classes], dtype=np.int32)
    return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in (cls, tab, acc, starts, dead))


# ---- the string scanner's literal filter -------------------------------------------------

# Bytes common in model text: a pattern whose start state leaves on one of them steps
# through most of a text, so it gets the filter (csrc/cpu/dfa_strings.cpp, LiteralFilter)
# when it has factors; one that waits for `<` or `?` jumps between those already.
_FREQUENT_BYTES = tuple(b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n\\$.,(){}=-+*:^_')
_MIN_FACTOR = 3  # positions (the scanner's narrowest window)
_MAX_WINDOW = 4  # positions of a factor the scanner tests in one pass
_MAX_PATTERN_FACTORS = 8
_MAX_FACTORS = 64  # in one program

# Valid UTF-8 as a walk over bytes (no surrogates: the string scanner reads them as
# U+FFFD): from each step, (first byte, last byte, next step).
_UTF8_STEPS = {
    0: ((0x00, 0x7F, 0), (0xC2, 0xDF, 1), (0xE0, 0xE0, 4), (0xE1, 0xEC, 2), (0xED, 0xED, 5),
        (0xEE, 0xEF, 2), (0xF0, 0xF0, 6), (0xF1, 0xF3, 3), (0xF4, 0xF4, 7)),
    1: ((0x80, 0xBF, 0),),
    2: ((0x80, 0xBF, 1),),
    3: ((0x80, 0xBF, 2),),
    4: ((0xA0, 0xBF, 1),),
    5: ((0x80, 0x9F, 1),),
    6: ((0x90, 0xBF, 2),),
    7: ((0x80, 0x8F, 2),),
}  # fmt: skip


def _can_die(class_ids: np.ndarray, table: np.ndarray, start: int, dead: int) -> bool:
    """Whether some text (valid UTF-8) takes a byte DFA from ``start`` to ``dead``."""
    if dead < 0 or start == dead:
        return start == dead
    seen = np.zeros((table.shape[0], len(_UTF8_STEPS)), dtype=bool)
    seen[start, 0] = True
    frontier = {0: np.array([start])}
    while frontier:
        nxt: dict = {}
        for step, states in frontier.items():
            for lo, hi, to_step in _UTF8_STEPS[step]:
                to = np.unique(table[states][:, np.unique(class_ids[lo : hi + 1])])
                if (to == dead).any():
                    return True
                new = to[~seen[to, to_step]]
                if new.size:
                    seen[new, to_step] = True
                    nxt[to_step] = np.union1d(nxt.get(to_step, new), new)
        frontier = nxt
    return False


def _usable(factors: Optional[List[Factor]]) -> bool:
    return bool(factors) and len(factors) <= _MAX_PATTERN_FACTORS and min(map(len, factors)) >= _MIN_FACTOR


@functools.lru_cache(maxsize=256)
def _spec_factors(spec: Tuple) -> Optional[Tuple[Tuple[Factor, ...], Any]]:
    """Factors one of which every match of a pattern spec holds, and where matches start
    from them: True when every match starts with one, ``(ascii, high)`` (the class C as
    :func:`twinkle.dfa.literals.run_then_factors` gives it) when every match is a run of C
    and then one, else False. None when there are none the string scanner can use. The
    scanner scans a pattern of the first two kinds only from the first factor (or the run
    before it), so they are preferred, unless their factors are short where others are
    long: the longer a factor, the fewer texts hold it."""
    if spec[0] == 'regex':
        try:
            leading = required_factors(spec[1], spec[2], leading=True)
            run = run_then_factors(spec[1], spec[2])
            anywhere = required_factors(spec[1], spec[2])
        except (RegexSyntaxError, UnsupportedRegexError):
            return None
        shortest = min(map(len, anywhere)) if _usable(anywhere) else 0
        if _usable(leading) and min(map(len, leading)) >= min(shortest, 5):
            return tuple(leading), True
        if run is not None and _usable(run[2]) and min(map(len, run[2])) >= min(shortest, 5):
            return tuple(run[2]), run[:2]
        return (tuple(anywhere), False) if shortest else None
    if spec[0] == 'all_of':  # every part matches (not one match): any part's factors hold
        found = [x[0] for x in map(_spec_factors, spec[1:]) if x]
        best = max(found, key=lambda x: (min(map(len, x)), -len(x)), default=None)
        return (best, False) if best else None
    return None


def _surrogate_to_fffd(err: UnicodeError):
    if isinstance(err, UnicodeEncodeError):
        return b'\xef\xbf\xbd' * (err.end - err.start), err.end  # U+FFFD in UTF-8
    raise err


_SURROGATE_ERRORS = 'twinkle-surrogate-fffd'
codecs.register_error(_SURROGATE_ERRORS, _surrogate_to_fffd)


def _on_cpu(*tensors: Any) -> bool:
    """True when every argument is None or a CPU tensor (the direct id scanner's inputs)."""
    for t in tensors:  # a loop, not all() over a generator: this runs on every call
        # is_cpu: ~0.1 us, where t.device.type builds a device object (~0.8 us a tensor)
        if t is not None and not (isinstance(t, Tensor) and t.is_cpu):
            return False
    return True


@functools.lru_cache(maxsize=64)
def _fraction_lists(k: int) -> List[List[float]]:
    """``[[i / K for i = 0..K]]``: the table ``gather_lists`` reads one column's values from
    (the same float objects as :func:`_fractions`')."""
    return [_fractions(k)[1].tolist()]


@functools.lru_cache(maxsize=64)
def _fractions(k: int) -> Tuple[np.ndarray, np.ndarray]:
    """(ones (K,) int64, the Python floats i / K for i = 0..K as an object array)."""
    return np.ones(k, dtype=np.int64), np.array([i / k for i in range(k + 1)], dtype=object)


def _row_fractions(accepted: np.ndarray) -> List[float]:
    """Per row of a (B, K) bool array, the fraction of its K entries that are True.

    With K > 1, the same floats as ``(accepted.sum(axis=1, dtype=np.float64) / K).tolist()``
    (``i / K`` is one correctly rounded division either way), read from a table of the K + 1
    values: numpy's sum over short rows and a new float per row cost 150 us for 4096 rows of
    four, the table 57 us, and the library's ``gather_lists`` from it 9 us (one pattern)
    to 28 us (four).

    >>> _row_fractions(np.array([[True, False, True], [False, False, False]]))
    [0.6666666666666666, 0.0]
    """
    k = accepted.shape[1]
    scanner = _ext.loaded_scanner() if accepted.shape[0] > 1 and accepted.dtype == np.bool_ else None
    if scanner is not None:
        ones = _fractions(k)[0]
        counts = accepted.view(np.uint8) if k == 1 else (accepted.view(np.uint8) @ ones)[:, None]
        return scanner.gather_lists(np.ascontiguousarray(counts), _fraction_lists(k))[0]
    if k == 1:  # 0.7 us for one row, where the table's lookups take 1.7
        return accepted[:, 0].astype(np.float64).tolist()
    ones, values = _fractions(k)
    return values.take(accepted.view(np.uint8) @ ones).tolist()


def pad_texts(texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
    """UTF-8 bytes of ``texts`` padded into one tensor.

    Args:
        texts: B strings.

    Returns:
        ``(data, lengths)``: (B, Lmax) uint8 (zero padded) and (B,) int64 byte lengths.

    A lone surrogate (never produced by a tokenizer's decode) becomes U+FFFD, so it still
    counts as one character; a pattern that names a surrogate will not match it.

    >>> data, lengths = pad_texts(['ab', 'é'])
    >>> data.tolist(), lengths.tolist()
    ([[97, 98], [195, 169]], [2, 2])
    >>> pad_texts(['\\ud800'])[0].tolist()
    [[239, 191, 189]]
    """
    raw = [t.encode('utf-8', _SURROGATE_ERRORS) for t in texts]
    lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
    width = int(lengths.max()) if len(raw) else 0
    buf = bytearray(len(raw) * width)
    view = memoryview(buf)
    for i, r in enumerate(raw):  # one memcpy per text; the scan itself is one op
        view[i * width : i * width + len(r)] = r
    data = torch.frombuffer(buf, dtype=torch.uint8) if buf else torch.zeros(0, dtype=torch.uint8)
    return data.reshape(len(raw), width), torch.from_numpy(lengths)


class _DfaReward(RewardModule):
    """K byte-level DFAs with their byte tables and, given a tokenizer, their token tables.

    Subclasses set the patterns; the reward is the fraction of them a completion matches
    (1.0 or 0.0 for a single pattern).
    """

    def __init__(
        self,
        specs: Sequence[Tuple],
        *,
        tokenizer: Any = None,
        prefix: str = '',
        vocab_size: Optional[int] = None,
        check_ids: bool = True,
        name: Optional[str] = None,
    ):
        RewardModule.__init__(self, tokenizer=tokenizer, name=name)
        import twinkle.ops  # noqa: F401  (loads the op and its fake kernel before any trace)

        who = type(self).__name__
        if not isinstance(prefix, str):
            raise TypeError(f'{who}: prefix must be a str, got {type(prefix).__name__}')
        for spec in specs:
            for part in spec[1:] if spec[0] == 'all_of' else (spec,):
                if part[0] == 'regex':
                    _check_mode(part[3], part[2], who)
        self.specs = tuple(specs)
        self.prefix = prefix
        self.check_ids = bool(check_ids)
        # (K,) bool: patterns no completion can match; their first-dead position is 0.
        self.register_buffer(
            'impossible',
            torch.tensor([_impossible(s, prefix) for s in self.specs], dtype=torch.bool),
            persistent=False,
        )
        self._any_impossible = bool(self.impossible.any())
        # (1, K) pattern index, for reading a (B, K) table of states in one indexing op.
        self.register_buffer('_pattern_index', torch.arange(len(self.specs))[None, :], persistent=False)
        byte = _tokens.byte_table()
        self._register('byte', [_pattern_classes(s, prefix, byte) for s in self.specs])
        self.token_table: Optional[_tokens.TokenTable] = None
        if tokenizer is not None:
            self.token_table = _tokens.token_table(tokenizer, vocab_size)
            self._register('token', [_pattern_classes(s, prefix, self.token_table) for s in self.specs])

    def _register(self, kind: str, classes: List[_tokens.TokenClasses]) -> None:
        cls, tab, acc, starts, dead = _stack(classes)
        # The reward of each final state, (K, S + 2) float32: the two extra columns are NaN,
        # read by the op's error states -2 and -1 (negative indices count from the end).
        values = torch.cat([acc.to(torch.float32), torch.full((acc.shape[0], 2), math.nan)], 1)
        for name, t in (
            ('class_ids', cls),
            ('tables', tab),
            ('accept', acc),
            ('starts', starts),
            ('dead', dead),
            ('accept_values', values),
        ):
            self.register_buffer(f'{kind}_{name}', t, persistent=False)
        # The id the masked positions read: one past the table, decodes to nothing.
        setattr(self, f'_{kind}_mask_id', int(cls.shape[1]) - 1)

    # -- the reward: the fraction of the K patterns a completion matches -------------------

    def score_trajectories(self, trajectories: Any, ground_truths: Any = None) -> List[float]:
        """Per trajectory, the fraction of the K patterns its text matches: 1.0 / 0.0 with one
        pattern (NaN when the last assistant message is not text)."""
        texts, is_text = self._completions(trajectories, ground_truths)
        if not texts:
            return []
        acc = _row_fractions(self._string_acceptance(texts))
        if is_text is None:
            return acc
        return [a if ok else math.nan for a, ok in zip(acc, is_text)]

    def score_ids(
        self,
        input_ids: Tensor,
        lengths: Optional[Tensor] = None,
        ground_truths: Any = None,
        *,
        attention_mask: Optional[Tensor] = None,
    ) -> Tensor:
        """Scores completion token ids without decoding (also the module's ``forward``).

        Args:
            input_ids: (B, L) integer completion ids (no prompt).
            lengths: (B,) integer valid ids per row (right padding), each in ``[0, L]``,
                or None.
            ground_truths: not read (a format check needs none); accepted for the protocol.
            attention_mask: (B, L) 0/1 or bool (the shape of ``input_ids``), or None;
                masked positions are skipped wherever they are.

        Returns:
            (B,) float32 rewards on ``input_ids.device``: the fraction of the K patterns each
            row matches, 1.0 or 0.0 with one pattern (NaN for a row with an out-of-range id
            when ``check_ids`` is off).

        Raises:
            TypeError, ValueError: an argument of another dtype or shape than above, or
                (with ``check_ids``, a host sync) a length outside ``[0, L]`` or an id
                outside ``[0, V]``.

        Ids must lie in ``[0, V]``: ``V`` (the table size) is the id masked positions are
        rewritten to, and decodes to nothing; anything else outside raises (``check_ids``).
        """
        direct = self._scan_ids_direct(input_ids, attention_mask, lengths, row_means=True)
        if direct is not None:
            return torch.from_numpy(direct[0])
        accepted = self._scan_ids_op(input_ids, attention_mask, lengths)[0]
        return accepted[:, 0] if len(self.specs) == 1 else accepted.mean(dim=1)

    # -- scans ----------------------------------------------------------------------------

    def _scan(self, kind: str, ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """(final (B, K) int32, first_dead (B, K) int64) of every pattern on every row."""
        from twinkle import ops

        dev = ids.device
        final, first_dead = ops.dfa_scan(
            ids,
            lengths,
            *(self.buffer_on(f'{kind}_{n}', dev) for n in ('class_ids', 'tables', 'starts', 'dead')),
            check=self.check_ids,
        )
        if self._any_impossible:
            # A pattern no text can match was impossible before the first token, whatever the
            # row's length and whichever way the op scanned it (its start state is dead, and
            # the op reports no first step into it); rows the op flagged keep their position.
            first_dead = torch.where(
                self.buffer_on('impossible', dev).unsqueeze(0) & (final >= 0),
                torch.zeros_like(first_dead),
                first_dead,
            )
        return final, first_dead

    def _accepted(self, kind: str, final: Tensor) -> Tensor:
        """(B, K) float32 from final states: 1.0 accepted, 0.0 rejected, NaN for rows the scan flagged."""
        dev = final.device
        if (
            dev.type == 'cpu'
            and final.dtype == torch.int32
            and final.dim() == 2
            and not torch.compiler.is_compiling()
        ):
            scanner = _ext.string_scanner()
            if scanner is not None:  # ~1 ns an element, where torch's gather takes ~5
                return torch.from_numpy(self._host_accepted(scanner, kind, final.contiguous().numpy()))
        values = self.buffer_on(f'{kind}_accept_values', dev)
        if values.dtype != torch.float32:  # a module-wide .to(dtype) converted it
            values = values.float()
        return values[self.buffer_on('_pattern_index', dev), final]

    def _host_accepted(self, scanner: Any, kind: str, final: np.ndarray) -> np.ndarray:
        """(B, K) float32 from (B, K) int32 final states on the host, by the library's
        ``accept_values`` over the ``kind`` acceptance values. The values' float32 host
        array is kept until the buffer is replaced (``.to()`` and friends): a view of it
        where it is a CPU float32 tensor. No torch call, so one short text on the string
        path costs ~1 us here, where tensor views of its arrays took ~7."""
        t = self._buffers[f'{kind}_accept_values']
        kept = self.__dict__.setdefault('_host_accept', {})
        got = kept.get(kind)
        if got is None or got[0] is not t:
            got = kept[kind] = (t, t.detach().to('cpu', torch.float32).contiguous().numpy())
        out = np.empty(final.shape, dtype=np.float32)
        scanner.accept_values(got[1], final, out)
        return out

    def _token_inputs(
        self, input_ids: Tensor, attention_mask: Optional[Tensor], lengths: Optional[Tensor]
    ) -> Tuple[Tensor, Tensor]:
        who = self._who()
        if self.token_table is None:
            require_tokenizer(self, 'score_ids')
        check_token_inputs(input_ids, attention_mask, lengths, who, values=self.check_ids)
        b, l = input_ids.shape
        ids = input_ids if input_ids.dtype in _DIRECT_DTYPES else input_ids.to(torch.int64)
        if attention_mask is not None:
            # Masked positions read an id that decodes to nothing, so any padding layout
            # (left, right, holes) scans as the text of the unmasked ids.
            ids = torch.where(attention_mask.to(torch.bool), ids, torch.full_like(ids, self._token_mask_id))
        if lengths is None:
            lengths = torch.full((b,), l, dtype=torch.int64, device=input_ids.device)
        return ids, lengths.to(device=input_ids.device, dtype=torch.int64)

    def scan_ids(
        self, input_ids: Tensor, lengths: Optional[Tensor] = None, *, attention_mask: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor]:
        """Per-pattern acceptance and first-dead position for token ids (arguments as
        :meth:`score_ids`).

        Returns:
            ``(accepted, first_dead)``: (B, K) float32 (NaN where a row held a bad id and
            ``check_ids`` was off) and (B, K) int64 token indices (-1: never dead).
        """
        direct = self._scan_ids_direct(input_ids, attention_mask, lengths)
        if direct is not None:
            return torch.from_numpy(direct[0]), torch.from_numpy(direct[1])
        return self._scan_ids_op(input_ids, attention_mask, lengths)

    def _scan_ids_op(
        self, input_ids: Tensor, attention_mask: Optional[Tensor], lengths: Optional[Tensor]
    ) -> Tuple[Tensor, Tensor]:
        """:meth:`scan_ids` through the ``dfa_scan`` op (CUDA ids, ``torch.compile``, or no
        compiled library): ``(accepted, first_dead)``, (B, K) each, on the ids' device."""
        ids, lengths = self._token_inputs(input_ids, attention_mask, lengths)
        final, first_dead = self._scan('token', ids, lengths)
        return self._accepted('token', final), first_dead

    def _id_program(self) -> Optional[tuple]:
        """(scanner, program) of the direct CPU id scanner, built once; None without the library."""
        got = self.__dict__.get('_token_program')
        if got is None:
            scanner = _ext.string_scanner()
            got = False
            if scanner is not None:
                arrays = [
                    getattr(self, f'token_{n}').cpu().numpy()
                    for n in ('class_ids', 'tables', 'starts', 'dead')
                ]
                arrays.append(self.token_accept_values.cpu().float().numpy())
                got = (scanner, scanner.token_program(*arrays, self.impossible.cpu().numpy()))
            self.__dict__['_token_program'] = got
        return got or None

    def _scan_ids_direct(
        self,
        input_ids: Tensor,
        attention_mask: Optional[Tensor],
        lengths: Optional[Tensor],
        row_means: bool = False,
    ) -> Optional[Tuple[np.ndarray, Optional[np.ndarray]]]:
        """``(accepted, first_dead)``, (B, K) each, from the direct CPU id scanner, or None to
        take the op. ``row_means``: ``(means, None)`` instead, each row's mean over the K
        patterns as (B,) float32 (what :meth:`score_ids` returns), reduced in the scan's call."""
        if self.token_table is None:
            require_tokenizer(self, 'score_ids')
        if not _on_cpu(input_ids, lengths, attention_mask) or torch.compiler.is_compiling():
            return None  # the op path checks the inputs (once) and says what is wrong
        who = self._who()
        check_token_inputs(input_ids, attention_mask, lengths, who, values=False)
        if input_ids.dtype not in _DIRECT_DTYPES:
            input_ids = input_ids.to(torch.int64)  # int16, uint8 ...: ids all the same
        got = self._id_program()
        if got is None:
            return None
        scanner, prog = got
        # The tensors go to the scanner by address (a numpy view costs ~1 us apiece), each
        # C-contiguous and of the scanner's dtype, held by these locals through the call.
        if lengths is not None and (lengths.dtype != torch.int64 or not lengths.is_contiguous()):
            lengths = lengths.to(torch.int64).contiguous()
        if attention_mask is not None:
            m = attention_mask if attention_mask.dtype == torch.bool else attention_mask != 0
            attention_mask = m.contiguous()
        if not input_ids.is_contiguous():
            input_ids = input_ids.contiguous()
        b, width = input_ids.shape
        k = len(self.specs)
        accepted = np.empty(b if row_means else (b, k), dtype=np.float32)
        first_dead = None if row_means else np.empty((b, k), dtype=np.int64)
        low, high, err, row, pattern, pos = scanner.scan_ids(
            prog,
            (input_ids.data_ptr(), b, width, input_ids.element_size()),
            None if lengths is None else lengths.data_ptr(),
            None if attention_mask is None else attention_mask.data_ptr(),
            self._token_mask_id,
            accepted,
            first_dead,
        )
        if self.check_ids:
            if low < 0 or high > width:
                raise ValueError(lengths_range_message(who, width, low, high))
            if err:
                from twinkle.ops.dfa_scan import error_message

                raise ValueError(error_message(err, row, pattern, pos, self._token_mask_id + 1))
        return accepted, first_dead

    def _strings(self) -> Optional[tuple]:
        """The compiled string scanner's program and tables, built once; None without the library."""
        got = self.__dict__.get('_string_program')
        if got is None:
            scanner = _ext.string_scanner()
            if scanner is None:
                return None
            tables = [
                getattr(self, f'byte_{n}').cpu().numpy() for n in ('class_ids', 'tables', 'starts', 'dead')
            ]
            accept = self.byte_accept.cpu().numpy()
            prog = scanner.byte_program(*tables, -1, self._string_filter(*tables, accept))
            impossible = np.flatnonzero(self.impossible.cpu().numpy())
            got = (
                scanner,
                prog,
                accept,
                impossible if impossible.size else None,
            )
            self.__dict__['_string_program'] = got
        return got

    # The string scanner measures whether its literal filter pays (False: always use it).
    _filter_adapts = True

    def _string_filter(self, class_ids, tables, starts, dead, accept) -> Optional[tuple]:
        """The string scanner's literal filter, ``(factors, of_pattern, leading, adapts,
        attempts)`` as its ``byte_program`` takes it, or None when no pattern gets one.

        A pattern gets one when its start state leaves on a byte common in model text (so its
        scan would step through most of a text), every match holds one of a few factors of at
        least three positions (:func:`twinkle.dfa.literals.required_factors`), and no text
        can kill it: then a text without those factors is known not to match it, and never
        to kill it, without a scan. Where every match starts with one, the pattern is scanned
        from the first (less one unit, which its look-behind may read); where every match is
        a run of one class and then one, from the start of the run before the first; and
        where such a pattern is searched and holds no assertion, only around each factor, from
        there until its scan is back in its start state. Not with a ``prefix`` (a factor could
        straddle it). The scanner uses the filter where its calls
        measure it faster (always, when ``_filter_adapts`` is False); results are the same.
        """
        if self.prefix or len(self.specs) > 64:
            return None
        factors: dict = {}
        of_pattern: List[List[int]] = []
        leading: List[Any] = []
        attempts: List[bool] = []
        impossible = self.impossible.cpu().numpy()
        for j, spec in enumerate(self.specs):
            got = None if impossible[j] else _spec_factors(spec)
            start = int(starts[j])
            ok = (
                got is not None
                and not accept[j, start]
                and any(tables[j, start, class_ids[j, b]] != start for b in _FREQUENT_BYTES)
                and len(factors.keys() | set(got[0])) <= _MAX_FACTORS
                and not _can_die(class_ids[j, :256], tables[j], start, int(dead[j]))
            )
            of_pattern.append([factors.setdefault(f, len(factors)) for f in got[0]] if ok else [])
            lead = got[1] if ok else False
            # Scanned only around each factor hit (a search that may start anywhere).
            attempts.append(
                lead is not False
                and spec[0] == 'regex'
                and spec[3] == 'search'
                and assertion_free(spec[1], spec[2])
            )
            # A run's class as (low 64 ASCII bits, high 64, its ranges above ASCII).
            leading.append(
                (lead[0] & (2**64 - 1), lead[0] >> 64, lead[1]) if isinstance(lead, tuple) else lead
            )
        if not factors:
            return None
        listed = [(window_start(f, min(len(f), _MAX_WINDOW)), [sorted(p) for p in f]) for f in factors]
        return listed, of_pattern, leading, self._filter_adapts, attempts

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop('_string_program', None)  # C capsules: rebuilt on first use
        state.pop('_token_program', None)
        state.pop('_host_accept', None)  # views of buffers: made again on first use
        return state

    def _scan_strings(self, texts: List[str], exact: bool = True) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """(final, first_dead byte offsets), each (B, K), from the compiled string scanner, or None without it.

        ``exact=False`` lets the literal filter (:meth:`_string_filter`) skip a pattern on a
        text without its factors, or scan it from a later unit: the same acceptance and
        first-dead offsets, but such a pattern's final state is not the exact scan's (its
        start state, or where the later scan ended).
        """
        got = self._strings()
        if got is None:
            return None
        scanner, prog, accept, impossible = got
        final = np.empty((len(texts), accept.shape[0]), dtype=np.int32)
        first_dead = np.empty((len(texts), accept.shape[0]), dtype=np.int64)
        scanner.scan_strings(prog, texts, final, first_dead, not exact)
        if impossible is not None:  # as _scan: an impossible pattern is dead before byte 0
            first_dead[:, impossible] = 0
        return final, first_dead

    def _string_acceptance(self, texts: List[str]) -> np.ndarray:
        """(B, K) bool: which patterns accept each text (the string path, :meth:`score_trajectories`)."""
        got = self._scan_strings(texts, exact=False)
        if got is None:
            return self.scan_texts(texts)[0].cpu().numpy() == 1.0
        # The library's lookup, as _accepted's: ~1 ns an entry, where numpy's fancy index
        # took ~5 (0.32 ms for 4096 texts and sixteen patterns).
        return self._host_accepted(self._strings()[0], 'byte', got[0]) == 1.0

    def scan_texts(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Per-pattern acceptance of completion texts, in one call.

        Uses the compiled string scanner when loaded, else :func:`pad_texts` and the ``dfa_scan`` op;
        both give the same result.

        Returns:
            ``(accepted, first_dead)``: (B, K) float32 and (B, K) int64 byte offsets into
            each text's UTF-8 encoding (-1: never dead), on the reward's device.
        """
        texts = list(texts)
        got = self._scan_strings(texts, exact=False)
        dev = self.byte_tables.device
        if got is not None:
            final, first_dead = (torch.from_numpy(a).to(dev) for a in got)
            return self._accepted('byte', final), first_dead
        data, lengths = pad_texts(texts)
        final, first_dead = self._scan('byte', data.to(dev), lengths.to(dev))
        return self._accepted('byte', final), first_dead

    def _completions(self, trajectories: Any, ground_truths: Any) -> Tuple[List[str], Optional[List[bool]]]:
        """The completion texts, and per text whether it is text (None: all are)."""
        check_batch(trajectories, ground_truths, self._who(), need_ground_truths=False)
        items = trajectories if type(trajectories) is list else list(trajectories)
        # Bare strings (a batch of decoded completions, the common call) are their own texts:
        # a per-item loop here cost ~0.2 us a text, as much as scanning a short one, and even
        # set(map(type, items)) ~25-30 ns, a fifth of scanning 4096 real completions; the
        # compiled library tests them in ~2 ns.
        scanner = _ext.string_scanner()
        if scanner.all_str(items) if scanner is not None else set(map(type, items)) <= {str}:
            return items, None
        texts, is_text = [], []
        for t in items:
            c = last_completion(t)
            is_text.append(c is not None)
            texts.append(c if c is not None else '')
        return texts, is_text

    def _who(self) -> str:
        """The name error messages give the reward."""
        return type(self).__name__

    def extra_repr(self) -> str:
        tok = f', tokenizer={self.token_table!r}' if self.token_table is not None else ''
        pre = f', prefix={self.prefix!r}' if self.prefix else ''
        return f'patterns={len(self.specs)}{tok}{pre}'


class FormatReward(_DfaReward):
    """1.0 when the completion matches a regex, else 0.0; scanned as a DFA.

    Args:
        pattern: a Python regex (str); a list of regexes that must all match (one DFA,
            their intersection: the common two-search check is ``[r'<think>.*?</think>',
            r'<answer>.*?</answer>']`` with ``mode='search', flags=re.DOTALL``); or None
            for the strict think/answer format: ``<think>``, text, ``</think>``, optional
            whitespace, ``<answer>``, text, ``</answer>``, optional whitespace, each tag
            exactly once (then ``mode`` must be 'fullmatch' and ``flags`` 0).
        mode: 'search', 'match' or 'fullmatch', as the ``re`` function of that name.
        flags: an int, ``re.DOTALL``, ``re.IGNORECASE``, ``re.MULTILINE`` or their union
            (other flags: ValueError; a str such as ``'i'``: TypeError, inline ``(?i)``
            goes in the pattern).
        tokenizer: a Hugging Face fast tokenizer, to score token ids with ``score_ids``.
        prefix: text the prompt already ended with (a chat template that pre-fills
            ``<think>``): the check runs on ``prefix + completion``.
        vocab_size: ids the policy can emit, when more than the tokenizer has; ids from
            ``len(tokenizer)`` up to it decode to nothing, as in ``tokenizer.decode``.
            Fewer than the tokenizer has: ValueError.
        check_ids: raise on token ids outside the table (a host sync per call; never
            under ``torch.compile``, where such rows score NaN).
        name: the reward's name in logs.

    Raises:
        ValueError: a bad mode or flag, a construct a DFA cannot express (backreferences,
            lookaround; the message names it), a malformed pattern, or a ``vocab_size``
            below the tokenizer's.
        TypeError: a pattern that is not a str, a list of str or None; flags not an int.

    >>> r = FormatReward()
    >>> r(['<think>a</think>\\n<answer>4</answer>', '<answer>4</answer>',
    ...    '<think>a</think><think>b</think><answer>4</answer>'])
    [1.0, 0.0, 0.0]
    >>> FormatReward(r'\\d+', mode='search')([{'messages': [{'role': 'assistant', 'content': 'x=42'}]}])
    [1.0]
    >>> lenient = FormatReward([r'<think>.*?</think>', r'<answer>.*?</answer>'], mode='search', flags=re.DOTALL)
    >>> lenient(['<answer>1</answer> <think>x</think>', '<think>x</think>'])
    [1.0, 0.0]
    """

    def __init__(
        self,
        pattern: Union[None, str, Sequence[str]] = None,
        *,
        mode: str = 'fullmatch',
        flags: int = 0,
        tokenizer: Any = None,
        prefix: str = '',
        vocab_size: Optional[int] = None,
        check_ids: bool = True,
        name: Optional[str] = None,
    ):
        pattern = _check_patterns(pattern, 'FormatReward')
        flags = _check_flags(flags, 'FormatReward')
        if pattern is None and (mode != 'fullmatch' or flags != 0):
            raise ValueError(
                'FormatReward: the default think/answer pattern is a fullmatch without '
                f'flags; pass a pattern to use another mode or flags (got mode={mode!r}, '
                f'flags={re.RegexFlag(flags)!r})'
            )
        _check_mode(mode, flags, 'FormatReward')
        if pattern is None or isinstance(pattern, str):
            spec = ('think_answer',) if pattern is None else ('regex', pattern, flags, mode)
        else:
            spec = ('all_of',) + tuple(('regex', p, flags, mode) for p in pattern)
        super().__init__(
            [spec], tokenizer=tokenizer, prefix=prefix, vocab_size=vocab_size, check_ids=check_ids, name=name
        )
        self.pattern, self.mode, self.flags = pattern, mode, int(flags)

    def dead_positions(
        self, input_ids: Tensor, lengths: Optional[Tensor] = None, *, attention_mask: Optional[Tensor] = None
    ) -> Tensor:
        """(B,) int64: the token index at which the format became impossible, or -1.

        That token is the first whose text no continuation can repair (the DFA entered its dead
        state), where a trainer can put a penalty. It is 0 on every row when no completion can
        match at all (the pattern or ``prefix`` rules it out); in 'search' mode only then is a row
        ever impossible. Arguments as :meth:`score_ids`.
        """
        return self.scan_ids(input_ids, lengths, attention_mask=attention_mask)[1][:, 0]

    def first_invalid_position(self, texts: Sequence[str]) -> List[int]:
        """Per text, the index of the character after which no continuation can match, or -1.

        It is 0 for every text, the empty one included, when no completion can match at all (the
        pattern or ``prefix`` rules it out). It depends only on the text, never on the batch.

        >>> FormatReward().first_invalid_position(['<think>', '<thinx>', 'x'])
        [-1, 5, 0]
        >>> FormatReward(r'a\\Zb', mode='search').first_invalid_position(['', 'ab'])
        [0, 0]
        """
        _, first_dead = self.scan_texts(list(texts))
        out = []
        for text, pos in zip(texts, first_dead[:, 0].tolist()):
            if pos < 0:
                out.append(-1)
            else:  # the character holding byte `pos` (0 for an empty text: see above)
                head = text.encode('utf-8', _SURROGATE_ERRORS)[: pos + 1]
                out.append(max(len(head.decode('utf-8', 'replace')) - 1, 0))
        return out


def has_think_and_answer(trajectories: Any, ground_truths: Any = None) -> List[float]:
    """The common lenient format check, with Python ``re`` (a baseline).

    1.0 when both ``<think>.*?</think>`` and ``<answer>.*?</answer>`` are found (DOTALL).

    >>> has_think_and_answer(['<answer>1</answer> <think>x</think>'])
    [1.0]
    """
    out = []
    for t in trajectories:
        c = last_completion(t)
        if c is None:
            out.append(float('nan'))
            continue
        ok = re.search(r'<think>.*?</think>', c, re.DOTALL) and re.search(
            r'<answer>.*?</answer>', c, re.DOTALL
        )
        out.append(1.0 if ok else 0.0)
    return out


def _check_tags(tags: Any) -> Tuple[str, ...]:
    """A non-empty list or tuple of non-empty str tags without lone surrogates."""
    who = 'TagCountReward'
    tags = _check_str_list(tags, 'tags', 'tag', who, 'a list or tuple of str', 'a non-empty str')
    for i, t in enumerate(tags):
        if not t:
            raise ValueError(f"{who}: tags[{i}] must be a non-empty str, got ''")
        if any('\ud800' <= c <= '\udfff' for c in t):
            raise ValueError(
                f'{who}: tags[{i}] = {t!r} holds a lone surrogate, which no completion can '
                'contain (completions read it as U+FFFD)'
            )
    return tags


class TagCountReward(_DfaReward):
    """0.25 for each of ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` present exactly once.

    A tag counts at every position it starts at (as ``str.count``; tags cannot overlap themselves).

    Args:
        tags: a list or tuple of tags (default the four above); each found exactly once
            adds ``1 / len(tags)``. A bare str is not split into characters: TypeError.
        tokenizer, prefix, vocab_size, check_ids, name: as :class:`FormatReward`.

    >>> TagCountReward()(['<think>a</think><answer>1</answer>', '<think><think></answer>'])
    [1.0, 0.25]
    """

    def __init__(
        self,
        tags: Sequence[str] = THINK_ANSWER_TAGS,
        *,
        tokenizer: Any = None,
        prefix: str = '',
        vocab_size: Optional[int] = None,
        check_ids: bool = True,
        name: Optional[str] = None,
    ):
        tags = _check_tags(tags)
        specs = [('exactly_once', t) for t in tags]
        super().__init__(
            specs, tokenizer=tokenizer, prefix=prefix, vocab_size=vocab_size, check_ids=check_ids, name=name
        )
        self.tags = tags


def boxed_pattern(max_depth: int = BOXED_MAX_DEPTH) -> str:
    """A regex (search mode) for a complete ``\\boxed{...}`` with braces nested up to ``max_depth``.

    Balanced braces are not regular, so deeper nesting is not recognised (reward 0). Depth 1 is
    ``\\boxed{x}``; ``\\boxed{\\frac{a}{b}}`` needs depth 2.

    >>> bool(re.search(boxed_pattern(2), r'so \\boxed{\\frac{1}{2}}.'))
    True
    >>> bool(re.search(boxed_pattern(2), r'\\boxed{\\frac{1}{2}'))
    False
    """
    if not _is_int(max_depth):
        raise TypeError(
            f'boxed_pattern: max_depth must be an int >= 1, got {type(max_depth).__name__} {max_depth!r}'
        )
    if max_depth < 1:
        raise ValueError(f'boxed_pattern: max_depth must be >= 1, got {max_depth}')
    inner = '[^{}]*'
    for _ in range(max_depth - 1):
        inner = r'[^{}]*(?:\{' + inner + r'\}[^{}]*)*'
    return r'\\boxed\s*\{' + inner + r'\}'


class BoxedReward(_DfaReward):
    """1.0 when the completion holds a complete ``\\boxed{...}`` (braces balanced), else 0.0.

    Args:
        max_depth: deepest brace nesting recognised, counting the box's own braces
            (default 8; see :func:`boxed_pattern`).
        tokenizer, prefix, vocab_size, check_ids, name: as :class:`FormatReward`.

    >>> BoxedReward()([r'\\boxed{\\frac{1}{2}}', r'\\boxed{1', 'none'])
    [1.0, 0.0, 0.0]
    """

    def __init__(
        self,
        max_depth: int = BOXED_MAX_DEPTH,
        *,
        tokenizer: Any = None,
        prefix: str = '',
        vocab_size: Optional[int] = None,
        check_ids: bool = True,
        name: Optional[str] = None,
    ):
        super().__init__(
            [('regex', boxed_pattern(max_depth), 0, 'search')],
            tokenizer=tokenizer,
            prefix=prefix,
            vocab_size=vocab_size,
            check_ids=check_ids,
            name=name,
        )
        self.max_depth = int(max_depth)


# ---- several format rewards in one scan -------------------------------------------------------


def _scored_as_dfa(reward: Any) -> bool:
    """Whether ``reward`` is a format reward scored as every one is: per completion, the
    fraction of its patterns matched (a subclass that changes that is not)."""
    if not isinstance(reward, _DfaReward):
        return False
    cls = type(reward)
    return (
        all(getattr(cls, m) is getattr(_DfaReward, m) for m in ('score_trajectories', 'score_ids', 'forward'))
        and cls.__call__ is RewardModule.__call__
    )


def _fused_groups(
    rewards: Sequence[Any], label: str, names: Sequence[str]
) -> List[Tuple[List[int], _FusedChecks]]:
    """The format rewards among ``rewards`` that can scan together, as ``(their indices,
    their scan)`` per group of two or more: those scored as every format reward is, with one
    prefix, token table and ``check_ids``. ``label`` and ``names`` name the scan in errors."""
    groups: dict = {}
    for i, r in enumerate(rewards):
        if _scored_as_dfa(r):
            groups.setdefault((r.prefix, id(r.token_table), r.check_ids), []).append(i)
    out = []
    for idx in groups.values():
        if len(idx) >= 2:
            who = f'{label} (format parts {", ".join(repr(names[i]) for i in idx)})'
            out.append((idx, _FusedChecks([rewards[i] for i in idx], name=who)))
    return out


class _FusedChecks(_DfaReward):
    """Several format rewards scanned together: every completion is read once for the patterns
    of them all, and each reward's scores are the fraction of its own patterns matched, the
    floats its own call gives. :class:`~twinkle.reward.CombinedReward` builds one over its
    format parts that share a prefix, a token table and ``check_ids``.

    Args:
        rewards: two or more :class:`FormatReward`, :class:`TagCountReward` or
            :class:`BoxedReward` (or subclasses that score as they do), with the same
            ``prefix``, token table (tokenizer and ``vocab_size``) and ``check_ids``.
        name: the name error messages and logs give the scan.

    >>> fmt, tags = FormatReward(), TagCountReward()
    >>> both = _FusedChecks([fmt, tags])
    >>> texts = ['<think>a</think><answer>1</answer>', '<think><think></answer>']
    >>> both.part_scores(texts)
    [[1.0, 0.0], [1.0, 0.25]]
    >>> [fmt(texts), tags(texts)]
    [[1.0, 0.0], [1.0, 0.25]]
    """

    def __init__(self, rewards: Sequence[_DfaReward], *, name: Optional[str] = None):
        rewards = list(rewards)
        if len(rewards) < 2:
            raise ValueError(
                f'_FusedChecks: rewards must hold two or more format rewards, got {len(rewards)}'
            )
        for i, r in enumerate(rewards):
            if not _scored_as_dfa(r):
                raise TypeError(
                    f'_FusedChecks: rewards[{i}] is a {type(r).__name__}, not a format reward '
                    '(FormatReward, TagCountReward, BoxedReward) scored as the fraction of its patterns'
                )
        first = rewards[0]
        for i, r in enumerate(rewards[1:], 1):
            for what, a, b in (
                ('prefix', first.prefix, r.prefix),
                ('check_ids', first.check_ids, r.check_ids),
                ('token table', first.token_table, r.token_table),
            ):
                if a is not b and a != b:
                    raise ValueError(
                        f'_FusedChecks: rewards[{i}] has another {what} than rewards[0] '
                        f'({b!r} against {a!r}); only rewards that share it scan together'
                    )
        specs = [s for r in rewards for s in r.specs]
        super().__init__(specs, prefix=first.prefix, check_ids=first.check_ids, name=name)
        if first.token_table is not None:  # the parts' own table: the same ids, the same bytes
            self.tokenizer = first.tokenizer
            self.token_table = first.token_table
            self._register('token', [_pattern_classes(s, self.prefix, self.token_table) for s in self.specs])
        ends = np.cumsum([len(r.specs) for r in rewards]).tolist()
        #: Per reward, its patterns' columns [start, end) among the scan's.
        self.spans: List[Tuple[int, int]] = list(zip([0] + ends[:-1], ends))

    def _who(self) -> str:
        return self.name or type(self).__name__

    def part_values(
        self, trajectories: Any, ground_truths: Any = None, *, lists: bool = True
    ) -> List[Tuple[np.ndarray, Optional[List[float]]]]:
        """Per reward, its scores on ``trajectories`` from one scan of the texts, as (B,)
        float64 and as the list its own call returns (None without ``lists``): ``i / K``
        for i of its K patterns matched, NaN where the last assistant message is not text."""
        texts, is_text = self._completions(trajectories, ground_truths)
        if not texts:
            return [(np.zeros(0), [] if lists else None) for _ in self.spans]
        accepted = self._string_acceptance(texts)
        # Every part at once: its matched count per row (a sum over its columns), its values
        # as count / K (one correctly rounded division, as its own call makes), and its list
        # read from its K + 1 floats i / K: a few numpy calls for all parts, where the calls
        # per part cost ~60 us each at 4096 rows.
        starts, ks, tables = self._part_tables()
        if len(starts) == accepted.shape[1]:  # one pattern a part
            counts = np.ascontiguousarray(accepted).view(np.uint8)
        else:
            counts = np.add.reduceat(accepted.view(np.uint8), starts, axis=1, dtype=np.int64)
        values = np.empty((len(ks), len(texts)))  # (parts, B): each part's row contiguous
        np.divide(counts.T, ks[:, None], out=values)
        if is_text is not None:
            values[:, ~np.asarray(is_text, dtype=bool)] = math.nan
        if not lists:
            return [(v, None) for v in values]
        if is_text is not None:
            return list(zip(values, values.tolist()))
        # No float object per row to make, or to free when the lists go.
        scanner = _ext.string_scanner()
        if scanner is not None:
            got = scanner.gather_lists(counts, tables)
        else:
            got = [_fractions(b - a)[1].take(c).tolist() for (a, b), c in zip(self.spans, counts.T)]
        return list(zip(values, got))

    def _part_tables(self) -> Tuple[np.ndarray, np.ndarray, List[List[float]]]:
        """Per part: its first column, its K (float64), and the floats i / K for i = 0..K."""
        got = self.__dict__.get('_part_table')
        if got is None:
            ks = [b - a for a, b in self.spans]
            got = (
                np.array([a for a, _ in self.spans], dtype=np.intp),
                np.array(ks, dtype=np.float64),
                [_fraction_lists(k)[0] for k in ks],
            )
            self.__dict__['_part_table'] = got
        return got

    def part_scores(self, trajectories: Any, ground_truths: Any = None) -> List[List[float]]:
        """Per reward, its scores as its own call returns them, from one scan."""
        return [v for _, v in self.part_values(trajectories, ground_truths)]

    def part_scores_ids(
        self, input_ids: Tensor, lengths: Optional[Tensor] = None, *, attention_mask: Optional[Tensor] = None
    ) -> List[Tensor]:
        """Per reward, its ``score_ids`` on these ids ((B,) float32 each, as its own call returns
        them), from one scan."""
        direct = self._scan_ids_direct(input_ids, attention_mask, lengths)
        if direct is not None:  # as the scanner's row means: a float32 sum divided by K
            accepted = direct[0]
            return [
                torch.from_numpy(np.ascontiguousarray(accepted[:, a]))
                if b - a == 1
                else torch.from_numpy(accepted[:, a:b].sum(axis=1, dtype=np.float32) / np.float32(b - a))
                for a, b in self.spans
            ]
        accepted = self._scan_ids_op(input_ids, attention_mask, lengths)[0]
        return [accepted[:, a] if b - a == 1 else accepted[:, a:b].mean(dim=1) for a, b in self.spans]
