"""twinkle::group_advantage against the pure-torch reference."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from tests.conftest import compiled_or_skip
from twinkle import ops, reference
from twinkle.ops.advantage import group_advantage


def _rewards(n, nan_frac=0.0, levels=None, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    if levels:
        r = torch.randint(0, levels, (n,), generator=g).float() / max(levels - 1, 1)
    else:
        r = torch.randn(n, generator=g) * scale
    if nan_frac:
        r[torch.rand(n, generator=g) < nan_frac] = float('nan')
    return r


def _ragged(ids):
    sorted_ids, order = torch.sort(ids, stable=True)
    return order, sorted_ids


def _check(device, r, order, sorted_ids, gsize, baseline, scale, eps, unbiased):
    compiled_or_skip('group_advantage', device)
    r = r.to(device)
    if order is not None:
        order, sorted_ids = order.to(device), sorted_ids.to(device)
    got_adv, got_keep = torch.ops.twinkle.group_advantage(r, order, sorted_ids, gsize, baseline,
                                                          scale, eps, unbiased)
    ref_adv, ref_keep = reference.group_advantage(r, order, sorted_ids, gsize, baseline, scale, eps,
                                                  unbiased)
    assert got_adv.dtype == torch.float32 and got_adv.device == r.device
    assert torch.equal(got_keep, ref_keep)
    torch.testing.assert_close(got_adv, ref_adv, rtol=2e-6, atol=1e-6)
    # flat groups and abstained samples are exactly zero, not merely small
    zero = ~got_keep | torch.isnan(r)
    assert torch.all(got_adv[zero] == 0)


# Batch sizes: empty, one, primes and powers of two; group sizes including 1 and B itself.
@pytest.mark.parametrize('batch,gsize', [(0, 1), (1, 1), (2, 2), (7, 7), (12, 4), (13 * 3, 13),
                                         (64, 8), (1024, 16), (4099 * 2, 2)])
@pytest.mark.parametrize('baseline', [0, 1])
@pytest.mark.parametrize('scale', [0, 1])
def test_contiguous_matches_reference(device, batch, gsize, baseline, scale):
    r = _rewards(batch, nan_frac=0.1, seed=batch)
    _check(device, r, None, None, gsize, baseline, scale, 1e-6, True)


@pytest.mark.parametrize('batch', [1, 5, 97, 1000])
@pytest.mark.parametrize('unbiased', [True, False])
def test_ragged_matches_reference(device, batch, unbiased):
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(-5, max(batch // 3, 1), (batch,), generator=g)  # any order, negative ok
    order, sorted_ids = _ragged(ids)
    r = _rewards(batch, nan_frac=0.2, levels=3, seed=batch + 1)
    _check(device, r, order, sorted_ids, 0, 0, 1, 1e-4, unbiased)
    _check(device, r, order, sorted_ids, 0, 1, 0, 0.0, unbiased)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.data(), gsize=st.integers(1, 9), groups=st.integers(0, 12),
       ragged=st.booleans(), baseline=st.sampled_from([0, 1]), scale=st.sampled_from([0, 1]))
def test_differential_random(data, gsize, groups, ragged, baseline, scale):
    """Random rewards (ties, NaN, large offsets) agree with the reference on CPU."""
    batch = gsize * groups
    vals = st.one_of(st.sampled_from([0.0, 1.0, 0.5, float('nan')]),
                     st.floats(-1e4, 1e4, allow_nan=False, width=32))
    r = torch.tensor(data.draw(st.lists(vals, min_size=batch, max_size=batch)), dtype=torch.float32)
    if ragged:
        ids = torch.tensor(data.draw(st.lists(st.integers(0, 6), min_size=batch, max_size=batch)),
                           dtype=torch.int64)
        order, sorted_ids = _ragged(ids)
        _check(torch.device('cpu'), r, order, sorted_ids, 0, baseline, scale, 1e-6, True)
    else:
        _check(torch.device('cpu'), r, None, None, gsize, baseline, scale, 1e-6, True)


def test_two_pass_is_stable_for_large_offsets(device):
    """A one-pass sum of squares loses all precision at 1e4 + tiny differences."""
    compiled_or_skip('group_advantage', device)
    base = torch.tensor([1e4, 1e4 + 1 / 64, 1e4 + 2 / 64, 1e4 + 3 / 64], dtype=torch.float32)
    adv, _ = torch.ops.twinkle.group_advantage(base.to(device), None, None, 4, 0, 1, 0.0, True)
    expected = (torch.tensor([0., 1., 2., 3.]) - 1.5) / math.sqrt(5 / 3)
    torch.testing.assert_close(adv.cpu(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('bad,msg', [
    (dict(rewards=torch.zeros(2, 2)), 'rewards must be 1-D'),
    (dict(rewards=torch.zeros(4, dtype=torch.float64)), 'rewards must be float32'),
    (dict(group_size=3), 'does not divide'),
    (dict(group_size=0), 'group_size must be > 0'),
    (dict(order=torch.arange(3), sorted_ids=torch.arange(3)), 'shape'),
    (dict(order=torch.arange(4, dtype=torch.int32), sorted_ids=torch.arange(4)), 'int64'),
    (dict(order=torch.arange(4)), 'together'),
])
def test_op_rejects_bad_arguments(device, bad, msg):
    compiled_or_skip('group_advantage', device)
    args = dict(rewards=torch.zeros(4), order=None, sorted_ids=None, group_size=2)
    args.update(bad)
    args = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in args.items()}
    with pytest.raises(RuntimeError, match=msg):
        torch.ops.twinkle.group_advantage(args['rewards'], args['order'], args['sorted_ids'],
                                          args['group_size'], 0, 1, 1e-6, True)


def test_opcheck(device):
    compiled_or_skip('group_advantage', device)
    ops.group_advantage(torch.zeros(2, device=device), group_size=2)  # registers the fake
    r = _rewards(24, nan_frac=0.1).to(device)
    order, sorted_ids = _ragged(torch.arange(24, device=device) % 5)
    for args in [(r, None, None, 4, 0, 1, 1e-6, True), (r, order, sorted_ids, 0, 1, 0, 0.0, False)]:
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
