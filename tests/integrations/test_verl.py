"""verl's custom reward function signatures (verl itself is not needed)."""
import importlib.util
import inspect

import numpy as np
import pytest

from twinkle.integrations import verl
from twinkle.integrations.verl import VerlScorer, compute_score, compute_score_batch

HAVE_MATH = importlib.util.find_spec('twinkle.reward.math') is not None


def test_signatures_follow_verl():
    # NaiveRewardManager calls compute_score(data_source=, solution_str=, ground_truth=,
    # extra_info=); BatchRewardManager calls compute_score(data_sources=, solution_strs=,
    # ground_truths=, extra_infos=), both with reward_kwargs as extra keywords.
    assert list(inspect.signature(compute_score).parameters)[:4] == [
        'data_source', 'solution_str', 'ground_truth', 'extra_info']
    assert list(inspect.signature(compute_score_batch).parameters)[:4] == [
        'data_sources', 'solution_strs', 'ground_truths', 'extra_infos']
    assert compute_score(data_source='gsm8k', solution_str='#### 72', ground_truth='72',
                         extra_info={'index': 0}, some_reward_kwarg=1) == 1.0


@pytest.mark.skipif(not HAVE_MATH, reason='twinkle.reward.math is not there yet')
@pytest.mark.parametrize('solution, gt, expected', [
    (r'... so $\boxed{\frac{1}{2}}$', '0.5', 1.0),
    ('#### 72', '72', 1.0),
    ('#### 70', '72', 0.0),
    ('I am not sure', '72', 0.0),
    ('#### 72', 72, 1.0),          # verl parquet ground truths may be numbers
    ('#### 72', np.int64(72), 1.0),
])
def test_default_is_math(solution, gt, expected):
    assert compute_score('openai/gsm8k', solution, gt) == expected


def test_batch_form_matches_single_calls():
    sols = ['#### 1', '#### 2', '#### 3', 'no']
    gts = ['1', '1', '3', '3']
    srcs = np.array(['a', 'b', 'a', 'b'], dtype=object)  # verl passes numpy arrays
    batch = compute_score_batch(srcs, sols, gts, [None] * 4)
    assert batch == [compute_score(s, x, g) for s, x, g in zip(srcs, sols, gts)]
    assert all(isinstance(v, float) for v in batch)


def test_custom_reward_per_data_source_and_nan():
    exact = lambda t, g: [float(a == b) for a, b in zip(t, g)]  # noqa: E731
    abstain = lambda t, g: [float('nan')] * len(t)  # noqa: E731
    s = VerlScorer(exact, by_data_source={'hard': abstain}, nan_value=-1.0)
    assert s.compute_score_batch(['easy', 'hard', 'easy'], ['x', 'x', 'y'], ['x', 'x', 'x']) \
        == [1.0, -1.0, 0.0]
    assert VerlScorer(exact, return_dict=True).compute_score('d', 'x', 'x') == {'score': 1.0}


def test_bad_input():
    s = VerlScorer(lambda t, g: [0.0] * len(t))
    with pytest.raises(ValueError, match='same length'):
        s.compute_score_batch(['a'], ['x', 'y'], ['1', '2'])
    with pytest.raises(ValueError, match='extra_infos'):
        s.compute_score_batch(['a'], ['x'], ['1'], [None, None])
    with pytest.raises(TypeError, match=r'solution_strs\[0\]'):
        s.compute_score_batch(['a'], [None], ['1'])
    with pytest.raises(ValueError, match='nan_value'):
        VerlScorer(lambda t, g: [], nan_value=float('nan'))


def test_fallback_without_math(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_math(name, *a, **k):
        if name == 'twinkle.reward.math':
            raise ImportError('simulated')
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, '__import__', no_math)
    r = verl.default_reward()
    assert r([' 4 '], ['4']) == [1.0]
