"""Token tables: the bytes each token id decodes to, and a DFA's token equivalence classes.

A :class:`TokenTable` holds, for every id ``0 <= id < V``, the bytes that
``tokenizer.batch_decode(ids, skip_special_tokens=True)`` emits for that id, so that the
decoded text of a sequence equals ``b''.join(bytes[id] for id in ids).decode('utf-8',
'replace')`` (:meth:`TokenTable.decode`, which also applies the first-token and
byte-fallback rules below). :func:`token_classes` then runs every token through a
:class:`ByteDFA` from every state at once (numpy, no Python loop over the vocabulary) and
groups tokens that act alike into classes: ``class_ids (V,) int32`` and ``transitions (S',
C) int32``. Only these tensors go to the scan op (``twinkle.ops.dfa_scan``).

What a token decodes to, by decoder (read from the tokenizer's own ``decoder`` config):

* ``ByteLevel`` (GPT-2, Qwen, Llama 3): each character of the token maps back through
  GPT-2's byte -> unicode table; a token with a character outside that table (an added
  token such as ``"<think>"`` written in plain text) is taken as its UTF-8 text, which is
  what the tokenizers library does. The whole sequence is then decoded as one UTF-8
  string with U+FFFD replacement, exactly as Python's ``decode('utf-8', 'replace')``
  does (both replace each maximal ill-formed subpart by one U+FFFD), so agreement is exact.
* SentencePiece with byte fallback (Llama 2, Mistral; the decoder chain
  ``Replace('▁', ' ')``, ``ByteFallback``, ``Fuse``, ``Strip(' ', 1, 0)``): ``'▁'`` becomes a
  space, a ``<0xNN>`` token is the single byte ``NN``, and one leading space of the whole
  decoded text is removed. That last rule is not a property of one token, so it lives in
  the DFA: :func:`token_classes` adds one state, "nothing emitted yet", whose transitions
  drop a leading space from the first non-empty token (see :attr:`TokenTable.strip_first`).
* ``Metaspace`` decoders (T5-style, and SentencePiece conversions with
  ``prepend_scheme='first'`` or ``'always'``): ``'▁'`` is a space, except in the first
  token the decoder sees, where every ``'▁'`` is dropped (``'▁a▁b'`` first decodes to
  ``'ab'``; checked against ``tokenizers``). The same extra state carries this rule, with
  the first token's bytes in :attr:`TokenTable.first_padded`.
* Special tokens (``skip_special_tokens=True``), and ids the tokenizer does not have (a
  model's embedding is often larger than its tokenizer) decode to ``b''``.
* ``ByteFallback`` (same decoders) decodes each maximal run of consecutive ``<0xNN>``
  tokens on its own (ids that decode to nothing, such as skipped special tokens, do not
  end a run): a run that is valid UTF-8 becomes its characters, any other run becomes one
  U+FFFD *per byte*, valid characters inside it included (``<0x80> <0x57>`` is two U+FFFD,
  not U+FFFD and ``W``). The table marks those ids (:attr:`TokenTable.fallback`) and
  :func:`token_classes` follows the rule exactly: inside a run the state is the DFA state
  if the run turns out valid, the DFA state after one U+FFFD per byte so far, and the
  UTF-8 validator's state; the run's end picks one. A ``Strip`` rule drops the leading
  space of a valid first run, never anything of an invalid one.

Where exact agreement is impossible (documented, and tested as documented):

* ``clean_up_tokenization_spaces=True`` (a Python-side rewrite of ``" ."`` to ``"."`` and
  the like, after decoding) is not modelled: the table matches decoding with it off, and
  building a table for a tokenizer that has it on logs a warning. Neither tokenizer used in
  the tests (Qwen3, Mistral v1) has it on.
* For the first-token rules, a token that decodes to nothing (a special token, an id past
  the tokenizer) leaves the rule for the next token, as in ``tokenizers``; a *non-special*
  token whose text is empty would, in ``tokenizers``' Metaspace decoder, use the rule up,
  and would end a byte-fallback run (no vocabulary we know has one).
* Decoders other than the ones above (WordPiece, CTC, BPE suffixes, regex ``Replace``)
  raise ``NotImplementedError`` naming the decoder.

>>> table = byte_table()
>>> table.vocab_size, table.token_bytes(ord('a'))
(256, b'a')
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import re
import threading
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from twinkle.dfa.rows import group_rows

logger = logging.getLogger('twinkle')

__all__ = ['TokenTable', 'TokenClasses', 'byte_table', 'token_table', 'token_classes', 'gpt2_byte_decoder']

_BYTE_FALLBACK = re.compile(r'<0x([0-9A-Fa-f]{2})>')

#: :attr:`TokenTable.fallback` of an id that is not a ``<0xNN>`` byte-fallback token.
NOT_A_BYTE = -1
#: U+FFFD (REPLACEMENT CHARACTER) in UTF-8: what an invalid byte-fallback run emits per byte.
FFFD_UTF8 = b'\xef\xbf\xbd'


def gpt2_byte_decoder() -> Dict[str, int]:
    """GPT-2's unicode -> byte map used by byte-level BPE vocabularies.

    Printable Latin-1 characters stand for themselves; the 68 other byte values are
    given the code points 256, 257, ... in byte order (so a space is ``'Ġ'``, U+0120).

    >>> m = gpt2_byte_decoder()
    >>> m['Ġ'], m['a'], len(m)
    (32, 97, 256)
    """
    keep = (
        list(range(ord('!'), ord('~') + 1))
        + list(range(ord('¡'), ord('¬') + 1))
        + list(range(ord('®'), ord('ÿ') + 1))
    )
    kept = set(keep)
    out = {chr(b): b for b in keep}
    extra = 0
    for b in range(256):
        if b not in kept:
            out[chr(256 + extra)] = b
            extra += 1
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class TokenTable:
    """The bytes every token id decodes to, padded into one array.

    Attributes:
        padded: (V, Lmax) uint8, token ``i``'s bytes in ``padded[i, :lengths[i]]``.
        lengths: (V,) int32 byte length of every token (0 for special or unknown ids).
        strip_first: the byte the decoder removes once from the start of the decoded text
            (``ord(' ')`` for SentencePiece decoders ending in ``Strip(' ', 1, 0)``), or -1.
        first_padded, first_lengths: the bytes of each token when it is the first one that
            emits anything, where that differs from the others (the ``Strip`` rule above, or
            a ``Metaspace`` decoder, which drops every ``'▁'`` of the first token); None
            when the first token is like any other.
        fallback: (V,) int16, the byte of every ``ByteFallback`` token ``<0xNN>`` and
            :data:`NOT_A_BYTE` (-1) for every other id; None when the decoder has no
            ``ByteFallback``. Such tokens decode by runs (see the module docstring);
            their ``padded`` entry is the byte itself.
        name: a short description for messages.
        fingerprint: a hash of the above; equal tables have equal fingerprints, and
            caches key on it.

    Build with :func:`token_table` (a Hugging Face tokenizer) or :func:`byte_table`
    (the 256 bytes as ids: the string path).
    """

    padded: np.ndarray
    lengths: np.ndarray
    strip_first: int = -1
    name: str = ''
    fingerprint: str = ''
    first_padded: Optional[np.ndarray] = None
    first_lengths: Optional[np.ndarray] = None
    fallback: Optional[np.ndarray] = None

    @staticmethod
    def _pad(tokens: Sequence[bytes]) -> Tuple[np.ndarray, np.ndarray]:
        v = len(tokens)
        lengths = np.fromiter((len(t) for t in tokens), dtype=np.int32, count=v)
        lmax = int(lengths.max()) if v else 0
        padded = np.zeros((v, max(lmax, 1)), dtype=np.uint8)
        if v and lmax:
            flat = np.frombuffer(b''.join(tokens), dtype=np.uint8)
            rows = np.repeat(np.arange(v), lengths)
            starts = np.cumsum(lengths) - lengths
            cols = np.arange(flat.size) - np.repeat(starts, lengths)
            padded[rows, cols] = flat
        padded.setflags(write=False)
        lengths.setflags(write=False)
        return padded, lengths

    @classmethod
    def from_bytes(
        cls,
        tokens: Sequence[bytes],
        strip_first: int = -1,
        name: str = '',
        first_tokens: Optional[Sequence[bytes]] = None,
        fallback: Optional[Sequence[int]] = None,
    ) -> TokenTable:
        """A table from one ``bytes`` per id.

        Args:
            tokens: the bytes of every id.
            strip_first: a byte removed once from the start of the decoded text, or -1.
            name: for messages.
            first_tokens: the bytes of every id when it is the first to emit anything,
                if they differ (derived from ``strip_first`` when that is given).
            fallback: per id, the byte of a ``ByteFallback`` token or -1 (its ``tokens``
                entry must be that one byte); None: no id is one.

        >>> t = TokenTable.from_bytes([b'a', b'', b'xyz'])
        >>> t.vocab_size, t.token_bytes(2), t.max_len
        (3, b'xyz', 3)
        >>> TokenTable.from_bytes([b'W', b'\\x80'], fallback=[0x57, 0x80]).decode([1, 0])
        b'\\xef\\xbf\\xbd\\xef\\xbf\\xbd'
        """
        tokens = list(tokens)
        fallback = cls._check_fallback(tokens, fallback)
        padded, lengths = cls._pad(tokens)
        if first_tokens is None and strip_first >= 0:
            lead = bytes([strip_first])
            first_tokens = [t[1:] if t[:1] == lead else t for t in tokens]
        if first_tokens is not None:
            first_tokens = list(first_tokens)
            if len(first_tokens) != len(tokens):
                raise ValueError('first_tokens must have one entry per id')
            if first_tokens == tokens:
                first_tokens = None
        first_padded = first_lengths = None
        h = hashlib.sha256()
        h.update(np.int64(strip_first).tobytes())
        h.update(lengths.tobytes())
        h.update(padded.tobytes())
        if first_tokens is not None:
            first_padded, first_lengths = cls._pad(first_tokens)
            h.update(first_lengths.tobytes())
            h.update(first_padded.tobytes())
        if fallback is not None:
            h.update(b'fallback')
            h.update(fallback.tobytes())
        return cls(
            padded, lengths, int(strip_first), name, h.hexdigest()[:24], first_padded, first_lengths, fallback
        )

    @staticmethod
    def _check_fallback(tokens: List[bytes], fallback: Optional[Sequence[int]]) -> Optional[np.ndarray]:
        if fallback is None:
            return None
        fb = np.asarray(fallback, dtype=np.int64)
        if fb.shape != (len(tokens),) or fb.min(initial=0) < NOT_A_BYTE or fb.max(initial=0) > 255:
            raise ValueError(
                f'fallback must hold one byte (0..255) or -1 per id ({len(tokens)}), got shape '
                f'{fb.shape} with values in [{fb.min(initial=0)}, {fb.max(initial=0)}]'
            )
        for i in np.flatnonzero(fb >= 0).tolist():
            if tokens[i] != bytes([fb[i]]):
                raise ValueError(
                    f'fallback[{i}] is the byte {int(fb[i]):#04x} but tokens[{i}] is {tokens[i]!r}'
                )
        if not (fb >= 0).any():
            return None
        fb = fb.astype(np.int16)
        fb.setflags(write=False)
        return fb

    @property
    def has_first_rule(self) -> bool:
        """Whether the first emitting token decodes differently (an extra DFA state)."""
        return self.first_lengths is not None

    @property
    def has_byte_runs(self) -> bool:
        """Whether some ids are ``ByteFallback`` tokens, decoded by runs (extra DFA states)."""
        return self.fallback is not None

    @property
    def vocab_size(self) -> int:
        """V, the number of ids."""
        return int(self.lengths.shape[0])

    @property
    def max_len(self) -> int:
        """The longest token, in bytes."""
        return int(self.lengths.max()) if self.vocab_size else 0

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes of one id."""
        return self.padded[token_id, : self.lengths[token_id]].tobytes()

    def decode(self, ids: Sequence[int]) -> bytes:
        """The bytes of an id sequence, with the first-token and byte-fallback rules applied.

        ``decode(ids).decode('utf-8', 'replace')`` is the text the scan checks; for the
        tokenizers above it equals ``tokenizer.decode(ids, skip_special_tokens=True)``
        (see the module docstring for the documented exceptions). An invalid
        byte-fallback run comes back as one U+FFFD (:data:`FFFD_UTF8`) per byte.

        >>> byte_table().decode([104, 105])
        b'hi'
        """
        parts: List[bytes] = []
        run = bytearray()
        first = self.has_first_rule
        for i in ids:
            i = int(i)
            if self.fallback is not None and self.fallback[i] != NOT_A_BYTE:
                run.append(int(self.fallback[i]))
                continue
            if self.lengths[i] == 0:
                continue  # decodes to nothing: neither ends a run nor uses a first-token rule
            if run:
                parts.append(self._run_text(run, first))
                run.clear()
                first = False
            parts.append(
                self.first_padded[i, : self.first_lengths[i]].tobytes() if first else self.token_bytes(i)
            )
            first = False
        if run:
            parts.append(self._run_text(run, first))
        return b''.join(parts)

    def _run_text(self, run: bytearray, first: bool) -> bytes:
        """A ``ByteFallback`` run: its bytes when valid UTF-8, else one U+FFFD per byte."""
        try:
            bytes(run).decode('utf-8')
        except UnicodeDecodeError:
            return FFFD_UTF8 * len(run)
        if first and run[0] == self.strip_first:
            return bytes(run[1:])
        return bytes(run)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenTable) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return (
            f'TokenTable({self.name or "?"}, V={self.vocab_size}, max_len={self.max_len}, '
            f'strip_first={self.strip_first}, first_rule={self.has_first_rule})'
        )


