"""One cache per tokenizer: :class:`Vocab` holds every table built for it.

:func:`vocab_of` keys a :class:`Vocab` weakly on the tokenizer object; each table is built
once, on first use, under the entry's lock. A tokenizer that cannot be weakly referenced gets
a fresh, uncached :class:`Vocab` each time.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Dict, Hashable, Optional, TypeVar

import numpy as np

from twinkle.vocab.hf import build_token_table
from twinkle.vocab.markers import MarkerFlags, build_marker_flags
from twinkle.vocab.table import TokenTable

__all__ = ['Vocab', 'token_table', 'vocab_of']

T = TypeVar('T')

_VOCABS: weakref.WeakKeyDictionary[Any, Vocab] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class Vocab:
    """Every per-tokenizer table of one tokenizer (held weakly), each built on first use."""

    def __init__(self, tokenizer: Any):
        try:
            self._tokenizer: Callable[[], Any] = weakref.ref(tokenizer)
        except TypeError:
            self._tokenizer = lambda: tokenizer
        self._lock = threading.RLock()
        self._items: Dict[Hashable, Any] = {}

    @property
    def tokenizer(self) -> Any:
        tok = self._tokenizer()
        if tok is None:
            raise ReferenceError('the tokenizer of this Vocab is gone')
        return tok

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` once per key for this tokenizer; an exception caches nothing."""
        with self._lock:
            if key not in self._items:
                self._items[key] = build()
            return self._items[key]

    def token_table(self, vocab_size: Optional[int] = None) -> TokenTable:
        """See :func:`token_table`."""
        _check_vocab_size(vocab_size)
        base = self.memo(('token_table', None), lambda: build_token_table(self.tokenizer))
        if vocab_size is None:
            return base
        n = base.vocab_size
        if vocab_size < n:
            raise ValueError(
                f'token_table: vocab_size={vocab_size} is smaller than the tokenizer, whose ids go '
                f'up to {n - 1} (expected vocab_size >= {n}, or None)'
            )
        v = int(vocab_size)
        name = f'{type(self.tokenizer).__name__}(V={v})'
        return self.memo(('token_table', v), lambda: base.widened(v, name))

    def marker_flags(self) -> MarkerFlags:
        """The marker flags (:mod:`twinkle.vocab.markers`), from the token table or by decoding every id."""

        def build() -> MarkerFlags:
            try:
                table: Optional[TokenTable] = self.token_table()
            except (TypeError, NotImplementedError):  # not a fast tokenizer, or its decoder
                table = None
            return build_marker_flags(self.tokenizer, table)

        return self.memo('marker_flags', build)


def vocab_of(tokenizer: Any) -> Vocab:
    """The :class:`Vocab` of ``tokenizer``, cached while it lives."""
    with _LOCK:
        try:
            vocab = _VOCABS.get(tokenizer)
        except TypeError:  # not weak-referenceable (or unhashable): not cached
            return Vocab(tokenizer)
        if vocab is None:
            vocab = _VOCABS[tokenizer] = Vocab(tokenizer)
        return vocab


def _check_vocab_size(vocab_size: Any) -> None:
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


def token_table(tokenizer: Any, vocab_size: Optional[int] = None) -> TokenTable:
    """The bytes ``batch_decode(skip_special_tokens=True)`` emits for every token id.

    Args:
        tokenizer: a Hugging Face fast tokenizer (``PreTrainedTokenizerFast`` and the
            like) or a ``tokenizers.Tokenizer``.
        vocab_size: the number of ids the policy can emit (its embedding size), at least
            the tokenizer's; ids past the tokenizer decode to ``b''``. None: the
            tokenizer's own count.

    Returns:
        A :class:`TokenTable` with ``V = vocab_size or len(tokenizer)``, cached per tokenizer.

    Raises:
        NotImplementedError: the tokenizer's decoder is not one of those supported.
        ValueError: ``vocab_size`` is smaller than the tokenizer's vocabulary.
        TypeError: ``vocab_size`` is not an int.

    >>> from tokenizers import Tokenizer, models, decoders
    >>> tok = Tokenizer(models.BPE({'a': 0, 'Ġb': 1}, [])); tok.decoder = decoders.ByteLevel()
    >>> token_table(tok).decode([0, 1])
    b'a b'
    """
    return vocab_of(tokenizer).token_table(vocab_size)
