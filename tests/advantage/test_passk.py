"""GRPOPassKAdvantage against pass@k written here directly: verl's grpo_passk loop as its
trainer computes it, and the rule in plain Python floats with twinkle's conventions
(non-finite rewards left out, flat groups and singletons 0)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from twinkle.advantage import GRPOPassKAdvantage

INF, NAN = float('inf'), float('nan')
F64 = torch.float64


# ---- independent formulas --------------------------------------------------------------
def verl_passk(scores, index, eps=1e-6, norm_by_std=True):
    """verl's grpo_passk: per uid, the top two of the group by torch.topk; the top member
    gets their difference (over the group's torch.std + eps), every other member 0."""
    members = {}
    for i, u in enumerate(index):
        members.setdefault(u, []).append(i)
    out = torch.zeros_like(scores)
    for idx in members.values():
        vals = scores[idx]
        top, pos = torch.topk(vals, 2)
        adv = top[0] - top[1]
        if norm_by_std:
            adv = adv / (vals.std() + eps)
        out[idx[pos[0]]] = adv
    return out


def _std(vals, unbiased):
    mean = sum(vals) / len(vals)
    dof = len(vals) - 1 if unbiased else len(vals)
    return math.sqrt(sum((v - mean) ** 2 for v in vals) / dof)


def direct_passk(rewards, group_of, scale='group', eps=1e-6, unbiased=True):
    """(advantages, keep) as Python lists. Per group, only the finite rewards count; with
    fewer than two, or a tie for the best, every member gets 0; otherwise the one member
    holding the best gets (best - runner-up) over the divisor of ``scale``."""
    finite = [i for i, r in enumerate(rewards) if math.isfinite(r)]
    groups = {}
    for i in finite:
        groups.setdefault(group_of[i], []).append(i)
    if scale == 'batch' and len(finite) >= 2:
        batch_divisor = _std([rewards[i] for i in finite], unbiased) + eps
    adv, keep = [0.0] * len(rewards), [False] * len(rewards)
    for idx in groups.values():
        vals = sorted((rewards[i] for i in idx), reverse=True)
        if len(vals) < 2 or vals[0] == vals[-1]:
            continue  # flat: 0, and DAPO's mask drops the group
        for i in (i for i, g in enumerate(group_of) if g == group_of[idx[0]]):
            keep[i] = True
        if vals[0] == vals[1]:
            continue  # a tie for the best: 0
        margin = vals[0] - vals[1]
        if scale == 'group':
            margin /= _std(vals, unbiased) + eps
        elif scale == 'batch':
            margin /= batch_divisor
        adv[next(i for i in idx if rewards[i] == vals[0])] = margin
    return adv, keep


def _close(got, want):
    torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float32), rtol=2e-6, atol=1e-6)


