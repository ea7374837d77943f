"""Finding the answer span of token rows on the device, so only spans are decoded.

The token path reads per-token marker flags (:class:`MarkerTable`), keeps each row's last
flagged positions on the device (:func:`marker_slots`), bounds the span on the host
(:func:`spans_from_slots`) and decodes only it (:func:`decode_answer_spans`). A span is
``[start, end)`` in token positions; one that cannot decide alone is decoded again from its
fallback, so the verdict is the whole completion's.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from twinkle.math.config import MathConfig
from twinkle.math.extract import MARKED, PREFIX, TAIL, Extraction, extract_answer, extract_scoped
from twinkle.vocab.markers import ANS_START, BOX, FENCE, LT, MARK, OPEN_TAG, THINK_CLOSE, THINK_OPEN

__all__ = [
    'MIN_SLACK',
    'MarkerTable',
    'Slots',
    'Spans',
    'marker_slots',
    'spans_from_slots',
    'find_answer_spans',
    'decode_answer_spans',
    'BOX',
    'MARK',
    'THINK_OPEN',
    'THINK_CLOSE',
    'FENCE',
    'LT',
    'ANS_START',
    'OPEN_TAG',
    'EARLIER_MARKER',
    'EARLIER_BOX',
]

_log = logging.getLogger(__name__)

# The flagged piece of a marker may come after unflagged ones (' \\' 'f' 'box',
# 'ANS' 'WER'): a span keeps at least this many tokens before its first flagged one, or
# it could begin inside a marker ('boxed{5}') and read it as text.
MIN_SLACK = 4

# Bits of ``Spans.more``: what lies between a span's fallback and its start.
EARLIER_MARKER = 1  # marker tokens (BOX or MARK)
EARLIER_BOX = 2  # box tokens or an <answer> tag


class Slots(NamedTuple):
    """The columns of :func:`marker_slots`' ``(B, 1 + 3 * k)`` int64 array (packed for one host transfer)."""

    length: Any  # (B,): the row's length, clamped to [0, L]
    at: Any  # (B, k): the last k flagged positions, latest first, -1 past the last one
    kinds: Any  # (B, k): their flags (junk in empty slots)
    prev: Any  # (B, k): the flags of the token before each

    @classmethod
    def unpack(cls, packed: Any) -> Slots:
        k = (packed.shape[1] - 1) // 3
        return cls(packed[:, 0], packed[:, 1 : 1 + k], packed[:, 1 + k : 1 + 2 * k], packed[:, 1 + 2 * k :])

    def pack(self, concat: Callable) -> Any:
        """The packed array; ``concat`` is ``torch.cat`` or ``numpy.concatenate``."""
        return concat([self.length[:, None], self.at, self.kinds, self.prev], 1)


class Spans(NamedTuple):
    """Per-row answer spans from :func:`spans_from_slots`: ``(B,)`` int64 arrays each.

    A span is ``[start, end)`` in token positions. ``fallback`` is where to start reading
    when the span cannot decide alone (the last ``</think>``, else 0); ``more`` holds
    :data:`EARLIER_MARKER` and :data:`EARLIER_BOX` bits for what lies between
    ``fallback`` and ``start``; ``length`` is the row's clamped length.
    """

    start: Any
    end: Any
    fallback: Any
    more: Any
    length: Any

    def whole_rows(self) -> Spans:
        """Every span widened to its whole row (nothing before it is left to read)."""
        import numpy as np

        zero = np.zeros_like(self.start)
        return self._replace(start=zero, end=self.length, fallback=zero)


class MarkerTable:
    """The per-token marker flags of one tokenizer: ``flags`` ``(V + 1,)`` uint8, CPU.

    Each id's flags come from its text decoded alone (special tokens decode to '' and carry
    none). Markers split across tokens are found by their distinctive piece ('box', 'answer',
    'WER', '##'). ``reliable`` is False when the tokenizer's own encoding of probe markers does
    not carry the flags (a character-level tokenizer); ``MathReward.score_ids`` then decodes whole rows.

    Args:
        tokenizer: a Hugging Face tokenizer (``batch_decode`` or ``decode``, and
            ``len()`` or ``vocab_size``).

    >>> class Tok:
    ...     def __len__(self):
    ...         return 128
    ...     def decode(self, ids, skip_special_tokens=True):
    ...         return ''.join(chr(i) for i in ids)
    >>> t = MarkerTable(Tok())
    >>> tuple(t.flags.shape), int(t.flags[ord('<')]) == LT
    ((129,), True)
    >>> t.reliable  # one character per token: no token holds 'box'
    False
    """

    def __init__(self, tokenizer: Any):
        import torch

        from twinkle.vocab import vocab_of

        markers = vocab_of(tokenizer).marker_flags()
        # One zero entry past the vocabulary: ids outside [0, V) read it (no flags).
        self.flags = torch.from_numpy(markers.flags.copy())
        self._on: Dict[Any, Any] = {}
        self.reliable = markers.reliable
        if not self.reliable:
            _log.warning(
                'MathReward.score_ids: %s splits answer markers into unflagged pieces '
                '(or cannot encode); whole completions will be decoded',
                type(tokenizer).__name__,
            )

    def to(self, device: Any) -> Any:
        """The table on ``device`` (copied once per device, then reused)."""
        key = str(device)
        t = self._on.get(key)
        if t is None:
            t = self._on[key] = self.flags.to(device)
        return t

    @classmethod
    def of(cls, tokenizer: Any) -> MarkerTable:
        """The table of ``tokenizer``, built on first use and cached while it lives."""
        from twinkle.vocab import vocab_of

        return vocab_of(tokenizer).memo(cls, lambda: cls(tokenizer))


