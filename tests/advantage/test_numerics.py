"""The documented numerics of twinkle.advantage, as (input, expected) tables: statistics
from unrounded rewards, +-inf treated exactly like NaN, flat batches."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from twinkle.advantage import GRPOAdvantage, RLOOAdvantage, dynamic_sampling_mask

INF, NAN = float('inf'), float('nan')
F64 = torch.float64
S = 1 / math.sqrt(2)  # (r - mean) / std of any two distinct rewards (unbiased std)


def _run(fn, rewards, kwargs):
    if fn == 'mask':
        return dynamic_sampling_mask(rewards, **kwargs)
    est = RLOOAdvantage if fn == 'rloo' else GRPOAdvantage
    return est(eps=kwargs.pop('eps', 0.0))(rewards, **kwargs)


def _assert_table(fn, rewards, kwargs, expected):
    got = _run(fn, rewards, dict(kwargs))
    if fn == 'mask':
        assert got.tolist() == expected
        return
    assert got.dtype == torch.float32 and not torch.isnan(got).any()
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float32))


PRECISION = [
    # float64, integer and list rewards reach the float64 statistics unrounded (float32
    # rounds 1e8 + 1 to 1e8, 2**30 + 1 to 2**30 and makes both groups flat)
    ('grpo', torch.tensor([1e8, 1e8 + 1], dtype=F64), dict(num_generations=2, scale='none'), [-0.5, 0.5]),
    ('grpo', [1e8, 1e8 + 1], dict(num_generations=2, scale='none'), [-0.5, 0.5]),
    ('grpo', torch.tensor([2**40, 2**40 + 1]), dict(num_generations=2, scale='none'), [-0.5, 0.5]),
    (
        'grpo',
        torch.tensor([2**30, 2**30 + 1], dtype=torch.int32),
        dict(num_generations=2, scale='none'),
        [-0.5, 0.5],
    ),
    ('grpo', torch.tensor([1e8, 1e8 + 1], dtype=F64), dict(num_generations=2), [-S, S]),
    (
        'grpo',
        torch.tensor([1e8, 1e8 + 1, 1e8 + 2, 1e8 + 3], dtype=F64),
        dict(num_generations=2, scale='batch'),
        [-0.5 / math.sqrt(5 / 3), 0.5 / math.sqrt(5 / 3)] * 2,
    ),
    ('rloo', torch.tensor([1e8, 1e8 + 1], dtype=F64), dict(num_generations=2), [-1.0, 1.0]),
    (
        'grpo',
        torch.tensor([1e8, 5.0, 1e8 + 1, 5.0], dtype=F64),
        dict(group_ids=[0, 1, 0, 1], scale='none'),
        [-0.5, 0.0, 0.5, 0.0],
    ),
    ('grpo', torch.tensor([1.0, 1.0 + 2**-40], dtype=F64), dict(num_generations=2), [-S, S]),
    # beyond float32's range: 1e39 is a finite float64, not inf
    ('grpo', torch.tensor([1e39, 0.0], dtype=F64), dict(num_generations=2), [S, -S]),
    ('grpo', [1e39, 0.0], dict(num_generations=2, scale='batch'), [S, -S]),
    # DAPO's mask sees the same unrounded rewards: these groups are not flat
    (
        'mask',
        torch.tensor([1e8, 1e8 + 1, 3.0, 3.0], dtype=F64),
        dict(num_generations=2),
        [True, True, False, False],
    ),
    ('mask', [1.0, 1.0 + 2**-40], dict(num_generations=2), [True, True]),
]


@pytest.mark.parametrize('fn,rewards,kwargs,expected', PRECISION)
def test_statistics_see_unrounded_rewards(fn, rewards, kwargs, expected):
    _assert_table(fn, rewards, kwargs, expected)


NONFINITE = [
    # +-inf is unscorable, like NaN: left out of the group's statistics, advantage 0
    ('grpo', [INF, 0.0], dict(num_generations=2, scale='none'), [0.0, 0.0]),
    ('grpo', [INF, 0.0, 1.0, 2.0], dict(num_generations=4, scale='none'), [0.0, -1.0, 0.0, 1.0]),
    ('grpo', [-INF, 0.0, 1.0, 2.0], dict(num_generations=4), [0.0, -1.0, 0.0, 1.0]),
    ('grpo', torch.tensor([0.0, 1.0, 2.0, INF], dtype=F64), dict(num_generations=4), [-1.0, 0.0, 1.0, 0.0]),
    ('rloo', [INF, 0.0, 1.0, 2.0], dict(num_generations=4), [0.0, -1.5, 0.0, 1.5]),
    (
        'grpo',
        [INF, 1.0, 3.0, -INF, 2.0],
        dict(group_ids=[5, 5, 5, 7, 7], scale='none'),
        [0.0, -1.0, 1.0, 0.0, 0.0],
    ),
    # a group with no finite reward is flat
    (
        'grpo',
        [INF, -INF, INF, NAN, 1.0, 2.0],
        dict(num_generations=3, scale='none'),
        [0.0, 0.0, 0.0, 0.0, -0.5, 0.5],
    ),
    # ... and left out of the batch std too: one inf no longer makes the whole batch NaN
    ('grpo', [INF, 0.0, 1.0, 2.0], dict(num_generations=2, scale='batch'), [0.0, 0.0, -0.5, 0.5]),
    (
        'grpo',
        [INF, 0.0, 1.0, 0.0, 1.0, NAN],
        dict(num_generations=3, scale='batch'),
        [0.0, -0.5 * math.sqrt(3), 0.5 * math.sqrt(3), -0.5 * math.sqrt(3), 0.5 * math.sqrt(3), 0.0],
    ),
    (
        'rloo',
        [-INF, 0.0, 2.0, 0.0, 2.0, NAN],
        dict(num_generations=3, scale='batch'),
        [0.0, -math.sqrt(3), math.sqrt(3), -math.sqrt(3), math.sqrt(3), 0.0],
    ),  # std 2 / sqrt(3)
    # DAPO's mask: a group whose only finite reward is alone is flat
    (
        'mask',
        [INF, 1.0, 0.0, 1.0, NAN, -INF, 2.0, 2.0],
        dict(num_generations=2),
        [False, False, True, True, False, False, False, False],
    ),
    ('mask', [INF, 1.0, 2.0, -INF], dict(group_ids=[0, 0, 0, 1]), [True, True, True, False]),
]


@pytest.mark.parametrize('fn,rewards,kwargs,expected', NONFINITE)
def test_infinite_rewards_are_left_out_like_nan(fn, rewards, kwargs, expected):
    _assert_table(fn, rewards, kwargs, expected)


FLAT_BATCH = [
    # scale='batch' with eps=0: a batch with fewer than two valid rewards, or all equal,
    # has only flat groups and gets 0, not 0 / 0
    ('grpo', [3.0], dict(num_generations=1, scale='batch'), [0.0]),
    ('grpo', [3.0, NAN], dict(num_generations=2, scale='batch'), [0.0, 0.0]),
    ('grpo', [INF, 2.0], dict(group_ids=[0, 1], scale='batch'), [0.0, 0.0]),
    ('grpo', [1.0, 1.0, 1.0, 1.0], dict(num_generations=2, scale='batch'), [0.0] * 4),
    ('rloo', [3.0], dict(num_generations=1, scale='batch'), [0.0]),
    ('grpo', [NAN, NAN], dict(num_generations=1, scale='batch'), [0.0, 0.0]),
]


@pytest.mark.parametrize('fn,rewards,kwargs,expected', FLAT_BATCH)
def test_flat_batch_is_zero(fn, rewards, kwargs, expected):
    _assert_table(fn, rewards, kwargs, expected)


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(
    data=st.data(),
    gsize=st.integers(1, 6),
    groups=st.integers(1, 8),
    ragged=st.booleans(),
    scale=st.sampled_from(['group', 'batch', 'none']),
    rloo=st.booleans(),
    f64=st.booleans(),
)
def test_inf_is_nan_everywhere(data, gsize, groups, ragged, scale, rloo, f64):
    """The rule in one line: replacing every +-inf by NaN changes nothing, on every path."""
    batch = gsize * groups
    vals = st.one_of(st.sampled_from([0.0, 1.0, NAN, INF, -INF]), st.floats(-1e3, 1e3, width=32))
    r = torch.tensor(
        data.draw(st.lists(vals, min_size=batch, max_size=batch)), dtype=F64 if f64 else torch.float32
    )
    as_nan = torch.where(torch.isinf(r), NAN, r)
    if ragged:
        kw = dict(
            group_ids=torch.tensor(
                data.draw(st.lists(st.integers(0, 4), min_size=batch, max_size=batch)), dtype=torch.int64
            )
        )
    else:
        kw = dict(num_generations=gsize)
    est = (RLOOAdvantage if rloo else GRPOAdvantage)(scale=scale, eps=0.0)
    adv, keep = est(r, return_keep=True, **kw)
    assert torch.equal(adv, est(as_nan, **kw))
    assert torch.equal(keep, dynamic_sampling_mask(as_nan, **kw))
    assert torch.isfinite(adv).all() and torch.all(adv[~torch.isfinite(r)] == 0)
