"""The CUDA kernels of ``twinkle::group_advantage``, their own source, run on the CPU under
the CUDA emulation of ``tests/ops/cuda_emu`` through the launch that
``csrc/cuda/group_advantage.cu`` runs (``group_advantage_launches``), against the pure-torch
reference."""

import ctypes

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ops import cuda_emu
from tests.ops.test_group_advantage import _ragged, _rewards
from twinkle import reference


@pytest.fixture(scope='module')
def emu():
    lib = cuda_emu.build('group_advantage')
    lib.twinkle_emu_group_advantage.restype = ctypes.c_int
    lib.twinkle_emu_group_advantage_f64.restype = ctypes.c_int
    return lib


def run_emulated(lib, r, order, sorted_ids, gsize, baseline, scale, eps, unbiased):
    r = r.contiguous()
    b = r.shape[0]
    adv = torch.full((b,), float('nan'), dtype=torch.float32)
    keep = torch.ones(b, dtype=torch.bool)
    ptr = lambda t: ctypes.c_void_p(t.data_ptr()) if t is not None else None  # noqa: E731
    entry = (
        lib.twinkle_emu_group_advantage_f64 if r.dtype == torch.float64 else lib.twinkle_emu_group_advantage
    )
    rc = entry(
        ptr(r),
        ptr(order.contiguous() if order is not None else None),
        ptr(sorted_ids.contiguous() if sorted_ids is not None else None),
        ctypes.c_int64(b),
        ctypes.c_int64(gsize),
        ctypes.c_int64(baseline),
        ctypes.c_int64(scale),
        ctypes.c_float(eps),
        ctypes.c_bool(unbiased),
        ptr(adv),
        ptr(keep),
    )
    assert rc == 0
    return adv, keep


def _check(lib, r, order, sorted_ids, gsize, baseline, scale, eps, unbiased):
    got_adv, got_keep = run_emulated(lib, r, order, sorted_ids, gsize, baseline, scale, eps, unbiased)
    ref_adv, ref_keep = reference.group_advantage(r, order, sorted_ids, gsize, baseline, scale, eps, unbiased)
    assert torch.equal(got_keep, ref_keep)
    torch.testing.assert_close(got_adv, ref_adv, rtol=2e-6, atol=1e-6)
    assert torch.all(got_adv[~torch.isfinite(r)] == 0)  # NaN and ±inf: unscorable, 0


# ±inf is left out like NaN in the kernels' own logic.
@pytest.mark.parametrize(
    'rewards,expected',
    [
        ([float('inf'), 0.0], [0.0, 0.0]),
        ([float('inf'), 0.0, 1.0, 2.0], [0.0, -1.0, 0.0, 1.0]),
        ([-float('inf'), float('inf'), float('nan'), -float('inf')], [0.0] * 4),
    ],
)
def test_emulated_infinite_rewards(emu, rewards, expected):
    r = torch.tensor(rewards)
    adv, _ = run_emulated(emu, r, None, None, r.shape[0], 0, 1, 0.0, True)
    torch.testing.assert_close(adv, torch.tensor(expected))


# Batches spanning several 256-thread blocks, group sizes 1 to the whole batch.
@pytest.mark.parametrize('batch,gsize', [(1, 1), (7, 7), (12, 4), (64, 8), (1024, 16), (4099 * 2, 2)])
@pytest.mark.parametrize('baseline,scale', [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)])
def test_emulated_contiguous(emu, batch, gsize, baseline, scale):
    r = _rewards(batch, nan_frac=0.1, seed=batch, inf_frac=0.05)
    _check(emu, r, None, None, gsize, baseline, scale, 1e-6, True)


# float64 rewards reach the kernels unrounded: values 1 apart near 1e8 (equal in float32).
@pytest.mark.parametrize('batch,gsize', [(2, 2), (64, 8), (1024, 16)])
@pytest.mark.parametrize('baseline,scale', [(0, 1), (1, 0), (2, 1)])
def test_emulated_float64(emu, batch, gsize, baseline, scale):
    base = _rewards(batch, nan_frac=0.1, seed=batch, inf_frac=0.05).double()
    r = 1e8 + base
    _check(emu, r, None, None, gsize, baseline, scale, 1e-6, True)
    adv, _ = run_emulated(
        emu, torch.tensor([1e8, 1e8 + 1], dtype=torch.float64), None, None, 2, 0, 1, 0.0, True
    )
    assert adv[0] < 0 < adv[1]


@pytest.mark.parametrize('batch', [1, 5, 97, 1000])
@pytest.mark.parametrize('unbiased', [True, False])
def test_emulated_ragged(emu, batch, unbiased):
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(-5, max(batch // 3, 1), (batch,), generator=g)
    order, sorted_ids = _ragged(ids)
    r = _rewards(batch, nan_frac=0.2, levels=3, seed=batch + 1, inf_frac=0.05)
    _check(emu, r, order, sorted_ids, 0, 0, 1, 1e-4, unbiased)
    _check(emu, r, order, sorted_ids, 0, 1, 0, 0.0, unbiased)
    _check(emu, r, order, sorted_ids, 0, 2, 1, 1e-6, unbiased)
    # continuous rewards: most groups have a sole best member, so pass@k is not all zero
    _check(emu, _rewards(batch, nan_frac=0.1, seed=batch), order, sorted_ids, 0, 2, 0, 0.0, unbiased)


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(data=st.data(), gsize=st.integers(1, 9), groups=st.integers(1, 40), ragged=st.booleans())
def test_emulated_differential(emu, data, gsize, groups, ragged):
    batch = gsize * groups
    inf = float('inf')
    vals = st.one_of(
        st.sampled_from([0.0, 1.0, 0.5, float('nan'), inf, -inf]),
        st.floats(-1e4, 1e4, allow_nan=False, width=32),
    )
    r = torch.tensor(data.draw(st.lists(vals, min_size=batch, max_size=batch)), dtype=torch.float32)
    order, sorted_ids = None, None
    if ragged:
        ids = torch.tensor(data.draw(st.lists(st.integers(0, 6), min_size=batch, max_size=batch)))
        order, sorted_ids = _ragged(ids)
        gsize = 0
    for baseline in (1, 2):  # leave-one-out and second max (pass@k)
        _check(emu, r, order, sorted_ids, gsize, baseline, 1, 1e-6, True)