def marker_slots(input_ids: Any, lengths: Any, flags: Any, slots: int = 64) -> Any:
    """The device half: per row, the last ``slots`` flagged token positions and flags (no host sync).

    Args:
        input_ids: ``(B, L)`` integer tensor, right-padded.
        lengths: ``(B,)`` integer tensor, valid tokens per row (clamped to ``[0, L]``).
        flags: ``(V + 1,)`` uint8 tensor from :meth:`MarkerTable.to` (the last entry, 0,
            is read for ids outside ``[0, V)``), on ``input_ids.device``.
        slots: flagged positions kept per row (at most L).

    Returns:
        ``(B, 1 + 3 * k)`` int64 tensor, ``k = min(slots, L)``: the clamped length, then
        the positions (latest first, -1 when fewer are flagged), their flags, and the
        flags of the token before each.

    >>> import torch
    >>> flags = torch.zeros(17, dtype=torch.uint8); flags[3] = BOX
    >>> marker_slots(torch.tensor([[5, 3, 5, 3, 0]]), torch.tensor([3]), flags, 2).tolist()
    [[3, 1, -1, 2, 0, 0, 0]]
    """
    import torch

    b, seq = input_ids.shape
    dev = input_ids.device
    n = torch.as_tensor(lengths).to(dev, torch.int64).clamp(0, seq)
    k = min(slots, seq)
    if k == 0:
        return n[:, None]  # the length column alone
    if dev.type == 'cpu':  # numpy on the calling thread: small torch CPU ops wait for the pool
        return torch.from_numpy(_marker_slots_numpy(input_ids.detach().numpy(), n.numpy(), flags.numpy(), k))
    return _marker_slots_torch(input_ids, n, flags, k)


def _marker_slots_torch(input_ids: Any, n: Any, flags: Any, k: int) -> Any:
    """:func:`marker_slots` in torch, on any device (``n`` clamped, ``k`` in ``[1, L]``)."""
    import torch

    seq = input_ids.shape[1]
    dev = input_ids.device
    vocab = flags.numel() - 1
    # -1 and V both read the zero entry at index V (index -1 wraps to it).
    kinds = flags[input_ids.clamp(-1, vocab)]
    pos = torch.arange(seq, device=dev, dtype=torch.int32)
    kinds.masked_fill_(pos >= n[:, None], 0)
    # LT alone (a '<' in an inequality) is not a marker: it is looked up per slot below.
    at = torch.topk(torch.where(kinds > LT, pos, -1), k, dim=1).values.to(torch.int64)
    kk = kinds.gather(1, at.clamp(min=0))
    prev = flags[input_ids.gather(1, (at - 1).clamp(min=0)).clamp(-1, vocab)]
    return Slots(n, at, kk.to(torch.int64), prev.to(torch.int64)).pack(torch.cat)


def _marker_slots_numpy(ids: Any, n: Any, flags: Any, k: int) -> Any:
    """:func:`marker_slots` in numpy (same output for every listed slot)."""
    import numpy as np

    b, seq = ids.shape
    vocab = flags.size - 1
    kinds = flags[np.clip(ids, -1, vocab)]
    kinds[np.arange(seq)[None, :] >= n[:, None]] = 0
    # Flagged tokens are sparse: list them (row-major, so by row then position) and rank
    # each from the end of its row, instead of sorting every row.
    r, c = np.nonzero(kinds > LT)
    ends = np.cumsum(np.bincount(r, minlength=b))
    rank = ends[r] - 1 - np.arange(r.size)
    keep = rank < k
    r, c, rank = r[keep], c[keep], rank[keep]
    at = np.full((b, k), -1, dtype=np.int64)
    at[r, rank] = c
    kk = np.zeros((b, k), dtype=np.int64)
    kk[r, rank] = kinds[r, c]
    before = np.clip(ids[np.arange(b)[:, None], np.maximum(at - 1, 0)], -1, vocab)
    prev = flags[before].astype(np.int64)
    return Slots(n.astype(np.int64), at, kk, prev).pack(np.concatenate)


