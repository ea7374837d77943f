"""``twinkle.ops.dfa_scan``: token-level DFAs over a padded batch, in one op."""

from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import Tensor

from twinkle import reference
from twinkle.constants import DfaError
from twinkle.ops import _dispatch


def _fake(input_ids, lengths, class_ids, tables, starts, dead, chunk=0):
    b, k = input_ids.shape[0], tables.shape[0]
    return (input_ids.new_empty((b, k), dtype=torch.int32), input_ids.new_empty((b, k), dtype=torch.int64))


_dispatch.register_op('dfa_scan', _fake)


def _as_index_tensor(x: Union[int, Tensor], device: torch.device, k: int, name: str) -> Tensor:
    if isinstance(x, Tensor) and x.dtype == torch.int32 and x.device == device and x.shape == (k,):
        return x  # already right (a reward's buffers): no conversion ops
    t = x if isinstance(x, Tensor) else torch.tensor(x, dtype=torch.int32)
    t = t.to(device=device, dtype=torch.int32).reshape(-1)
    if t.shape[0] != k:
        raise ValueError(
            f'dfa_scan: {name} must have one entry per pattern (K = {k}), got shape {tuple(t.shape)}'
        )
    return t


def dfa_scan(
    input_ids: Tensor,
    lengths: Tensor,
    class_ids: Tensor,
    tables: Tensor,
    starts: Union[int, Tensor],
    dead: Union[int, Tensor],
    check: bool = True,
    chunk: int = 0,
) -> Tuple[Tensor, Tensor]:
    """Runs one or K token-level DFAs over every sequence of a padded batch.

    Sequence ``b`` is ``input_ids[b, :lengths[b]]`` (lengths clamped to ``[0, L]``; padding is
    never read); the state after token ``i`` in state ``s`` is ``tables[k, s, class_ids[k, i]]``
    (:func:`twinkle.dfa.tokens.token_classes`).

    Args:
        input_ids: (B, L) uint8, int32 or int64 token ids (uint8: bytes, the string path).
        lengths: (B,) int64 number of valid ids per row.
        class_ids: (V,) int32 for one pattern, or (K, V) for K patterns.
        tables: (S, C) int32 for one pattern, or (K, S_max, C_max) for K patterns.
        starts: the start state, an int or (K,) int32.
        dead: the sink state (or -1 when there is none), an int or (K,) int32.
        check: raise ``ValueError`` on an id outside ``[0, V)`` or a corrupt table (a host
            sync on CUDA). Without it (always under ``torch.compile``) such rows end in
            ``DfaError.BAD_ID`` (-1, with the bad id's position) or ``DfaError.BAD_TABLE`` (-2).
        chunk: tokens per independently scanned chunk (the CUDA kernel's way); 0 lets the
            backend choose. Only speed depends on it.

    Returns:
        ``(final_state, first_dead)``: int32 and int64, (B,) for one pattern or (B, K).
        ``first_dead`` is the index of the token after which the DFA first sat in its
        dead state, 0 when the start state is dead and the row not empty, else -1.

    Raises:
        ValueError: with ``check``, an id out of range (naming the row and position), or a
            negative ``chunk``.

    >>> cls = torch.tensor([0, 1], dtype=torch.int32)           # id 0 = 'a', id 1 = other
    >>> tab = torch.tensor([[1, 2], [1, 2], [2, 2]], dtype=torch.int32)  # a+, sink 2
    >>> final, fd = dfa_scan(torch.tensor([[0, 0, 1], [0, 1, 0]]), torch.tensor([2, 3]),
    ...                      cls, tab, starts=0, dead=2)
    >>> final.tolist(), fd.tolist()
    ([1, 2], [-1, 1])
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
        raise ValueError(f'dfa_scan: chunk must be an int >= 0 (0 lets the backend choose), got {chunk!r}')
    single = class_ids.dim() == 1
    if single != (tables.dim() == 2):
        raise ValueError(
            f'dfa_scan: class_ids {tuple(class_ids.shape)} and tables '
            f'{tuple(tables.shape)} must both be one pattern ((V,), (S, C)) or K '
            'patterns ((K, V), (K, S, C))'
        )
    if single:
        class_ids, tables = class_ids.unsqueeze(0), tables.unsqueeze(0)
    dev = input_ids.device
    k = tables.shape[0]
    starts_t = _as_index_tensor(starts, dev, k, 'starts')
    dead_t = _as_index_tensor(dead, dev, k, 'dead')
    args = (input_ids, lengths, class_ids, tables, starts_t, dead_t, chunk)
    if _dispatch.use_compiled('dfa_scan', dev):
        final, first_dead = torch.ops.twinkle.dfa_scan(*args)
    else:
        final, first_dead = reference.dfa_scan(*args)
    if check and not torch.compiler.is_compiling():
        _raise_on_errors(final, first_dead, class_ids.shape[1])
    if single:
        return final[:, 0], first_dead[:, 0]
    return final, first_dead


def _raise_on_errors(final: Tensor, first_dead: Tensor, vocab: int) -> None:
    if final.numel() == 0 or int(final.min()) >= 0:  # one reduction, one sync
        return
    bad = final < 0
    b, k = (int(i) for i in torch.nonzero(bad)[0])
    raise ValueError(error_message(int(final[b, k]), b, k, int(first_dead[b, k]), vocab))


def error_message(state: int, row: int, pattern: int, position: int, vocab: int) -> str:
    """The error for a row the scan flagged (``state`` is a :class:`~twinkle.constants.DfaError`)."""
    if state == DfaError.BAD_ID:
        return (
            f'dfa_scan: input_ids[{row}, {position}] is out of range for a vocabulary of {vocab} '
            'ids (a token table must cover every id the model can emit: pass '
            'vocab_size= to token_table)'
        )
    return (
        f'dfa_scan: pattern {pattern} has a start state, class id or transition out of range '
        f'(row {row}, position {position})'
    )
