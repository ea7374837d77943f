"""Building a :class:`~twinkle.vocab.table.TokenTable` from a Hugging Face tokenizer.

Special tokens decode to ``b''`` (``skip_special_tokens=True``), added non-special ones by the
decoder steps of :mod:`twinkle.vocab.decoders`, and ids past the tokenizer to ``b''``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, List, Optional, Set, Tuple

from twinkle.vocab.decoders import gpt2_byte_decoder, plan_decoder
from twinkle.vocab.table import NOT_A_BYTE, TokenTable

logger = logging.getLogger('twinkle')

__all__ = ['added_tokens', 'backend_of', 'build_token_table']


def backend_of(tokenizer: Any) -> Any:
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


def added_tokens(tokenizer: Any, backend: Any) -> Tuple[int, Set[int]]:
    """``(n, special)``: the tokenizer's id count and the ids ``skip_special_tokens=True`` drops."""
    n = int(backend.get_vocab_size(with_added_tokens=True))
    special = set()
    for tid, added in backend.get_added_tokens_decoder().items():
        n = max(n, int(tid) + 1)
        if added.special:
            special.add(int(tid))
    for tid in getattr(tokenizer, 'all_special_ids', None) or []:
        if tid is not None:
            special.add(int(tid))
    return n, special


def build_token_table(tokenizer: Any) -> TokenTable:
    """The uncached :class:`TokenTable` of ``tokenizer``, one row per id it has."""
    backend = backend_of(tokenizer)
    cfg = json.loads(backend.to_str())
    plan = plan_decoder(cfg.get('decoder'))
    if getattr(tokenizer, 'clean_up_tokenization_spaces', False):
        logger.warning(
            'twinkle: %s has clean_up_tokenization_spaces=True; the token table matches '
            'decoding without that clean-up (see twinkle.vocab.decoders)',
            type(tokenizer).__name__,
        )
    n, special = added_tokens(tokenizer, backend)
    byte_map = gpt2_byte_decoder() if plan.byte_level else {}
    out: List[bytes] = [b''] * n
    first: Optional[List[bytes]] = [b''] * n if plan.first_remove else None
    fallback: Optional[List[int]] = [NOT_A_BYTE] * n if plan.byte_fallback else None
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
    name = f'{type(tokenizer).__name__}(V={n})'
    return TokenTable.from_bytes(
        out, strip_first=plan.strip_first, name=name, first_tokens=first, fallback=fallback
    )