def spans_from_slots(slots: Any, slack: int = 16, gap: int = 32, tail: int = 160) -> Spans:
    """The host half: span bounds from :func:`marker_slots` output, vectorized in numpy.

    Per row, with ``q`` the last ``</think>`` (only markers after it count), the span starts
    ``slack`` tokens before the earliest of: the last cluster of markers (at most ``gap`` apart),
    the cluster holding the last 'box', the last ``<answer>`` tag; with no marker, ``tail``
    tokens from the end. It never starts before ``q``, starts at ``q`` (or 0) when the response
    holds a code fence or reopens ``<think>``, is only the ``<think>`` token when that is never
    closed, and is the whole row when the slots are full without a ``</think>``.

    Args:
        slots: ``(B, 1 + 3 * k)`` integer array (:func:`marker_slots`, on the host).
        slack: tokens of context kept before the first marker (at least ``MIN_SLACK``).
        gap: marker tokens at most this far apart belong to one cluster.
        tail: tokens read from the end of a row with no marker.

    Returns:
        :class:`Spans`.

    >>> import numpy as np
    >>> s = spans_from_slots(np.array([[12, 10, -1, BOX, 0, 0, 0]]), slack=4)
    >>> s.start.tolist(), s.end.tolist(), s.fallback.tolist(), s.more.tolist()
    ([6], [12], [0], [0])
    """
    import numpy as np  # not torch: on (B, slots) each small torch CPU op waits for the pool

    slack = max(int(slack), MIN_SLACK)
    slots = np.asarray(slots, dtype=np.int64)
    b = slots.shape[0]
    n, at, kk, prev = Slots.unpack(slots)
    if at.shape[1] == 0:
        z = np.zeros(b, dtype=np.int64)
        return Spans(z, z, z, z, n)
    seen = at >= 0
    kk, prev = np.where(seen, kk, 0), np.where(seen, prev, 0)  # empty slots hold junk
    rows = np.arange(b)

    def first(mask):  # (B,): the latest listed position where mask holds, else -1
        return np.where(mask.any(1), at[rows, mask.argmax(1)], -1)

    q = first((kk & THINK_CLOSE) != 0)
    # Every flagged token after q is listed unless all k are taken and q is not listed.
    unseen = seen[:, -1] & (q < 0)
    after = seen & (at > q[:, None])
    o_after = (((kk & THINK_OPEN) != 0) & after).any(1)
    o = first((kk & THINK_OPEN) != 0)
    fence = (((kk & FENCE) != 0) & after).any(1)
    marker = ((kk & (BOX | MARK)) != 0) & after
    tag = (((kk & OPEN_TAG) != 0) | (((prev & LT) != 0) & (at > 0) & ((kk & ANS_START) != 0))) & after

    # Clusters over the markers alone, latest first: a marker more than `gap` tokens after
    # the next listed one (or the earliest) starts a cluster.
    m = -np.sort(-np.where(marker, at, -1), axis=1)
    m_next = np.concatenate([m[:, 1:], np.full((b, 1), -1)], 1)
    starts = (m >= 0) & ((m_next < 0) | (m - m_next > gap))
    c_any = np.where(starts.any(1), m[rows, starts.argmax(1)], -1)
    box = ((kk & BOX) != 0) & after
    p_box = first(box)
    in_box = starts & (m <= p_box[:, None])
    c_box = np.where(in_box.any(1), m[rows, in_box.argmax(1)], -1)
    t_open = first(tag)
    far = np.iinfo(np.int64).max
    anchor = np.minimum(
        np.where(c_any >= 0, c_any, far),
        np.minimum(np.where(c_box >= 0, c_box, far), np.where(t_open >= 0, t_open, far)),
    )
    start = np.maximum(np.where(c_any >= 0, anchor - slack, n - tail), 0)
    fallback = np.maximum(q, 0)
    start = np.maximum(start, fallback)
    start = np.where(fence | ((q >= 0) & o_after) | unseen, fallback, start)
    truncated = (q < 0) & (o >= 0) & ~unseen
    start = np.where(truncated, o, start)
    end = np.where(truncated, o + 1, n)
    start = np.minimum(start, end)
    early = at < start[:, None]
    more = (
        np.where((marker & early).any(1), EARLIER_MARKER, 0)
        | np.where(((box | tag) & early).any(1), EARLIER_BOX, 0)
    ).astype(np.int64)
    return Spans(start, end, fallback, more, n)


