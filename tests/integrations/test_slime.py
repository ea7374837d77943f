"""twinkle as slime's custom reward function, driven from an asyncio loop.

slime is not on PyPI. Its contract, from its source at commit
624b824a898ab0ec1fcb4d373004c7f3852bf515: ``slime/rollout/rm_hub/__init__.py`` awaits
``--custom-rm-path`` as ``rm(args, sample)`` (``async_rm``) or ``rm(args, samples)``
(``batched_async_rm``, with ``--group-rm``), from the one asyncio loop that runs every
rollout (``slime/rollout/sglang_rollout.py``: ``generate_and_rm``,
``generate_and_rm_group``). ``Sample`` below carries the fields of
``slime/utils/types.py``'s ``Sample`` that a reward reads or writes.
"""

import asyncio
import math
from dataclasses import dataclass, field
from typing import Optional

import pytest

from twinkle.integrations import slime
from twinkle.integrations.slime import SlimeScorer, make_rm
from twinkle.reward import MathReward


@dataclass
class Sample:
    prompt: str = ''
    tokens: list = field(default_factory=list)
    response: str = ''
    response_length: int = 0
    label: Optional[str] = None
    reward: Optional[float] = None
    metadata: dict = field(default_factory=dict)
    remove_sample: bool = False


# (10^7)! has 65 million digits: sympy works for minutes, only the deadline ends it.
SLOW = Sample(response='So the answer is $\\boxed{(10^{7})!}$.', label='(10^{7})! + 1')


def group():
    return [
        Sample(response='So $\\boxed{4}$.', label='4'),
        Sample(response='It is 5.\n#### 5', label='4'),
        Sample(response='Not sure.', label='4'),
        Sample(response='#### 4', label=''),
    ]


def test_per_sample_and_group_forms():
    async def main():
        one = await slime.rm(None, Sample(response='#### 4', label='4'))
        many = await slime.rm(None, group())  # a list, as batched_async_rm passes it
        named = await slime.group_rm(None, group())
        return one, many, named

    one, many, named = asyncio.run(main())
    assert one == 1.0 and isinstance(one, float)
    assert many == named == [1.0, 0.0, 0.0, 0.0]


def test_explanation_in_metadata_and_abstain():
    scorer = SlimeScorer(MathReward(), nan_value=-1.0, remove_abstained=True)
    samples = group()
    assert asyncio.run(scorer(None, samples)) == [1.0, 0.0, 0.0, -1.0]
    assert [s.metadata['twinkle']['outcome'] for s in samples] == [
        'correct',
        'incorrect',
        'unparsable',
        'abstain',
    ]
    assert [s.remove_sample for s in samples] == [False, False, False, True]
    assert list(scorer.batcher.sizes) == [4]  # one twinkle call for the group


def test_concurrent_per_sample_calls_share_one_batch():
    scorer = SlimeScorer(MathReward())

    async def main():  # generate_and_rm_group: one task per sample, gathered
        return await asyncio.gather(*(scorer(None, s) for s in group()))

    assert asyncio.run(main()) == [1.0, 0.0, 0.0, 0.0]
    assert list(scorer.batcher.sizes) == [4]


def test_token_path_reads_response_ids():
    class Tok:  # one character per id
        def __len__(self):
            return 128

        def decode(self, ids, skip_special_tokens=True):
            return ''.join(map(chr, ids))

    text = 'so #### 4'
    s = Sample(
        tokens=[ord(c) for c in 'prompt: ' + text], response='ignored', response_length=len(text), label='4'
    )
    assert asyncio.run(make_rm(MathReward(tokenizer=Tok()))(None, s)) == 1.0


def test_the_loop_stays_responsive_during_a_slow_sympy_case():
    """A ticker keeps ticking while a sample waits out the sympy deadline."""
    rm = make_rm(MathReward(sympy_deadline_s=1.5))
    sample = Sample(**vars(SLOW))

    async def main():
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(ticker())
        reward = await rm(None, sample)
        done.set()
        await t
        return reward, ticks

    reward, ticks = asyncio.run(main())
    assert reward == 0.0 and sample.metadata['twinkle']['outcome'] == 'timeout'
    assert sample.metadata['twinkle']['timeout'] == 1.0
    # The deadline alone is 150 ticks of 10 ms; a blocked loop would tick once or twice.
    assert ticks > 20, ticks


def test_bad_input():
    with pytest.raises(TypeError, match='response'):
        asyncio.run(slime.rm(None, Sample(response=None, label='1')))
    with pytest.raises(TypeError, match=r'samples\[0\]'):
        asyncio.run(slime.group_rm(None, [[Sample()]]))
    with pytest.raises(ValueError, match='nan_value'):
        SlimeScorer(nan_value=math.nan)