_BYTE_TABLE: List[TokenTable] = []


def byte_table() -> TokenTable:
    """The byte alphabet as a token table: id ``b`` (0..255) is the byte ``b``.

    >>> byte_table().token_bytes(0xff)
    b'\\xff'
    """
    if not _BYTE_TABLE:
        _BYTE_TABLE.append(TokenTable.from_bytes([bytes([b]) for b in range(256)], name='bytes'))
    return _BYTE_TABLE[0]


# ---- Hugging Face tokenizers -------------------------------------------------------------


def _backend(tokenizer: Any) -> Any:
    """The ``tokenizers.Tokenizer`` behind a transformers tokenizer (or itself)."""
    for attr in ('backend_tokenizer', '_tokenizer'):
        b = getattr(tokenizer, attr, None)
        if b is not None and hasattr(b, 'to_str'):
            return b
    if hasattr(tokenizer, 'to_str') and hasattr(tokenizer, 'id_to_token'):
        return tokenizer
    raise TypeError(
        f'token_table needs a Hugging Face fast tokenizer or a tokenizers.Tokenizer, got '
        f'{type(tokenizer).__name__}'
    )


def _flatten_decoder(cfg: Optional[dict]) -> List[dict]:
    if cfg is None:
        return []
    if cfg.get('type') == 'Sequence':
        out: List[dict] = []
        for d in cfg.get('decoders', []):
            out.extend(_flatten_decoder(d))
        return out
    return [cfg]


