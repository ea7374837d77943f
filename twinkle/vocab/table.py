"""The bytes every token id decodes to: :class:`TokenTable`.

For every id the bytes that ``tokenizer.batch_decode(ids, skip_special_tokens=True)`` emits
for it, so a sequence's text is their concatenation decoded with 'replace'
(:meth:`TokenTable.decode` adds the first-token and byte-fallback rules).

>>> table = byte_table()
>>> table.vocab_size, table.token_bytes(ord('a'))
(256, b'a')
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['TokenTable', 'byte_table', 'NOT_A_BYTE', 'FFFD_UTF8']

#: :attr:`TokenTable.fallback` of an id that is not a ``<0xNN>`` byte-fallback token.
NOT_A_BYTE = -1
#: U+FFFD (REPLACEMENT CHARACTER) in UTF-8: what an invalid byte-fallback run emits per byte.
FFFD_UTF8 = b'\xef\xbf\xbd'


@dataclasses.dataclass(frozen=True, eq=False)
class TokenTable:
    """The bytes every token id decodes to, padded into one array.

    Attributes:
        padded: (V, Lmax) uint8, token ``i``'s bytes in ``padded[i, :lengths[i]]``.
        lengths: (V,) int32 byte length of every token (0 for special or unknown ids).
        strip_first: the byte the decoder removes once from the start of the decoded text
            (``ord(' ')`` for ``Strip(' ', 1, 0)``), or -1.
        first_padded, first_lengths: each token's bytes when it is the first to emit
            anything (``Strip`` or ``Metaspace``); None when no different.
        fallback: (V,) int16, the byte of every ``<0xNN>`` ``ByteFallback`` token (its
            ``padded`` entry) and :data:`NOT_A_BYTE` elsewhere; None without ``ByteFallback``.
        name: a short description for messages.
        fingerprint: a hash of the above; equal tables have equal fingerprints, and
            caches key on it.

    Build with :func:`twinkle.vocab.token_table` (a Hugging Face tokenizer) or :func:`byte_table`.
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
        if first_tokens is not None:
            first_padded, first_lengths = cls._pad(first_tokens)
        return cls._of_arrays(padded, lengths, int(strip_first), name, first_padded, first_lengths, fallback)

    @classmethod
    def _of_arrays(
        cls,
        padded: np.ndarray,
        lengths: np.ndarray,
        strip_first: int,
        name: str,
        first_padded: Optional[np.ndarray],
        first_lengths: Optional[np.ndarray],
        fallback: Optional[np.ndarray],
    ) -> TokenTable:
        """A table from its (read-only) arrays, fingerprinted."""
        h = hashlib.sha256()
        h.update(np.int64(strip_first).tobytes())
        h.update(lengths.tobytes())
        h.update(padded.tobytes())
        if first_padded is not None:
            h.update(first_lengths.tobytes())
            h.update(first_padded.tobytes())
        if fallback is not None:
            h.update(b'fallback')
            h.update(fallback.tobytes())
        return cls(
            padded, lengths, strip_first, name, h.hexdigest()[:24], first_padded, first_lengths, fallback
        )

    def widened(self, vocab_size: int, name: str = '') -> TokenTable:
        """The same table (same fingerprint) with ids ``[V, vocab_size)`` added, each decoding to ``b''``.

        >>> t = TokenTable.from_bytes([b'a', b'b'])
        >>> t.widened(4) == TokenTable.from_bytes([b'a', b'b', b'', b''])
        True
        """
        extra = int(vocab_size) - self.vocab_size
        if extra < 0:
            raise ValueError(f'widened: vocab_size={vocab_size} is below V={self.vocab_size}')
        if extra == 0 and (not name or name == self.name):
            return self

        def grow(a: Optional[np.ndarray], fill: int = 0) -> Optional[np.ndarray]:
            if a is None:
                return None
            out = np.concatenate([a, np.full((extra,) + a.shape[1:], fill, dtype=a.dtype)])
            out.setflags(write=False)
            return out

        return self._of_arrays(
            grow(self.padded),
            grow(self.lengths),
            self.strip_first,
            name or self.name,
            grow(self.first_padded),
            grow(self.first_lengths),
            grow(self.fallback, NOT_A_BYTE),
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

        Decoded with 'replace', this is the text the scan checks, equal to
        ``tokenizer.decode(ids, skip_special_tokens=True)`` except where
        :mod:`twinkle.vocab.decoders` says. An invalid byte-fallback run is one U+FFFD per byte.

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
