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


@pytest.mark.parametrize('value, verdict, outcome', [
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
])
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
    assert e.info(2) == {'outcome': 'abstain', 'method': 'unparsable_gold', 'answer': '',
                         'timeout': 0.0, 'abstained': 1.0}
    assert e.counts() == {'correct': 1, 'incorrect': 1, 'unparsable': 0, 'timeout': 0,
                          'abstain': 1, 'scored': 0}


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
