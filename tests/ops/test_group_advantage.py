"""twinkle::group_advantage against the pure-torch reference."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import compiled_or_skip
from twinkle import reference
from twinkle.constants import Baseline
from twinkle.ops.group_advantage import group_advantage

INF, NAN = float('inf'), float('nan')


def _rewards(n, nan_frac=0.0, levels=None, seed=0, scale=1.0, inf_frac=0.0):
    g = torch.Generator().manual_seed(seed)
    if levels:
        r = torch.randint(0, levels, (n,), generator=g).float() / max(levels - 1, 1)
    else:
        r = torch.randn(n, generator=g) * scale
    if nan_frac:
        r[torch.rand(n, generator=g) < nan_frac] = NAN
    if inf_frac:
        r[torch.rand(n, generator=g) < inf_frac] = INF
        r[torch.rand(n, generator=g) < inf_frac] = -INF
    return r


def _ragged(ids):
    sorted_ids, order = torch.sort(ids, stable=True)
    return order, sorted_ids


def _check(device, r, order, sorted_ids, gsize, baseline, scale, eps, unbiased):
    compiled_or_skip('group_advantage', device)
    r = r.to(device)
    if order is not None:
        order, sorted_ids = order.to(device), sorted_ids.to(device)
    got_adv, got_keep = torch.ops.twinkle.group_advantage(
        r, order, sorted_ids, gsize, baseline, scale, eps, unbiased
    )
    ref_adv, ref_keep = reference.group_advantage(r, order, sorted_ids, gsize, baseline, scale, eps, unbiased)
    assert got_adv.dtype == torch.float32 and got_adv.device == r.device
    assert torch.equal(got_keep, ref_keep)
    torch.testing.assert_close(got_adv, ref_adv, rtol=2e-6, atol=1e-6)
    # flat groups and unscorable (NaN, +-inf) samples are exactly zero, not merely small
    zero = ~got_keep | ~torch.isfinite(r)
    assert torch.all(got_adv[zero] == 0)


# Batch sizes: empty, one, primes and powers of two; group sizes including 1 and B itself.
@pytest.mark.parametrize(
    'batch,gsize', [(0, 1), (1, 1), (2, 2), (7, 7), (12, 4), (13 * 3, 13), (64, 8), (1024, 16), (4099 * 2, 2)]
)
@pytest.mark.parametrize('baseline', list(Baseline))
@pytest.mark.parametrize('scale', [0, 1])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_contiguous_matches_reference(device, batch, gsize, baseline, scale, dtype):
    r = _rewards(batch, nan_frac=0.1, seed=batch, inf_frac=0.05).to(dtype)
    _check(device, r, None, None, gsize, baseline, scale, 1e-6, True)


@pytest.mark.parametrize('batch', [1, 5, 97, 1000])
@pytest.mark.parametrize('unbiased', [True, False])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_ragged_matches_reference(device, batch, unbiased, dtype):
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(-5, max(batch // 3, 1), (batch,), generator=g)  # any order, negative ok
    order, sorted_ids = _ragged(ids)
    r = _rewards(batch, nan_frac=0.2, levels=3, seed=batch + 1, inf_frac=0.05).to(dtype)
    _check(device, r, order, sorted_ids, 0, 0, 1, 1e-4, unbiased)
    _check(device, r, order, sorted_ids, 0, 1, 0, 0.0, unbiased)
    _check(device, r, order, sorted_ids, 0, 2, 1, 1e-6, unbiased)
    # continuous rewards: most groups have a sole best member, so pass@k is not all zero
    _check(
        device, _rewards(batch, nan_frac=0.1, seed=batch).to(dtype), order, sorted_ids, 0, 2, 0, 0.0, unbiased
    )


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    data=st.data(),
    gsize=st.integers(1, 9),
    groups=st.integers(0, 12),
    ragged=st.booleans(),
    baseline=st.sampled_from(list(Baseline)),
    scale=st.sampled_from([0, 1]),
)
def test_differential_random(data, gsize, groups, ragged, baseline, scale):
    """Random rewards (ties, NaN, large offsets) agree with the reference on CPU."""
    batch = gsize * groups
    vals = st.one_of(
        st.sampled_from([0.0, 1.0, 0.5, NAN, INF, -INF]), st.floats(-1e4, 1e4, allow_nan=False, width=32)
    )
    r = torch.tensor(data.draw(st.lists(vals, min_size=batch, max_size=batch)), dtype=torch.float32)
    _check_drawn(data, r, gsize, ragged, baseline, scale)


def _check_drawn(data, r, gsize, ragged, baseline, scale):
    """The compiled op on CPU against the reference, and ±inf read exactly as NaN."""
    order, sorted_ids = None, None
    if ragged:
        ids = torch.tensor(
            data.draw(st.lists(st.integers(0, 6), min_size=r.shape[0], max_size=r.shape[0])),
            dtype=torch.int64,
        )
        order, sorted_ids = _ragged(ids)
        gsize = 0
    _check(torch.device('cpu'), r, order, sorted_ids, gsize, baseline, scale, 1e-6, True)
    as_nan = torch.where(torch.isinf(r), NAN, r)
    got = torch.ops.twinkle.group_advantage(r, order, sorted_ids, gsize, baseline, scale, 1e-6, True)
    want = torch.ops.twinkle.group_advantage(as_nan, order, sorted_ids, gsize, baseline, scale, 1e-6, True)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


# Bases whose neighbours below float32's precision (relative steps of 2**-28 < 2**-24) are one
# float32 value: 1e8 + 1 rounds to 1e8, and 1e39 is beyond float32's range altogether.
BASES = [0.0, 1.0, -3.0, 1e4, 1e8, -2.5e12, 1e30, 1e39]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    data=st.data(),
    gsize=st.integers(1, 9),
    groups=st.integers(0, 10),
    ragged=st.booleans(),
    baseline=st.sampled_from(list(Baseline)),
    scale=st.sampled_from([0, 1]),
    base=st.sampled_from(BASES),
)
def test_differential_float64_below_float32_precision(data, gsize, groups, ragged, baseline, scale, base):
    """float64 rewards that float32 would merge (and NaN, ±inf) agree with the reference."""
    near = st.integers(-8, 8).map(lambda k: base * (1 + k * 2.0**-28) if base else k * 2.0**-28)
    vals = st.one_of(near, st.sampled_from([base, NAN, INF, -INF]))
    batch = gsize * groups
    r = torch.tensor(data.draw(st.lists(vals, min_size=batch, max_size=batch)), dtype=torch.float64)
    _check_drawn(data, r, gsize, ragged, baseline, scale)


@pytest.mark.parametrize(
    'rewards,gsize,scale,expected_adv,expected_keep',
    [
        # float64 is read unrounded: one float32 value (1e8), two distinct float64 ones
        ([1e8, 1e8 + 1], 2, 0, [-0.5, 0.5], [True, True]),
        ([1e8, 1e8 + 1, 7.0, 7.0], 2, 1, [-(2**-0.5), 2**-0.5, 0.0, 0.0], [True, True, False, False]),
        ([1e39, -1e39], 2, 1, [2**-0.5, -(2**-0.5)], [True, True]),  # inf in float32
        # ±inf and NaN alike: left out, advantage 0; a group left with one finite reward is flat
        ([INF, 0.0], 2, 0, [0.0, 0.0], [False, False]),
        ([INF, 0.0, 1.0, 2.0], 4, 1, [0.0, -1.0, 0.0, 1.0], [True] * 4),
        ([-INF, INF, NAN, -INF], 4, 1, [0.0] * 4, [False] * 4),
    ],
)
def test_op_table(device, rewards, gsize, scale, expected_adv, expected_keep):
    compiled_or_skip('group_advantage', device)
    r = torch.tensor(rewards, dtype=torch.float64, device=device)
    adv, keep = torch.ops.twinkle.group_advantage(r, None, None, gsize, 0, scale, 0.0, True)
    assert adv.dtype == torch.float32 and keep.tolist() == expected_keep
    torch.testing.assert_close(adv.cpu(), torch.tensor(expected_adv))


PASSK_TABLE = [
    # the sole best member gets its margin over the runner-up, everyone else 0
    ([0.0, 1.0, 0.5, 0.25], 4, 0, [0.0, 0.5, 0.0, 0.0], [True] * 4),
    # a tie for the best: the max is its own runner-up, so the whole group gets 0 (yet is
    # not flat: the keep-mask still marks it)
    ([1.0, 0.0, 1.0, 0.5], 4, 0, [0.0] * 4, [True] * 4),
    # scale 1: the margin over the group's unbiased std ([0, 1, 0, 0]: std 0.5)
    ([0.0, 1.0, 0.0, 0.0], 4, 1, [0.0, 2.0, 0.0, 0.0], [True] * 4),
    # float64 read unrounded; NaN and +-inf are left out (the runner-up is finite)
    ([1e8, 1e8 + 1, NAN, INF], 4, 0, [0.0, 1.0, 0.0, 0.0], [True] * 4),
    ([INF, 2.0, -INF, NAN], 4, 0, [0.0] * 4, [False] * 4),  # one finite reward: flat
    ([3.0, 3.0, 5.0], 1, 0, [0.0] * 3, [False] * 3),  # singletons: flat
]


@pytest.mark.parametrize('rewards,gsize,scale,expected_adv,expected_keep', PASSK_TABLE)
def test_op_table_second_max(device, rewards, gsize, scale, expected_adv, expected_keep):
    compiled_or_skip('group_advantage', device)
    r = torch.tensor(rewards, dtype=torch.float64, device=device)
    adv, keep = torch.ops.twinkle.group_advantage(r, None, None, gsize, Baseline.SECOND_MAX, scale, 0.0, True)
    assert keep.tolist() == expected_keep
    torch.testing.assert_close(adv.cpu(), torch.tensor(expected_adv))


def test_two_pass_is_stable_for_large_offsets(device):
    """A one-pass sum of squares loses all precision at 1e4 + tiny differences."""
    compiled_or_skip('group_advantage', device)
    base = torch.tensor([1e4, 1e4 + 1 / 64, 1e4 + 2 / 64, 1e4 + 3 / 64], dtype=torch.float32)
    adv, _ = torch.ops.twinkle.group_advantage(base.to(device), None, None, 4, 0, 1, 0.0, True)
    expected = (torch.tensor([0.0, 1.0, 2.0, 3.0]) - 1.5) / math.sqrt(5 / 3)
    torch.testing.assert_close(adv.cpu(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    'bad,msg',
    [
        (dict(rewards=torch.zeros(2, 2)), 'rewards must be 1-D'),
        (dict(rewards=torch.zeros(4, dtype=torch.int64)), 'rewards must be float32 or float64'),
        (dict(rewards=torch.zeros(4, dtype=torch.float16)), 'rewards must be float32 or float64'),
        (dict(group_size=3), 'does not divide'),
        (dict(group_size=0), 'group_size must be > 0'),
        (dict(order=torch.arange(3), sorted_ids=torch.arange(3)), 'shape'),
        (dict(order=torch.arange(4, dtype=torch.int32), sorted_ids=torch.arange(4)), 'int64'),
        (dict(order=torch.arange(4)), 'together'),
        (dict(baseline=3), 'baseline must be 0 .* or 2 .* got 3'),
        (dict(baseline=-1), 'baseline must be'),
    ],
)
def test_op_rejects_bad_arguments(device, bad, msg):
    compiled_or_skip('group_advantage', device)
    args = dict(rewards=torch.zeros(4), order=None, sorted_ids=None, group_size=2, baseline=0)
    args.update(bad)
    args = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in args.items()}
    with pytest.raises(RuntimeError, match=msg):
        torch.ops.twinkle.group_advantage(
            args['rewards'],
            args['order'],
            args['sorted_ids'],
            args['group_size'],
            args['baseline'],
            1,
            1e-6,
            True,
        )


def test_opcheck(device):
    compiled_or_skip('group_advantage', device)
    r = _rewards(24, nan_frac=0.1).to(device)
    order, sorted_ids = _ragged(torch.arange(24, device=device) % 5)
    r64 = _rewards(24, nan_frac=0.1, inf_frac=0.1).to(device, torch.float64)
    for args in [
        (r, None, None, 4, 0, 1, 1e-6, True),
        (r, order, sorted_ids, 0, 1, 0, 0.0, False),
        (r64, None, None, 6, 1, 1, 1e-6, True),
        (r64, order, sorted_ids, 0, 0, 1, 0.0, True),
        (r, None, None, 4, 2, 1, 1e-6, True),
        (r64, order, sorted_ids, 0, 2, 0, 0.0, False),
    ]:
        torch.library.opcheck(torch.ops.twinkle.group_advantage.default, args)


def test_torch_compile_fullgraph(device):
    r = _rewards(64, levels=2).to(device)
    eager = group_advantage(r, group_size=8)[0]

    @torch.compile(fullgraph=True)
    def f(x):
        return group_advantage(x, group_size=8)[0] * 2.0

    torch.testing.assert_close(f(r), eager * 2.0)


def test_wrapper_uses_reference_where_no_kernel():
    """Devices without a compiled kernel (meta here) fall back to the reference."""
    adv, keep = group_advantage(torch.zeros(8, device='meta'), group_size=4)
    assert adv.shape == (8,) and keep.dtype == torch.bool


def test_cuda_path_has_no_host_sync():
    """GRPOAdvantage on CUDA tensors never waits for the device (one launch, no .item())."""
    if not torch.cuda.is_available():
        pytest.skip('no CUDA device on this machine')
    from twinkle.advantage import GRPOAdvantage

    r = _rewards(8192, levels=3).cuda()
    ids = (torch.arange(8192, device='cuda') * 7919) % 1024
    GRPOAdvantage()(r, num_generations=8)  # warm up: library load and fake registration
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        GRPOAdvantage()(r, num_generations=8)
        GRPOAdvantage()(r, group_ids=ids)
        GRPOAdvantage()(r, num_generations=8, scale='batch')
    finally:
        torch.cuda.set_sync_debug_mode('default')
