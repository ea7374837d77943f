"""The Reward interface: subclasses, plain functions, combinations, shared helpers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinkle.data_format import Trajectory
from twinkle.reward import (
    CombinedReward,
    FunctionReward,
    Reward,
    as_reward,
    check_batch,
    combined,
    content_text,
    ground_truth_text,
    last_completion,
)


def traj(*contents, role='assistant'):
    return Trajectory(
        messages=[{'role': 'user', 'content': 'q'}] + [{'role': role, 'content': c} for c in contents]
    )


class CustomReward(Reward):
    """A subclass with its own per-sample scoring loop (the first custom-reward style)."""

    def __call__(self, trajectories, ground_truths):
        return [self._evaluate(t, g) for t, g in zip(trajectories, ground_truths)]

    def _evaluate(self, traj, gt):
        return 1.0 if last_completion(traj) == ground_truth_text(gt) else 0.0


def my_reward(trajectories, ground_truths):
    return [1.0 if t == gt else 0.0 for t, gt in zip(trajectories, ground_truths)]


def test_custom_reward_styles():
    ts = [traj('4'), traj('5')]
    gts = [Trajectory(user_data=[('solution', '4')])] * 2
    assert CustomReward()(ts, gts) == [1.0, 0.0]
    assert my_reward(ts, ts[::-1]) == [0.0, 0.0]
    assert as_reward(my_reward)(ts, ts) == [1.0, 1.0]


def test_last_completion():
    assert last_completion(traj('a', 'b')) == 'b'
    assert last_completion(traj('x', role='user')) == ''
    assert (
        last_completion(
            traj([{'type': 'text', 'text': 'a'}, {'type': 'image'}, {'type': 'text', 'text': 'b'}])
        )
        == 'ab'
    )
    t = {'messages': [{'role': 'assistant', 'content': 'dict'}]}
    assert last_completion(t) == 'dict'
    assert last_completion({'messages': [{'role': 'assistant', 'content': None}]}) is None
    assert content_text(3) is None


def test_ground_truth_text_order():
    assert ground_truth_text(Trajectory(user_data=[('solution', '1'), ('ground_truth', '2')])) == '1'
    assert ground_truth_text(Trajectory(user_data=[('ground_truth', 2)])) == '2'
    assert ground_truth_text(Trajectory(messages=[{'role': 'assistant', 'content': '7'}])) == '7'
    assert ground_truth_text('8') == '8' and ground_truth_text(9) == '9'
    assert ground_truth_text(None) is None and ground_truth_text(Trajectory()) is None


def test_check_batch_repeats_per_prompt_ground_truths():
    ts = [traj(str(i)) for i in range(6)]
    assert check_batch(ts, ['a', 'b'], 'R', True) == ['a'] * 3 + ['b'] * 3
    assert check_batch(ts, list('abcdef'), 'R', True) == list('abcdef')
    assert check_batch(ts, None, 'R', False) is None
    with pytest.raises(ValueError, match='R: ground_truths has 4 entries for 6 trajectories'):
        check_batch(ts, list('abcd'), 'R', True)
    with pytest.raises(ValueError, match='ground_truths is required'):
        check_batch(ts, None, 'R', True)
    with pytest.raises(TypeError, match='trajectories must be a list'):
        check_batch('abc', None, 'R', False)


def test_combined_reward_weights_parts_and_keeps_them():
    fmt = lambda t, g: [1.0, 0.0, 1.0]

    class Acc(Reward):
        name = 'acc'

        def __call__(self, t, g):
            return [0.0, 1.0, float('nan')]

    c = CombinedReward({fmt: 0.5, Acc(): 2.0})
    out = c([traj('a')] * 3, ['x'] * 3)
    assert out[:2] == [0.5, 2.0] and math.isnan(out[2])  # an abstaining part abstains the sum
    assert list(c.last_parts) == ['<lambda>', 'acc']
    assert c.last_parts['<lambda>'] == [1.0, 0.0, 1.0]
    assert c.last_parts['acc'][:2] == [0.0, 1.0] and math.isnan(c.last_parts['acc'][2])
    assert CombinedReward([(fmt, 0.5), (Acc(), 2.0)], nan_policy='zero')([traj('a')] * 3, None)[2] == 0.5


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, math.nan, math.inf, -math.inf, 1e308, 5e-324]),
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    rows=st.integers(1, 12),
    weights=st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=64), min_size=1, max_size=4),
    data=st.data(),
    zero=st.booleans(),
)
def test_a_small_batch_sums_as_a_large_one(rows, weights, data, zero):
    """Up to 32 rows the parts' lists are summed in Python; more go through numpy. Each row
    of a small batch equals the same row in a large one, bit for bit (NaN where NaN)."""
    cols = [data.draw(st.lists(_VALUES, min_size=rows, max_size=rows)) for _ in weights]
    parts = [(lambda t, g, c=c: [c[i % rows] for i in range(len(t))], w) for c, w in zip(cols, weights)]
    reward = CombinedReward(parts, nan_policy='zero' if zero else 'propagate')
    small = reward([traj('a')] * rows, None)
    logged = [np.array(v) for v in reward.last_parts.values()]
    assert all(np.array_equal(v, np.array(c), equal_nan=True) for v, c in zip(logged, cols))
    assert rows * 40 > combined._SMALL_BATCH
    large = reward([traj('a')] * (rows * 40), None)[:rows]
    assert np.array_equal(np.array(small), np.array(large), equal_nan=True)
    signs = [(math.copysign(1.0, a), math.copysign(1.0, b)) for a, b in zip(small, large) if a == a]
    assert all(a == b for a, b in signs)  # -0.0 stays -0.0


def test_combined_reward_passes_per_sample_ground_truths_to_functions():
    seen = []

    def f(t, g):
        seen.append(list(g))
        return [0.0] * len(t)

    CombinedReward({f: 1.0})([traj('a')] * 4, ['p', 'q'])
    assert seen == [['p', 'p', 'q', 'q']]


def test_duplicate_names_are_made_unique():
    f = lambda t, g: [0.0] * len(t)
    c = CombinedReward([(f, 1.0), (f, 1.0)])
    assert c.names == ['<lambda>', '<lambda>_1']


@pytest.mark.parametrize(
    'arg,err,msg',
    [
        ({}, ValueError, 'rewards is empty'),
        ({'not callable': 1.0}, TypeError, 'reward must be a Reward or a callable'),
        ({(lambda: 0): 1.0}, TypeError, r'must accept \(trajectories, ground_truths\)'),
        ({(lambda t, g: []): float('inf')}, ValueError, 'weight for part 0 must be finite'),
    ],
)
def test_combined_reward_errors(arg, err, msg):
    with pytest.raises(err, match=msg):
        CombinedReward(arg)


def test_function_reward_checks_its_output():
    with pytest.raises(ValueError, match="reward 'short' returned 1 values for 2 trajectories"):
        FunctionReward(lambda t, g: [1.0], name='short')([traj('a')] * 2, None)
    with pytest.raises(TypeError, match='must return a list of numbers'):
        FunctionReward(lambda t, g: ['x', 'y'])([traj('a')] * 2, None)


@pytest.mark.parametrize('loaded', [True, False])
def test_function_reward_scores_are_floats_with_or_without_the_library(monkeypatch, loaded):
    from twinkle import _ext

    scanner = _ext.string_scanner()
    monkeypatch.setattr(_ext, 'loaded_scanner', lambda: scanner if loaded else None)
    scores = [1.0, 0.5, float('nan')]
    r = FunctionReward(lambda t, g: scores)
    got = r([traj('a')] * 3, None)
    assert got[:2] == [1.0, 0.5] and math.isnan(got[2]) and got is not scores
    ints = FunctionReward(lambda t, g: [1, True, np.float32(0.25)])([traj('a')] * 3, None)
    assert ints == [1.0, 1.0, 0.25] and all(type(x) is float for x in ints)
    with pytest.raises(TypeError, match='must return a list of numbers'):
        FunctionReward(lambda t, g: [1.0, 'y'])([traj('a')] * 2, None)
    with pytest.raises(ValueError, match='returned 2 values for 3 trajectories'):
        FunctionReward(lambda t, g: [1.0, 2.0])([traj('a')] * 3, None)
