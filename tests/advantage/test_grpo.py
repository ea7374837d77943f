"""GRPOAdvantage / RLOOAdvantage / DAPO mask / token broadcast, against formulas written
here independently (TRL's and verl's GRPO as their trainers compute them)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from twinkle.advantage import GRPOAdvantage, RLOOAdvantage, broadcast_to_tokens, dynamic_sampling_mask


# ---- independent formulas --------------------------------------------------------------
def trl_grpo(rewards, G, scale='group', eps=1e-4):
    """TRL GRPOTrainer: view(-1, G), unbiased std, (r - mean) / (std + 1e-4)."""
    grouped = rewards.view(-1, G)
    mean = grouped.mean(dim=1).repeat_interleave(G)
    if scale == 'batch':
        std = rewards.std().expand_as(rewards)
    else:
        std = grouped.std(dim=1).repeat_interleave(G)
    adv = rewards - mean
    return adv if scale == 'none' else adv / (std + eps)


def verl_grpo(scores, index, eps=1e-6, norm_by_std=True):
    """verl's compute_grpo_outcome_advantage: a Python loop over uid groups."""
    groups = {}
    for i, u in enumerate(index):
        groups.setdefault(u, []).append(scores[i])
    mean, std = {}, {}
    for u, vals in groups.items():
        if len(vals) == 1:
            mean[u], std[u] = torch.tensor(0.0), torch.tensor(1.0)
        else:
            t = torch.stack(vals)
            mean[u], std[u] = t.mean(), t.std()
    out = scores.clone()
    for i, u in enumerate(index):
        out[i] = (scores[i] - mean[u]) / (std[u] + eps) if norm_by_std else scores[i] - mean[u]
    return out


def rloo(rewards, G):
    grouped = rewards.view(-1, G)
    others = (grouped.sum(1, keepdim=True) - grouped) / (G - 1)
    return (grouped - others).reshape(-1)


def distinct_groups(B, G, seed):
    """Rewards whose groups are never flat (so every formula is defined)."""
    g = torch.Generator().manual_seed(seed)
    r = torch.rand(B, generator=g)
    r.view(-1, G)[:, 0] = -1.0  # each group holds a value no other member has
    return r


# ---- GRPOAdvantage's docstring example ---------------------------------------------------
def test_docstring_example():
    adv = GRPOAdvantage()([0, 1, 0, 1, 1, 0, 0, 0], num_generations=4, scale='none')
    assert adv.dtype == torch.float32
    assert adv.tolist() == [-0.5, 0.5, -0.5, 0.5, 0.75, -0.25, -0.25, -0.25]


@pytest.mark.parametrize('G', [2, 4, 8, 16])
def test_matches_trl_group_and_none(G):
    r = distinct_groups(G * 32, G, seed=G)
    torch.testing.assert_close(GRPOAdvantage(eps=1e-4)(r, num_generations=G), trl_grpo(r, G))
    torch.testing.assert_close(GRPOAdvantage()(r, num_generations=G, scale='none'), trl_grpo(r, G, 'none'))


def test_matches_trl_batch_scale():
    r = distinct_groups(64, 8, seed=3)
    torch.testing.assert_close(
        GRPOAdvantage(eps=1e-4)(r, num_generations=8, scale='batch'), trl_grpo(r, 8, 'batch')
    )


def test_matches_verl_ragged_uid_groups():
    g = torch.Generator().manual_seed(0)
    index = torch.randint(0, 40, (300,), generator=g)  # uids in any order, ragged sizes
    scores = torch.rand(300, generator=g)
    ours = GRPOAdvantage()(scores, group_ids=index)
    theirs = verl_grpo(scores, index.tolist())
    multi = torch.bincount(index, minlength=40)[index] > 1  # singletons differ by design
    torch.testing.assert_close(ours[multi], theirs[multi], rtol=1e-5, atol=1e-6)
    assert torch.all(ours[~multi] == 0)
    ours_drgrpo = GRPOAdvantage()(scores, group_ids=index, scale='none')
    torch.testing.assert_close(
        ours_drgrpo[multi], verl_grpo(scores, index.tolist(), norm_by_std=False)[multi]
    )


@pytest.mark.parametrize('G', [2, 3, 8])
def test_rloo(G):
    r = distinct_groups(G * 10, G, seed=G)
    torch.testing.assert_close(RLOOAdvantage()(r, num_generations=G), rloo(r, G))
    # RLOO = G/(G-1) * Dr. GRPO on full groups
    torch.testing.assert_close(
        RLOOAdvantage()(r, num_generations=G),
        GRPOAdvantage()(r, num_generations=G, scale='none') * G / (G - 1),
    )