class _DecoderPlan:
    """The decoder chain reduced to per-token steps and a final leading-byte strip."""

    def __init__(self, steps: List[dict]):
        self.replaces: List[Tuple[str, str]] = []
        self.byte_level = False
        self.byte_fallback = False
        self.strip_first = -1
        self.first_remove = ''  # Metaspace: removed from the first token instead of replaced
        for i, st in enumerate(steps):
            kind = st.get('type')
            if kind == 'Replace':
                pat = st.get('pattern', {})
                if 'String' not in pat:
                    raise NotImplementedError(
                        'token_table: a Replace decoder with a regex pattern is not supported'
                    )
                if self.byte_fallback or self.byte_level:
                    raise NotImplementedError(
                        'token_table: Replace after ByteFallback/ByteLevel is not supported'
                    )
                self.replaces.append((pat['String'], st.get('content', '')))
            elif kind == 'ByteFallback':
                self.byte_fallback = True
            elif kind == 'ByteLevel':
                self.byte_level = True
            elif kind == 'Metaspace':
                if self.byte_fallback or self.byte_level:
                    raise NotImplementedError(
                        'token_table: Metaspace after ByteFallback/ByteLevel is not supported'
                    )
                repl = st.get('replacement', '\u2581')
                scheme = st.get('prepend_scheme')
                if scheme is None:  # older configs: add_prefix_space
                    scheme = 'always' if st.get('add_prefix_space', True) else 'never'
                self.replaces.append((repl, ' '))
                if scheme != 'never':
                    self.first_remove = repl
            elif kind == 'Fuse':
                pass  # joins the tokens' strings; the scan concatenates anyway
            elif kind == 'Strip':
                content, start, stop = st.get('content', ' '), int(st.get('start', 0)), int(st.get('stop', 0))
                if stop != 0 or start > 1 or i != len(steps) - 1 or len(content.encode()) != 1:
                    raise NotImplementedError(
                        f'token_table: Strip decoder {st} is not supported (only one '
                        'leading one-byte character, as the last step)'
                    )
                if start == 1:
                    self.strip_first = content.encode()[0]
            else:
                raise NotImplementedError(
                    f'token_table: the {kind!r} decoder is not supported (supported: '
                    'ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)'
                )
        if self.first_remove and self.strip_first >= 0:
            raise NotImplementedError('token_table: Metaspace together with Strip is not supported')

    def fallback_byte(self, token: str) -> int:
        """The byte of a ``<0xNN>`` token when the chain has ``ByteFallback``, else -1."""
        if not self.byte_fallback:
            return NOT_A_BYTE
        for old, new in self.replaces:
            token = token.replace(old, new)
        m = _BYTE_FALLBACK.fullmatch(token) if len(token) == 6 else None
        return int(m.group(1), 16) if m else NOT_A_BYTE

    def token_bytes(self, token: str, byte_map: Dict[str, int], first: bool = False) -> bytes:
        b = self.fallback_byte(token)
        if b != NOT_A_BYTE:
            return bytes([b])
        if first and self.first_remove:
            token = token.replace(self.first_remove, '')
        for old, new in self.replaces:
            token = token.replace(old, new)
        if self.byte_level:
            try:
                return bytes(byte_map[c] for c in token)
            except KeyError:  # not a byte-level token: the tokenizers library keeps its text
                pass
        return token.encode('utf-8')