def find_answer_spans(
    input_ids: Any, lengths: Optional[Any], table: MarkerTable, config: MathConfig
) -> Tuple[Spans, Any]:
    """Each row's answer span: :func:`marker_slots` on the device, one host transfer,
    :func:`spans_from_slots` on the host (whole rows when ``table`` is not reliable).

    Rows must be right-padded: with an attention mask, move each row's kept ids to the
    front first and pass their counts as ``lengths``.

    Args:
        input_ids: ``(B, L)`` integer tensor, right-padded.
        lengths: ``(B,)`` integer tensor of valid tokens per row, or None (all ``L``).
        table: the tokenizer's :class:`MarkerTable`.
        config: the span settings (``span_slots``, ``span_slack_tokens``, ...).

    Returns:
        ``(spans, rows)``: the :class:`Spans` and the ids as a ``(B, L)`` numpy array.

    >>> import torch, types
    >>> chars = lambda lists, skip_special_tokens=True: [''.join(map(chr, i)) for i in lists]
    >>> table = MarkerTable(types.SimpleNamespace(vocab_size=128, batch_decode=chars))
    >>> ids = torch.tensor([[ord(c) for c in 'x #### 4']])
    >>> spans, rows = find_answer_spans(ids, None, table, MathConfig())
    >>> spans.start.tolist(), spans.end.tolist(), rows.shape
    ([0], [8], (1, 8))
    """
    import torch

    if lengths is None:
        lengths = torch.full((input_ids.shape[0],), input_ids.shape[1], dtype=torch.int64)
    packed = marker_slots(input_ids, lengths, table.to(input_ids.device), config.span_slots)
    packed, rows = _to_host(packed, input_ids)
    spans = spans_from_slots(
        packed, config.span_slack_tokens, config.span_gap_tokens, config.span_tail_tokens
    )
    # Markers may hide in unflagged pieces: read every row whole.
    return (spans if table.reliable else spans.whole_rows()), rows


def _to_host(packed: Any, input_ids: Any) -> Tuple[Any, Any]:
    """The marker slots and the ids as numpy arrays, in one transfer off an accelerator."""
    import torch

    if input_ids.device.type == 'cpu':
        return packed.numpy(), input_ids.detach().numpy()
    both = torch.cat([packed, input_ids.detach().to(torch.int64)], 1).cpu().numpy()
    return both[:, : packed.shape[1]], both[:, packed.shape[1] :]


def decode_answer_spans(
    rows: Any, spans: Spans, decode: Callable[[List[List[int]]], List[str]], strict: bool = False
) -> Tuple[List[str], List[Extraction]]:
    """The decoded text and the extracted answer of each row's span.

    A span whose extraction may depend on earlier text (:func:`_needs_earlier_text`) is
    decoded again from its ``fallback``, so the answer is the one of the whole response.

    Args:
        rows: ``(B, L)`` numpy array of ids (from :func:`find_answer_spans`).
        spans: the :class:`Spans` of those rows.
        decode: token id lists -> texts (the tokenizer's ``batch_decode``).
        strict: :attr:`MathConfig.strict`.

    Returns:
        ``(texts, extractions)``, one of each per row.

    >>> import numpy as np
    >>> rows = np.array([[ord(c) for c in 'The answer is 3.']])
    >>> spans = Spans(*(np.array([v]) for v in (0, 16, 0, 0, 16)))
    >>> chars = lambda lists: [''.join(map(chr, ids)) for ids in lists]
    >>> texts, extractions = decode_answer_spans(rows, spans, chars)
    >>> texts, extractions[0].answer
    (['The answer is 3.'], '3')
    """
    at = Spans(*(column.tolist() for column in spans))  # Python ints index faster
    texts = _decode_slices(decode, rows, range(len(at.start)), at.start, at.end)
    extractions, again = [], []
    for i, text in enumerate(texts):
        ext, scope = extract_scoped(text, strict)
        extractions.append(ext)
        if at.start[i] > at.fallback[i] and _needs_earlier_text(scope, at.more[i]):
            again.append(i)
    if again:
        redone = _decode_slices(decode, rows, again, at.fallback, at.length)
        for i, text in zip(again, redone):
            texts[i], extractions[i] = text, extract_answer(text, strict)
    return texts, extractions


def _needs_earlier_text(scope: str, more: int) -> bool:
    """Whether a span's extraction of ``scope`` may change with the text before it, given ``more``."""
    return scope == PREFIX or (scope == TAIL and more != 0) or (scope == MARKED and (more & EARLIER_BOX) != 0)


def _decode_slices(
    decode: Callable, rows: Any, which: Sequence[int], start: List[int], stop: List[int]
) -> List[str]:
    """``decode`` of ``rows[i, start[i]:stop[i]]`` for each ``i`` in ``which``."""
    return decode([rows[i, start[i] : stop[i]].tolist() for i in which])
