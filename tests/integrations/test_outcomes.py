"""explain(): one scoring call, each sample's outcome; the async batcher the adapters share."""

import asyncio
import importlib.util
import math

import pytest
import torch

from twinkle.integrations import OUTCOMES, explain, score
from twinkle.integrations._batching import AsyncBatcher
from twinkle.integrations.outcomes import outcome_of
from twinkle.math import Verdict
from twinkle.reward import CombinedReward

HAVE_MATH = importlib.util.find_spec('twinkle.reward.math') is not None


@pytest.mark.parametrize(
    'value, verdict, outcome',
    [
        # verdicts decide
        (1.0, Verdict(1.0, '4', '4', 'exact'), 'correct'),
        (0.0, Verdict(0.0, '5', '4', 'symbolic'), 'incorrect'),
        (0.0, Verdict(0.0, None, '4', 'no_answer'), 'unparsable'),
        (0.0, Verdict(0.0, 'x', '4', 'unparsable'), 'unparsable'),
        (0.0, Verdict(0.0, '3', '4', 'timeout'), 'timeout'),
        (math.nan, Verdict(math.nan, '3', None, 'unparsable_gold'), 'abstain'),
        (0.5, Verdict(math.nan, '3', None, 'unparsable_gold'), 'abstain'),  # nan_policy='zero'
        # no verdicts: only abstention is known
        (math.nan, None, 'abstain'),
        (0.25, None, 'scored'),
    ],
)
def test_outcome_of(value, verdict, outcome):
    assert outcome_of(value, verdict) == outcome and outcome in OUTCOMES


@pytest.mark.skipif(not HAVE_MATH, reason='twinkle.reward.math is not there yet')
def test_combined_reward_explained_by_its_math_part():
    from twinkle.reward import MathReward

    length = lambda t, g: [float(len(x)) for x in t]  # noqa: E731
    c = CombinedReward([(length, 0.0), (MathReward(), 1.0)])
    details = {}
    out = score(c, ['#### 4', '#### 5', 'x'], ['4', '4', ''], details=details)
    assert out.tolist()[:2] == [1.0, 0.0] and math.isnan(out[2].item())
    assert list(details) == ['math'] and len(details['math']) == 3
    e = explain(c, ['#### 4', '#### 5', 'x'], ['4', '4', ''])
    assert e.source == 'math' and e.outcomes == ['correct', 'incorrect', 'abstain']
    assert e.info(2) == {
        'outcome': 'abstain',
        'method': 'unparsable_gold',
        'answer': '',
        'timeout': 0.0,
        'abstained': 1.0,
    }
    assert e.counts() == {
        'correct': 1,
        'incorrect': 1,
        'unparsable': 0,
        'timeout': 0,
        'abstain': 1,
        'scored': 0,
    }


def test_explain_without_verdicts():
    e = explain(lambda t, g: [1.0, math.nan], ['a', 'b'])
    assert e.verdicts is None and e.source == '' and e.outcomes == ['scored', 'abstain']
    assert isinstance(e.rewards, torch.Tensor)


def test_batcher_gathers_ready_calls_and_spreads_errors():
    b = AsyncBatcher(lambda xs: [x + 1 for x in xs], max_batch=3)

    async def main():
        return await asyncio.gather(*(b.submit(i) for i in range(7)))

    assert asyncio.run(main()) == list(range(1, 8))
    assert list(b.sizes) == [3, 3, 1]

    def boom(xs):
        raise RuntimeError('scoring failed')

    bad = AsyncBatcher(boom)

    async def fail():
        return await asyncio.gather(*(bad.submit(i) for i in range(2)), return_exceptions=True)

    assert [str(e) for e in asyncio.run(fail())] == ['scoring failed'] * 2
    short = AsyncBatcher(lambda xs: [])
    with pytest.raises(ValueError, match='1 items'):
        asyncio.run(short.submit(0))
    with pytest.raises(ValueError, match='wait_s'):
        AsyncBatcher(len, wait_s=-1)


# --- the one-sample path: Explainer and score_values give explain()'s and score()'s results


def _same_explained(a, b):
    assert a.values == b.values or all(
        math.isnan(x) and math.isnan(y) or x == y for x, y in zip(a.values, b.values)
    )
    assert a.outcomes == b.outcomes and a.source == b.source
    assert (a.verdicts is None) == (b.verdicts is None)
    if a.verdicts is not None:
        assert [v.method for v in a.verdicts] == [v.method for v in b.verdicts]
    assert torch.equal(a.rewards.isnan(), b.rewards.isnan())
    assert torch.equal(a.rewards.nan_to_num(), b.rewards.nan_to_num())


@pytest.mark.parametrize(
    'reward',
    [
        # values that float32 rounds, NaN and inf: as a float32 tensor holds them
        lambda t, g: [0.1, math.nan, math.inf][: len(t)],
        # a reward that returns a tensor keeps it
        lambda t, g: torch.tensor([0.25, 1.0, 2.0], dtype=torch.float64)[: len(t)],
    ],
)
def test_explainer_matches_explain_without_verdicts(reward):
    from twinkle.integrations.outcomes import Explainer
    from twinkle.integrations.scoring import score_values

    texts = ['a', 'b', 'c']
    _same_explained(Explainer(reward)(texts, None), explain(reward, texts, None))
    values = score_values(reward, texts)
    ref = score(reward, texts)
    assert ref.dtype == torch.float32
    got = values if isinstance(values, torch.Tensor) else torch.tensor(values)
    assert torch.equal(got.isnan(), ref.isnan())
    assert torch.equal(got.nan_to_num(), ref.nan_to_num())


@pytest.mark.skipif(not HAVE_MATH, reason='twinkle.reward.math is not there yet')
def test_explainer_matches_explain_with_verdicts():
    from twinkle.integrations.outcomes import Explainer
    from twinkle.reward import MathReward

    r = MathReward()
    texts, golds = ['The answer is $4$.', 'no idea', '#### 5', '#### 7'], ['4', '4', '4', '']
    for i in range(len(texts)):  # one sample at a time, as verl calls, and the batch
        _same_explained(
            Explainer(r)(texts[i : i + 1], golds[i : i + 1]), explain(r, texts[i : i + 1], golds[i : i + 1])
        )
    e = Explainer(r)(texts, golds)
    _same_explained(e, explain(r, texts, golds))
    assert e.outcomes == ['correct', 'unparsable', 'incorrect', 'abstain']
    c = CombinedReward([(MathReward(), 1.0)])  # takes explain()'s general path
    _same_explained(Explainer(c)(texts, golds), explain(c, texts, golds))


def test_wrong_length_from_the_string_path_is_an_error():
    from twinkle.integrations.outcomes import Explainer
    from twinkle.reward import Reward

    class Short(Reward):  # a Reward is called as it is, its output checked here
        def __call__(self, trajectories, ground_truths=None):
            return [0.0]

    class Wide(Reward):
        def __call__(self, trajectories, ground_truths=None):
            return torch.zeros(len(trajectories), 1)

    for bad in (Short(), Wide()):
        with pytest.raises(ValueError, match='shape'):
            Explainer(bad)(['a', 'b'], None)
        with pytest.raises(ValueError, match='shape'):
            score(bad, ['a', 'b'])
