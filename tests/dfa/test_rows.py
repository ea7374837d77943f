"""group_rows: identical rows share an id, ids in order of first occurrence (vs a dict oracle)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from twinkle.dfa import rows as R

DTYPES = [np.int8, np.uint8, np.int32, np.int64, np.uint64, np.bool_]


def _oracle(table: np.ndarray) -> tuple[list[int], list[int]]:
    """Plain Python: the first row index of each distinct row, in order, and each row's group."""
    ids: dict[tuple, int] = {}
    first, out = [], []
    for i, row in enumerate(table.tolist()):
        key = tuple(row)
        if key not in ids:
            ids[key] = len(first)
            first.append(i)
        out.append(ids[key])
    return out, first


@st.composite
def _tables(draw):
    """Small-valued tables (so rows repeat), any width, sometimes transposed (not contiguous)."""
    dtype = draw(st.sampled_from(DTYPES))
    n, width = draw(st.integers(0, 40)), draw(st.integers(0, 20))
    values = st.booleans() if dtype == np.bool_ else st.integers(0 if np.dtype(dtype).kind == 'u' else -2, 2)
    if draw(st.booleans()):
        return draw(hnp.arrays(dtype, (width, n), elements=values)).T
    return draw(hnp.arrays(dtype, (n, width), elements=values))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_tables())
def test_group_rows_matches_oracle(table):
    ids, first = R.group_rows(table)
    want_ids, want_first = _oracle(table)
    assert ids.dtype == np.int64 and first.dtype == np.int64
    assert ids.tolist() == want_ids
    assert first.tolist() == want_first


@settings(derandomize=True, max_examples=50, deadline=None)
@given(_tables())
def test_group_rows_exact_after_a_hash_collision(table):
    # All-zero weights hash every row to 0: the exact fallback must still group correctly.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(R, '_hash_weights', lambda width: np.zeros(width, dtype=np.uint64))
        ids, first = R.group_rows(table)
    want_ids, want_first = _oracle(table)
    assert ids.tolist() == want_ids and first.tolist() == want_first


def test_group_rows_rejects_non_2d():
    with pytest.raises(ValueError, match='2-D'):
        R.group_rows(np.zeros(3, dtype=np.int64))