# ---- conventions -----------------------------------------------------------------------
def test_flat_groups_are_exactly_zero():
    # 0.1 * 3 / 3 != 0.1 in float: a std-based test would leak rounding noise here
    r = torch.tensor([0.1, 0.1, 0.1, 0.7, 0.7, 0.7, 0.3, 0.9, 0.3])
    for scale in ('group', 'batch', 'none'):
        adv = GRPOAdvantage(eps=0.0)(r, num_generations=3, scale=scale)
        assert adv[:6].tolist() == [0.0] * 6
        assert torch.all(adv[6:] != 0)


def test_nan_rewards_are_left_out_and_get_zero():
    r = torch.tensor([1.0, float('nan'), 0.0, 0.0, float('nan'), float('nan'), 1.0, 1.0])
    adv = GRPOAdvantage()(r, num_generations=4)
    expected_first = GRPOAdvantage()(torch.tensor([1.0, 0.0, 0.0]), num_generations=3)
    torch.testing.assert_close(adv[[0, 2, 3]], expected_first)
    assert adv[1] == 0 and not torch.isnan(adv).any()
    assert adv[4:].tolist() == [0.0] * 4  # two valid, equal rewards: flat


def test_all_nan_group_and_singletons():
    adv = GRPOAdvantage()([float('nan')] * 3 + [5.0], group_ids=torch.tensor([0, 0, 0, 1]))
    assert adv.tolist() == [0.0, 0.0, 0.0, 0.0]
    # singleton groups are flat: a lone sample has no baseline
    assert GRPOAdvantage()([3.0, 1.0], num_generations=1).tolist() == [0.0, 0.0]
    assert RLOOAdvantage()([3.0], num_generations=1).tolist() == [0.0]


def test_unbiased_flag_and_eps():
    r = torch.tensor([0.0, 1.0, 2.0, 3.0])
    centered = r - 1.5
    torch.testing.assert_close(GRPOAdvantage(eps=0.0)(r, num_generations=4), centered / r.std(unbiased=True))
    torch.testing.assert_close(
        GRPOAdvantage(eps=0.0, unbiased=False)(r, num_generations=4), centered / r.std(unbiased=False)
    )
    torch.testing.assert_close(GRPOAdvantage()(r, num_generations=4, eps=0.5), centered / (r.std() + 0.5))


def test_ragged_equals_contiguous_after_permutation():
    r = distinct_groups(48, 6, seed=1)
    ids = torch.arange(48) // 6
    perm = torch.randperm(48, generator=torch.Generator().manual_seed(0))
    contiguous = GRPOAdvantage()(r, num_generations=6)
    ragged = GRPOAdvantage()(r[perm], group_ids=ids[perm])
    torch.testing.assert_close(ragged, contiguous[perm])


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.25, 1.0, float('nan')]), min_size=4, max_size=4).map(lambda v: v * 4))
def test_permutation_invariance_within_groups(vals):
    r = torch.tensor(vals)
    a = GRPOAdvantage()(r, num_generations=4)
    b = GRPOAdvantage()(r.flip(0), num_generations=4).flip(0)
    torch.testing.assert_close(a, b)


def test_result_dtype_and_device():
    for dtype in (torch.float64, torch.bfloat16, torch.int64, torch.bool):
        out = GRPOAdvantage()(torch.tensor([1, 0, 1, 1]).to(dtype), num_generations=2)
        assert out.dtype == torch.float32 and out.device.type == 'cpu'
    meta = GRPOAdvantage()(torch.zeros(8, device='meta'), num_generations=4)
    assert meta.device.type == 'meta'  # stays on the caller's device


def test_dynamic_sampling_mask():
    r = torch.tensor([1.0, 1.0, 0.0, 1.0, float('nan'), 1.0, 0.5, float('nan')])
    assert dynamic_sampling_mask(r, num_generations=2).tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    ids = torch.tensor([3, 1, 3, 1, 2, 2, 9, 9])
    assert dynamic_sampling_mask(r, group_ids=ids).tolist() == [
        True,
        False,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    _, keep = GRPOAdvantage()(r, num_generations=2, return_keep=True)
    assert torch.equal(keep, dynamic_sampling_mask(r, num_generations=2))


def test_broadcast_to_tokens():
    adv = torch.tensor([1.5, -0.5, 2.0])
    out = broadcast_to_tokens(adv, lengths=torch.tensor([2, 0, 3]), max_length=4)
    assert out.tolist() == [[1.5, 1.5, 0, 0], [0, 0, 0, 0], [2.0, 2.0, 2.0, 0]]
    assert broadcast_to_tokens(adv, lengths=torch.tensor([2, 0, 3])).shape == (3, 3)
    mask = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=torch.bfloat16)
    out = broadcast_to_tokens(adv, response_mask=mask)
    assert out.dtype == torch.bfloat16
    assert out.float().tolist() == [[0, 1.5, 1.5], [-0.5, 0, 0], [2, 2, 2]]
    out = broadcast_to_tokens(adv, response_mask=mask.bool(), dtype=torch.float16)
    assert out.dtype == torch.float16