_TABLE_CACHE: weakref.WeakKeyDictionary[Any, Dict[int, TokenTable]] = weakref.WeakKeyDictionary()
_TABLE_LOCK = threading.Lock()


def token_table(tokenizer: Any, vocab_size: Optional[int] = None) -> TokenTable:
    """The bytes ``batch_decode(skip_special_tokens=True)`` emits for every token id.

    Args:
        tokenizer: a Hugging Face fast tokenizer (``PreTrainedTokenizerFast`` and the
            like) or a ``tokenizers.Tokenizer``.
        vocab_size: the number of ids the policy can emit (its embedding size), at least
            the tokenizer's; ids past the tokenizer decode to ``b''``. None: the
            tokenizer's own count.

    Returns:
        A :class:`TokenTable` with ``V = vocab_size or len(tokenizer)``. Cached per
        tokenizer object.

    Raises:
        NotImplementedError: the tokenizer's decoder is not one of those supported.
        ValueError: ``vocab_size`` is smaller than the tokenizer's vocabulary (its ids
            could not all be scored).
        TypeError: ``vocab_size`` is not an int.

    >>> from tokenizers import Tokenizer, models, decoders
    >>> tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1}, [])); tok.decoder = decoders.ByteLevel()
    >>> token_table(tok).decode([0, 1])
    b'a b'
    """
    if vocab_size is not None and (
        isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer))
    ):
        raise TypeError(
            f'token_table: vocab_size must be an int or None, got {type(vocab_size).__name__} {vocab_size!r}'
        )
    if vocab_size is not None and vocab_size < 1:
        raise ValueError(
            f'token_table: vocab_size must be >= 1 (the ids the policy can emit), got {vocab_size}'
        )
    try:
        per_tok = _TABLE_CACHE.get(tokenizer)
    except TypeError:
        per_tok = None
    key = int(vocab_size or 0)
    if per_tok is not None and key in per_tok:
        return per_tok[key]
    table = _build_token_table(tokenizer, vocab_size)
    with _TABLE_LOCK:
        try:
            _TABLE_CACHE.setdefault(tokenizer, {})[key] = table
        except TypeError:
            pass
    return table