# ---- verl -------------------------------------------------------------------------------
@pytest.mark.parametrize('G', [2, 3, 8])
@pytest.mark.parametrize('levels', [0, 2, 3])  # continuous, pass/fail, three levels
def test_matches_verl(G, levels):
    g = torch.Generator().manual_seed(G + 10 * levels)
    if levels:
        r = torch.randint(0, levels, (G * 40,), generator=g).float() / (levels - 1)
    else:
        r = torch.rand(G * 40, generator=g)
    index = (torch.arange(G * 40) // G).tolist()
    theirs = verl_passk(r, index)
    torch.testing.assert_close(GRPOPassKAdvantage()(r, num_generations=G), theirs)
    torch.testing.assert_close(
        GRPOPassKAdvantage()(r, num_generations=G, scale='none'), verl_passk(r, index, norm_by_std=False)
    )
    assert (theirs != 0).any()  # the comparison is not vacuous


def test_matches_verl_ragged_uid_groups():
    g = torch.Generator().manual_seed(0)
    index = torch.randint(0, 40, (300,), generator=g)  # uids in any order, ragged sizes
    scores = torch.rand(300, generator=g)
    ours = GRPOPassKAdvantage()(scores, group_ids=index)
    multi = torch.bincount(index, minlength=40)[index] > 1  # verl rejects a group of one
    theirs = verl_passk(scores[multi], index[multi].tolist())
    torch.testing.assert_close(ours[multi], theirs, rtol=1e-5, atol=1e-6)
    assert torch.all(ours[~multi] == 0)


# ---- the direct rule, drawn at random -----------------------------------------------------
@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(
    data=st.data(),
    gsize=st.integers(1, 8),
    groups=st.integers(0, 8),
    ragged=st.booleans(),
    scale=st.sampled_from(['group', 'batch', 'none']),
    eps=st.sampled_from([0.0, 1e-6, 1e-4]),
    unbiased=st.booleans(),
    f64=st.booleans(),
)
def test_matches_direct_rule(data, gsize, groups, ragged, scale, eps, unbiased, f64):
    """Ties, NaN and +-inf members, singletons, all-equal and ragged groups."""
    batch = gsize * groups
    vals = st.one_of(
        st.sampled_from([0.0, 0.5, 1.0, NAN, INF, -INF]), st.floats(-1e3, 1e3, allow_nan=False, width=32)
    )
    rewards = data.draw(st.lists(vals, min_size=batch, max_size=batch))
    if ragged:
        group_of = data.draw(st.lists(st.integers(0, 5), min_size=batch, max_size=batch))
        kw = dict(group_ids=torch.tensor(group_of, dtype=torch.int64))
    else:
        group_of = [i // gsize for i in range(batch)]
        kw = dict(num_generations=gsize)
    r = torch.tensor(rewards, dtype=F64 if f64 else torch.float32)
    est = GRPOPassKAdvantage(scale=scale, eps=eps, unbiased=unbiased)
    adv, keep = est(r, return_keep=True, **kw)
    want_adv, want_keep = direct_passk(rewards, group_of, scale, eps, unbiased)
    assert adv.dtype == torch.float32 and keep.tolist() == want_keep
    _close(adv, want_adv)
    # +-inf is read exactly as NaN
    assert torch.equal(adv, est(torch.where(torch.isinf(r), NAN, r), **kw))


# ---- conventions, as (input, expected) tables ---------------------------------------------
TABLE = [
    # pass/fail: a group with one success gives it 1 / std ([0, 0, 1, 0]: std 0.5)
    ([0.0, 0.0, 1.0, 0.0], dict(num_generations=4), [0.0, 0.0, 2.0, 0.0]),
    # two successes tie for the best: the whole group gets 0
    ([1.0, 0.0, 1.0, 0.0], dict(num_generations=4), [0.0] * 4),
    ([0.2, 0.9, 0.5, 0.6], dict(num_generations=4, scale='none'), [0.0, 0.3, 0.0, 0.0]),
    # all equal, singletons, one finite reward: flat, 0
    ([0.7, 0.7, 0.7], dict(num_generations=3), [0.0] * 3),
    ([3.0, 1.0], dict(num_generations=1), [0.0, 0.0]),
    ([NAN, 2.0, INF, -INF], dict(num_generations=4), [0.0] * 4),
    # non-finite members are left out: the runner-up is the best finite one below the max
    ([INF, 1.0, NAN, 0.25], dict(num_generations=4, scale='none'), [0.0, 0.75, 0.0, 0.0]),
    # ragged groups in any order
    ([0.1, 5.0, 0.4, 4.0, 9.0], dict(group_ids=[3, 8, 3, 8, 1], scale='none'), [0.0, 1.0, 0.3, 0.0, 0.0]),
    # float64 read unrounded: 1e8 and 1e8 + 1 are one float32
    (torch.tensor([1e8, 1e8 + 1, 1e8], dtype=F64), dict(num_generations=3, scale='none'), [0.0, 1.0, 0.0]),
]


@pytest.mark.parametrize('rewards,kwargs,expected', TABLE)
def test_table(rewards, kwargs, expected):
    _close(GRPOPassKAdvantage(eps=0.0)(rewards, **kwargs), expected)


def test_defaults_follow_verl():
    est = GRPOPassKAdvantage()
    assert (est.scale, est.eps, est.unbiased) == ('group', 1e-6, True)


def test_ragged_equals_contiguous_after_permutation():
    r = torch.rand(48, generator=torch.Generator().manual_seed(1))
    ids = torch.arange(48) // 6
    perm = torch.randperm(48, generator=torch.Generator().manual_seed(0))
    contiguous = GRPOPassKAdvantage()(r, num_generations=6)
    assert torch.count_nonzero(contiguous) == 8  # one best per group
    torch.testing.assert_close(GRPOPassKAdvantage()(r[perm], group_ids=ids[perm]), contiguous[perm])