# ---- bad input: ValueErrors that name the argument --------------------------------------
@pytest.mark.parametrize(
    'kwargs,msg',
    [
        (dict(num_generations=0), 'num_generations must be > 0, got 0'),
        (dict(num_generations=-2), 'num_generations must be > 0'),
        (dict(num_generations=3), 'num_generations=3 does not divide'),
        (dict(num_generations=2.0), 'num_generations must be an int'),
        (dict(), 'num_generations is required'),
        (dict(num_generations=2, scale='std'), "scale must be one of .* got 'std'"),
        (dict(group_ids=torch.zeros(3, dtype=torch.int64)), r'group_ids must have shape \(B,\)'),
        (dict(group_ids=torch.zeros(4)), 'group_ids must have an integer dtype'),
        # an empty list has no dtype: the error is its length, not "float32"
        (
            dict(group_ids=[]),
            r'group_ids must have shape \(B,\) = \(4,\), one id per reward, got '
            r'shape \(0,\) \(empty\)',
        ),
        (dict(group_ids=[0, 1]), r'group_ids must have shape \(B,\) = \(4,\).* got shape \(2,\)$'),
        (dict(group_ids=torch.zeros(4, dtype=torch.int64), num_generations=2), 'not both'),
        (dict(num_generations=2, eps=-1.0), 'eps must be'),
    ],
)
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        GRPOAdvantage()([0.0, 1.0, 0.0, 1.0], **kwargs)


def test_bad_rewards():
    with pytest.raises(ValueError, match=r'rewards must be 1-D \(B,\), got shape \(2, 2\)'):
        GRPOAdvantage()(torch.zeros(2, 2), num_generations=2)
    with pytest.raises(ValueError, match='rewards must be a list of numbers'):
        GRPOAdvantage()(['a', 'b'], num_generations=2)
    with pytest.raises(ValueError, match='scale must be one of'):
        GRPOAdvantage(scale='group_std')
    with pytest.raises(ValueError, match='process_group needs group_ids'):
        GRPOAdvantage()([0.0, 1.0], num_generations=2, process_group=object())
    with pytest.raises(ValueError, match='exactly one of lengths or response_mask'):
        broadcast_to_tokens(torch.zeros(2))


def test_empty_group_ids_list_for_no_rewards():
    out = GRPOAdvantage()([], group_ids=[])
    assert out.shape == (0,) and out.dtype == torch.float32
    assert dynamic_sampling_mask(torch.zeros(0), group_ids=[]).shape == (0,)


@pytest.mark.parametrize('max_length', [None, 4])
def test_broadcast_rejects_negative_lengths(max_length):
    with pytest.raises(ValueError, match='lengths must be >= 0 .*got -2'):
        broadcast_to_tokens(torch.ones(3), lengths=torch.tensor([1, -2, 0]), max_length=max_length)
    # zero-length responses stay valid
    assert broadcast_to_tokens(torch.ones(2), lengths=torch.tensor([0, 0]), max_length=max_length).sum() == 0


def test_broadcast_with_max_length_traces_without_graph_break():
    f = torch.compile(lambda a, n: broadcast_to_tokens(a, lengths=n, max_length=3), fullgraph=True)
    assert f(torch.tensor([1.0, -2.0]), torch.tensor([2, 1])).tolist() == [[1, 1, 0], [-2, 0, 0]]


def test_first_call_inside_torch_compile():
    """GRPOAdvantage resolves its backend at construction, so a traced first call works."""
    import subprocess
    import sys

    code = (
        'import torch\nfrom twinkle.advantage import GRPOAdvantage\n'
        'fn = GRPOAdvantage()\n'
        'f = torch.compile(lambda r: fn(r, num_generations=4) * 2, fullgraph=True)\n'
        'print(f(torch.tensor([0., 1., 0., 1., 1., 0., 0., 0.])).tolist())\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '[-1.73' in out.stdout