def _build_token_table(tokenizer: Any, vocab_size: Optional[int]) -> TokenTable:
    backend = _backend(tokenizer)
    cfg = json.loads(backend.to_str())
    plan = _DecoderPlan(_flatten_decoder(cfg.get('decoder')))
    if getattr(tokenizer, 'clean_up_tokenization_spaces', False):
        logger.warning(
            'twinkle: %s has clean_up_tokenization_spaces=True; the token table matches '
            'decoding without that clean-up (see twinkle.dfa.tokens)',
            type(tokenizer).__name__,
        )
    n = int(backend.get_vocab_size(with_added_tokens=True))
    special = set()
    for tid, added in backend.get_added_tokens_decoder().items():
        n = max(n, int(tid) + 1)
        if added.special:
            special.add(int(tid))
    for tid in getattr(tokenizer, 'all_special_ids', None) or []:
        if tid is not None:
            special.add(int(tid))
    if vocab_size is not None and vocab_size < n:
        raise ValueError(
            f'token_table: vocab_size={vocab_size} is smaller than the tokenizer, whose ids go '
            f'up to {n - 1} (expected vocab_size >= {n}, or None)'
        )
    v = max(n, int(vocab_size or 0))
    byte_map = gpt2_byte_decoder() if plan.byte_level else {}
    out: List[bytes] = [b''] * v
    first: Optional[List[bytes]] = [b''] * v if plan.first_remove else None
    fallback: Optional[List[int]] = [NOT_A_BYTE] * v if plan.byte_fallback else None
    id_to_token = backend.id_to_token
    for i in range(n):
        if i in special:
            continue
        tok = id_to_token(i)
        if tok is None:
            continue
        out[i] = plan.token_bytes(tok, byte_map)
        if first is not None:
            first[i] = plan.token_bytes(tok, byte_map, first=True)
        if fallback is not None:
            fallback[i] = plan.fallback_byte(tok)
    name = f'{type(tokenizer).__name__}(V={v})'
    return TokenTable.from_bytes(
        out, strip_first=plan.strip_first, name=name, first_tokens=first, fallback=fallback
    )


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
    """Runs every token from given states with numpy (the fallback of the compiled lift).

    ``trans_c`` (S, NC) is the DFA over byte classes ``byte_cls`` (256,). Tokens with the
    same class string are run once; they are sorted by length so that position ``p`` only
    touches the prefix of strings longer than ``p`` (~R x total-string-bytes gathers).
    """

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
    return getattr(mod, 'lift_tokens', None)


