"""Marker flags: one bit per kind of answer-marker fragment a token's decoded text holds.

``MathReward`` finds answer spans on the device from a ``(V + 1,)`` uint8 table of these
flags (:class:`twinkle.math.spans.MarkerTable`). Each id's text is the id decoded alone,
from its :class:`~twinkle.vocab.table.TokenTable` bytes when there is one, else from the
tokenizer's own ``batch_decode``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

if TYPE_CHECKING:  # numpy loads on use: twinkle.math.spans imports the bits alone
    import numpy as np

    from twinkle.vocab.table import TokenTable

__all__ = [
    'ANS_START',
    'BOX',
    'FENCE',
    'LT',
    'MARK',
    'MarkerFlags',
    'OPEN_TAG',
    'PROBES',
    'THINK_CLOSE',
    'THINK_OPEN',
    'build_marker_flags',
    'probe',
    'table_flags',
    'texts_flags',
    'token_flags',
]

# Bit flags of the table. BOX and MARK are the markers; the rest steer the span. LT is
# the lowest bit, so `flags > LT` means "some flag besides LT" in one comparison.
LT = 1  # ends with '<' (not '</'): may open an <answer> tag with the next token
BOX = 2  # 'box' not after a letter or space: \boxed, \fbox (extract.py rfinds 'box')
MARK = 4  # 'answer' in any case, its word pieces ('ANS' + 'WER'), '##' (of '####')
THINK_OPEN = 8  # '<think>'
THINK_CLOSE = 16  # '</think>'
FENCE = 32  # '``': a code fence, or a piece of one
ANS_START = 64  # starts with 'answer' (any case): the name of a tag after LT
OPEN_TAG = 128  # holds '<answer' whole

_COMMAND_BOX = re.compile(r'(?<![A-Za-z ])box')
# Every text with a flag holds one of these (any case: 'answ', 'answer' hold 'ans', the
# word-end pieces hold 'wer', every tag holds '<'); the others carry no flag.
_CANDIDATE = re.compile(r'box|ans|wer|##|<|``', re.IGNORECASE)
_CANDIDATE_BYTES = re.compile(rb'box|ans|wer|##|<|``', re.IGNORECASE)


def token_flags(text: str) -> int:
    """The bit flags of one token's decoded text.

    >>> token_flags('\\\\boxed') == BOX, token_flags(' ANSW') == MARK, token_flags(' box')
    (True, True, 0)
    """
    low = text.lower()
    f = 0
    # A 'box' that may belong to \boxed or \fbox: not inside a word or after a space
    # (' box', ' boxes' are the word; '\\boxed', 'boxed', '\\f' + 'box' are commands).
    if 'box' in text and _COMMAND_BOX.search(text):
        f |= BOX
    # Word pieces: Qwen3 splits 'ANSWER' as 'ANS' + 'WER' or ' ANSW' + 'ER'. A piece that
    # starts the word ('answ', 'answe') or ends it ('wer' mid-word) is distinctive enough;
    # shorter ones ('ans' ends ' means') would flag most of the text.
    if (
        'answer' in low
        or '##' in text
        or low.endswith(('answ', 'answe'))
        or (low[:1].isalpha() and low.startswith(('wer', 'swer', 'nswer')))
    ):
        f |= MARK
    if '<think>' in text:
        f |= THINK_OPEN
    if '</think>' in text:
        f |= THINK_CLOSE
    if '``' in text:
        f |= FENCE
    stripped = text.rstrip()
    if stripped.endswith('<') and not stripped.endswith('</'):
        f |= LT
    if low.lstrip().startswith('answer'):
        f |= ANS_START
    if '<answer' in low:
        f |= OPEN_TAG
    return f


def texts_flags(texts: Sequence[str]) -> np.ndarray:
    """``(len(texts),)`` uint8: :func:`token_flags` of every text.

    One regex pass over the texts joined by NUL picks the few candidates.

    >>> texts_flags(['a', '<think>', ' box', '\\\\boxed']).tolist() == [0, THINK_OPEN, 0, BOX]
    True
    """
    import numpy as np

    out = np.zeros(len(texts), dtype=np.uint8)
    if not texts:
        return out
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lens + 1) - (lens + 1)  # each text's offset in the joined string
    hits = np.fromiter((m.start() for m in _CANDIDATE.finditer('\0'.join(texts))), dtype=np.int64)
    for i in np.unique(np.searchsorted(starts, hits, side='right') - 1).tolist():
        out[i] = token_flags(texts[i])
    return out


# Markers in the contexts where models write them, and the flag each must carry.
PROBES = [
    (r'So $\boxed{1}$.', BOX),
    ('\n\\boxed{1}', BOX),
    (r' \fbox{1}', BOX),
    ('\n#### 1', MARK),
    ('so####1', MARK),
    ('The answer is 1', MARK),
    ('THE ANSWER: 1', MARK),
    ('ANSWER: 1', MARK),
    ('FINAL ANSWER: 1', MARK),
    ('**Answer:** 1', MARK),
    ('\n# Answer\n1', MARK),
    ('\n**ANSWER**: 1', MARK),
    ('<answer>1</answer>', OPEN_TAG),
    ('\n<answer>\n1', OPEN_TAG),
    ('<think>a</think>', THINK_CLOSE),
    ('a<think>', THINK_OPEN),
    ('```\nx\n```', FENCE),
    (' ```python', FENCE),
]


def probe(tokenizer: Any, flags: np.ndarray) -> bool:
    """Whether the tokenizer's own encoding of each :data:`PROBES` marker holds its flag.

    ``flags`` is the ``(V + 1,)`` table; ids outside ``[0, V)`` carry no flag.
    """
    if not hasattr(tokenizer, 'encode'):
        return False
    v = flags.shape[0] - 1
    for text, bits in PROBES:
        try:
            ids = tokenizer.encode(text, add_special_tokens=False)
        except TypeError:
            ids = tokenizer.encode(text)
        got = [int(flags[i]) if 0 <= i < v else 0 for i in ids]
        tag = any((f & OPEN_TAG) or (f & ANS_START and p & LT) for p, f in zip([0] + got, got))
        if bits == OPEN_TAG and not tag or bits != OPEN_TAG and not any(f & bits for f in got):
            return False
    return True


@dataclasses.dataclass(frozen=True, eq=False)
class MarkerFlags:
    """The marker flags of one tokenizer.

    Attributes:
        flags: ``(V + 1,)`` uint8, read-only; the last entry (0) is read for ids outside
            ``[0, V)``.
        reliable: whether the tokenizer's encoding of probe markers carries the flags
            (:func:`probe`); a character-level tokenizer splits them into unflagged pieces.
    """

    flags: np.ndarray
    reliable: bool


def id_count(tokenizer: Any) -> int:
    """V: ``len(tokenizer)``, else its ``vocab_size``."""
    try:
        return len(tokenizer)
    except TypeError:
        return int(tokenizer.vocab_size)


def table_flags(table: TokenTable, size: int) -> np.ndarray:
    """``(size,)`` uint8: :func:`token_flags` of each id ``[0, size)`` decoded alone from the
    table's bytes (ids past the table: 0).

    Alone, an id is the first emitting token (first-token bytes apply) and a byte-fallback id a
    one-byte run. Every flag needs an ASCII piece, so one case-insensitive pass over the bytes
    picks the candidates to decode.

    >>> from twinkle.vocab import TokenTable
    >>> t = TokenTable.from_bytes([b' <', b'\\\\box', b' box'], strip_first=32)
    >>> table_flags(t, 4).tolist() == [LT, BOX, BOX, 0]  # alone, ' box' is 'box'
    True
    """
    import numpy as np

    padded, lengths = table.padded, table.lengths
    if table.has_first_rule:
        padded, lengths = table.first_padded, table.first_lengths
    n = min(size, table.vocab_size)
    padded, lengths = padded[:n], lengths[:n].astype(np.int64)
    out = np.zeros(size, dtype=np.uint8)
    if n == 0:
        return out
    # The tokens back to back, each followed by a NUL (no candidate pattern holds one).
    starts = np.cumsum(lengths + 1) - (lengths + 1)
    joined = np.zeros(int(lengths.sum()) + n, dtype=np.uint8)
    inside = np.arange(padded.shape[1])[None, :] < lengths[:, None]
    rows, cols = np.nonzero(inside)
    joined[starts[rows] + cols] = padded[inside]
    hits = np.fromiter((m.start() for m in _CANDIDATE_BYTES.finditer(joined.tobytes())), dtype=np.int64)
    for i in np.unique(np.searchsorted(starts, hits, side='right') - 1).tolist():
        out[i] = token_flags(padded[i, : lengths[i]].tobytes().decode('utf-8', 'replace'))
    return out


def decoded_texts(tokenizer: Any, size: int) -> List[str]:
    """The text of each id ``[0, size)`` decoded alone by the tokenizer (non-strings: '')."""
    ids = [[i] for i in range(size)]
    if hasattr(tokenizer, 'batch_decode'):
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
    else:
        texts = [tokenizer.decode(i, skip_special_tokens=True) for i in ids]
    return [t if isinstance(t, str) else '' for t in texts]


def build_marker_flags(tokenizer: Any, table: Optional[TokenTable]) -> MarkerFlags:
    """The :class:`MarkerFlags` of ``tokenizer``, from ``table`` when given (else decoded)."""
    import numpy as np

    size = id_count(tokenizer)
    per_id = table_flags(table, size) if table is not None else texts_flags(decoded_texts(tokenizer, size))
    flags = np.append(per_id, np.uint8(0))  # ids outside [0, V) read the 0
    flags.setflags(write=False)
    return MarkerFlags(flags, probe(tokenizer, flags))
