"""Grouping identical rows of an integer table, the step behind byte, token and UTF-8 classes.

Rows are hashed to 64 bits, grouped by hash and verified exactly (an exact sort on a
collision), faster than ``np.unique(axis=0)`` on wide tables and without (N, W) temporaries.
"""

from __future__ import annotations

import numpy as np

__all__ = ['group_rows']

# The verification compares rows in slices of about this many cells.
_CHECK_CELLS = 1 << 15

_HASH_WEIGHTS = np.random.default_rng(0x7F4A7C15).integers(1, 2**63, size=4096, dtype=np.uint64) | 1


def group_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups the identical rows of a 2-D integer (or bool) array, numbered by first occurrence.

    Args:
        rows: (N, W) integer or bool array.

    Returns:
        ``(ids, first)``: ``ids`` (N,) int64 the group of each row (``rows[i]`` equals
        ``rows[j]`` iff ``ids[i] == ids[j]``), ``first`` (G,) int64 the index of each group's
        first row (increasing).

    >>> ids, first = group_rows(np.array([[5, 1], [0, 2], [5, 1], [0, 2], [3, 3]]))
    >>> ids.tolist(), first.tolist()
    ([0, 1, 0, 1, 2], [0, 1, 4])
    """
    if rows.ndim != 2:
        raise ValueError(f'group_rows: rows must be 2-D, got shape {rows.shape}')
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first, inv = np.unique(_row_hashes(rows), return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not _same_rows(rows, first[inv]):  # a hash collision: group by the rows themselves
        _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
    return _first_occurrence_order(inv, first)


def _same_rows(rows: np.ndarray, other: np.ndarray) -> bool:
    """Whether ``rows[i] == rows[other[i]]`` for every row (in slices: no (N, W) temporary)."""
    step = max(1, _CHECK_CELLS // max(rows.shape[1], 1))
    return all(
        (rows[lo : lo + step] == rows[other[lo : lo + step]]).all() for lo in range(0, len(rows), step)
    )


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """(N,) uint64: a random linear hash of each row's bytes, without copying whole-word rows."""
    rows = np.ascontiguousarray(rows)
    if rows.dtype.kind in 'biu' and rows.shape[1] * rows.itemsize % 8 == 0:
        words = rows.view(np.uint64)  # equal rows <=> equal bytes <=> equal words
    else:
        words = rows.astype(np.uint64)
    # einsum sums without the (N, W) temporary of (words * w).sum(1).
    return np.einsum('ij,j->i', words, _hash_weights(words.shape[1]))


def _hash_weights(width: int) -> np.ndarray:
    """Odd random 64-bit weights, one per column (fixed, so results are reproducible)."""
    if width <= len(_HASH_WEIGHTS):
        return _HASH_WEIGHTS[:width]
    return np.random.default_rng(width).integers(1, 2**63, size=width, dtype=np.uint64) | 1


def _first_occurrence_order(inv: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumbers groups ``inv`` (any order, ``first`` their first rows) by first occurrence."""
    order = np.argsort(first)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inv], first[order].astype(np.int64)