def _token_rows(
    lift: Any,
    trans_c: np.ndarray,
    byte_cls: np.ndarray,
    padded: np.ndarray,
    lengths: np.ndarray,
    init: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """Tokens grouped by their end states from each state of ``init`` (R,).

    Returns ``(class of each token (V,) int32, end states of each class (C, R) int64)``,
    with distinct rows (classes numbered as the backend found them).
    """
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
    """Every token's bytes back to back, cached per (read-only) table array: ~40 ms for a
    150k vocabulary, against ~100 ms for the whole lift of a small pattern."""
    hit = _FLAT.get(id(padded))
    if hit is not None and hit[0]() is padded:
        return hit[1]
    flat = padded[np.arange(padded.shape[1])[None, :] < lengths[:, None]]
    if not padded.flags.writeable:
        key = id(padded)
        _FLAT[key] = (weakref.ref(padded, lambda _: _FLAT.pop(key, None)), flat)
    return flat


def _first_seen_order(class_ids: np.ndarray, transitions: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Renumbers classes by their first id: ``(class_ids (V,) int32, transitions (S, C))``.

    Both lift backends number classes differently; this order makes their output equal.
    """
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

    Every token runs from every state. The compiled lift (``twinkle._C.lift_tokens``)
    walks the sorted token strings over the DFA's byte classes, moving all states at once
    through each distinct prefix (~S x prefixes steps, :data:`MAX_LIFT_WORK`); without the
    compiled library numpy runs each distinct string one byte position at a time (~S x
    total-string-bytes work, :data:`MAX_LIFT_CELLS`). Tokens with equal rows of end states
    form one class (rows hashed, then compared exactly); classes are numbered in order of
    their first id, so both give identical results.

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
        :class:`TokenClasses`. When the table has a first-token rule (``Strip`` or
        ``Metaspace`` decoders) there is one extra state ``S`` (the start): "nothing emitted
        yet", whose transitions read the first emitting token's own bytes; a token that
        emits nothing keeps it there. When the table has ``ByteFallback`` ids, the states
        inside a run of them follow (see :class:`_ByteRuns`; at most
        :data:`MAX_RUN_STATES`, beyond which a warning says invalid runs decode with
        Python's rule instead); a run state from which nothing can match any more is
        ``dead``, so the scan's first-dead position stays exact.

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
    # (Hashed columns: np.unique(axis=0) sorted 256 rows of S entries, 3 s at S = 45k.)
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
#: runs build (int64: 2.4 GB at the limit; about 10 s on 2 cores). A 150k vocabulary lifts
#: DFAs of up to about 2,000 states that way.
MAX_LIFT_CELLS = 300_000_000
#: Most steps the compiled lift takes: distinct token prefixes (over the DFA's byte classes)
#: x states, ~2 ns each on a busy 2-core host. A 150k vocabulary has 40k-200k prefixes, so
#: this lifts ``\w{30}`` under search (9k states, ~1e9 steps, ~2 s) and refuses, after ~50
#: ms, DFAs past ~25k states.
MAX_LIFT_WORK = 1_000_000_000


@functools.lru_cache(maxsize=1)
def _utf8_validator() -> np.ndarray:
    """(9, 256) int64: strict UTF-8 (what ``String::from_utf8`` and ``bytes.decode`` accept).

    State 0 is a character boundary; 1..3 await that many continuation bytes; 4..7 await
    the restricted second byte after E0, ED, F0, F4 (no overlong forms, surrogates or
    values past U+10FFFF), then 1 (E0, ED) or 2 (F0, F4) more; 8 is invalid, a sink.
    """
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
    """The run states a ``ByteFallback`` table adds to a DFA, and the lifted token classes.

    Inside a run of ``<0xNN>`` tokens, ``tokenizers`` does not know what the run decodes to
    until it ends: its characters if valid UTF-8, else one U+FFFD per byte. A run state
    therefore carries ``(sv, sf, u)``: the DFA state after the run's bytes (``sv``, the
    valid case; -1 once invalid), the DFA state after one U+FFFD per byte (``sf``), and the
    UTF-8 validator's state ``u``. A run ends at the next token that emits text, or at the
    end of the input; it then resolves to ``sv`` when ``u`` is at a boundary, else to ``sf``.
    Run states are keyed by one int64, ``((sv + 1) * S + sf) * 9 + u``.
    """

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
        """Sorted keys of every run state reachable from the entries (breadth first).

        None past :data:`MAX_RUN_STATES`: a DFA that counts characters (``.{0,300}``) pairs
        every count with every U+FFFD count, quadratically many states.
        """
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

        Args:
            sig: (V', S') int64, each id's successor from every plain (and "nothing yet")
                state, as if no id were a byte token; V' = V (+1 for the mask id).
            table: the token table (its ``fallback`` and ``lengths``).
            accept: (S',) bool.

        Returns:
            ``(class_ids (V',) int32, transitions (S'', C) int32, accept (S'',) bool)``:
            states ``[0, S')`` as before, then the run states; None when there would be
            more than :data:`MAX_RUN_STATES` run states.
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
        """Byte values that act alike on the DFA, the validator and the strip rule: one each.

        Returns ``(representative byte values (nb,), the class of each entry of vals)``.
        """
        sig = np.concatenate(
            [self.trans[:, vals], _utf8_validator()[:, vals], (vals == self.strip_first)[None, :]], axis=0
        ).T
        cls, reps = group_rows(sig.astype(np.int64))
        return vals[reps], cls.astype(np.int64)

    def _hopeful(self, keys: np.ndarray, after: np.ndarray, resolved: np.ndarray) -> np.ndarray:
        """(R,) bool: run states from which acceptance is still reachable.

        A run state can be hopeless while neither outcome is dead yet (``sv`` dead, ``sf``
        alive, and every further U+FFFD kills it); the scan's ``first_dead`` must see it,
        so hopeless states become ``dead``. A state whose run could end now is hopeful iff
        its resolved state is not dead (the byte DFA is minimal); otherwise only more bytes
        of the run can help, so it suffices to search backwards over byte transitions.
        """
        if self.dead < 0:
            return np.ones(keys.size, dtype=bool)
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
    """(R,) bool: nodes from which a seed is reachable, over edges ``r -> succ[r, j]``.

    ``succ`` (R, n) holds node indices, or R for a sink that reaches nothing.
    """
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
