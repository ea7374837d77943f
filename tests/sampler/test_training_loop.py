"""The standard training loop (sample, score with the standard reward call, advantages),
run as the README writes it."""

import importlib.util

import pytest
import torch

from twinkle.advantage import GRPOAdvantage
from twinkle.data import PromptDataLoader
from twinkle.data_format import Completion
from twinkle.integrations import score
from twinkle.reward import Reward, ground_truth_text, last_completion
from twinkle.sampler import Sampler, TransformersSampler
from twinkle.sampler.testing import tiny_causal_lm, tiny_tokenizer

HAVE_MATH = importlib.util.find_spec('twinkle.reward.math') is not None
ROWS = [{'prompt': f'what is {i} + 1?', 'solution': str(i + 1)} for i in range(6)]


class PromptMatchesTruth(Reward):
    """1.0 when the ground truth handed to a trajectory is its own prompt's."""

    def __call__(self, trajectories, ground_truths=None):
        from twinkle.reward import check_batch

        gts = check_batch(trajectories, ground_truths, 'PromptMatchesTruth', True)
        out = []
        for t, g in zip(trajectories, gts):
            i = int(t.messages[0].content.split()[2])
            out.append(float(ground_truth_text(g) == str(i + 1)))
        return out


class ScriptedSampler(Sampler):
    """Sample 0 of each prompt answers right, the others wrong (ids from the tokenizer)."""

    def __init__(self, tok):
        self.tok = tok

    def _generate(self, prompts, n, params):
        rows = []
        for p in prompts:
            right = int(p.messages[0].content.split()[2]) + 1
            row = []
            for s in range(n):
                text = f'the answer is #### {right if s == 0 else right + 10}'
                ids = self.tok(text)['input_ids'] + [self.tok.eos_token_id]
                row.append(Completion(ids, text, 'eos'))
            rows.append(row)
        return None, rows


@pytest.fixture(scope='module')
def tok():
    return tiny_tokenizer()


def _math_or_custom(tokenizer=None):
    if HAVE_MATH:
        from twinkle.reward import MathReward

        return MathReward(tokenizer=tokenizer)

    class LastNumber(Reward):  # a simple stand-in until twinkle.reward.math lands
        def __call__(self, trajectories, ground_truths=None):
            from twinkle.reward import check_batch

            gts = check_batch(trajectories, ground_truths, 'LastNumber', True)
            return [
                float((last_completion(t) or '').split('####')[-1].strip() == ground_truth_text(g))
                for t, g in zip(trajectories, gts)
            ]

    return LastNumber()


def test_standard_training_loop_as_written(tok):
    # The loop's sample call passes no sampling_params: the sampler's defaults apply (short, to keep
    # the test fast; SamplingParams' own default is 256 tokens).
    sampler = TransformersSampler(
        tiny_causal_lm(tok, hidden_size=32, num_layers=1, num_heads=2),
        tok,
        sampling_params={'max_tokens': 16, 'seed': 0},
    )
    reward_fn = _math_or_custom()
    advantage_fn = GRPOAdvantage()
    dataloader = PromptDataLoader(ROWS, batch_size=3)
    steps = 0
    for batch in dataloader:
        # 1. Sample and generate multiple candidate answers
        response = sampler.sample(batch, num_samples=4)
        # 2. Evaluate quality using reward function
        rewards = reward_fn(response.trajectories, batch.ground_truths)
        # 3. Calculate advantages
        advantages = advantage_fn(rewards, num_generations=4)
        assert len(rewards) == 12 and all(isinstance(r, float) for r in rewards)
        assert all(len(ids) <= 16 for ids in response.token_ids)
        assert advantages.shape == (12,) and advantages.dtype == torch.float32
        steps += 1
    assert steps == 2


def test_ground_truths_reach_their_own_samples(tok):
    sampler = TransformersSampler(tiny_causal_lm(tok, hidden_size=32, num_layers=1, num_heads=2), tok)
    for batch in PromptDataLoader(ROWS, batch_size=4, shuffle=True, seed=3):
        response = sampler.sample(batch, num_samples=3, sampling_params={'max_tokens': 2})
        assert PromptMatchesTruth()(response.trajectories, batch.ground_truths) == [1.0] * len(response)
        # the response also carries them per sample, for rewards that zip
        assert PromptMatchesTruth()(response.trajectories, response.ground_truths) == [1.0] * len(response)


def test_rewards_and_advantages_line_up_with_samples(tok):
    sampler = ScriptedSampler(tok)
    reward_fn = _math_or_custom()
    for batch in PromptDataLoader(ROWS, batch_size=3):
        response = sampler.sample(batch, num_samples=4)
        rewards = reward_fn(response.trajectories, batch.ground_truths)
        assert rewards == [1.0, 0.0, 0.0, 0.0] * 3
        advantages = GRPOAdvantage()(rewards, num_generations=4)
        assert (advantages.view(3, 4)[:, 0] > 0).all() and (advantages.view(3, 4)[:, 1:] < 0).all()


@pytest.mark.skipif(not HAVE_MATH, reason='twinkle.reward.math is not there yet')
def test_tensor_path_takes_the_samplers_ids(tok):
    sampler = ScriptedSampler(tok)
    reward_fn = _math_or_custom(tokenizer=tok)
    batch = next(iter(PromptDataLoader(ROWS, batch_size=3)))
    response = sampler.sample(batch, num_samples=4)
    on_ids = score(reward_fn, response, batch.ground_truths)  # score_ids(input_ids, lengths, ...)
    on_text = reward_fn(response.trajectories, batch.ground_truths)
    assert on_ids.tolist() == on_text == [1.0, 0.0, 0.0, 0.0] * 3
