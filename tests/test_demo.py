"""The README's first command: the demo runs and its numbers are the ones it claims."""

import torch

from twinkle import demo
from twinkle.advantage import GRPOAdvantage


def test_demo_runs_and_flat_group_gets_zero(capsys):
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert 'advantage backend on cpu' in out
    trajectories, ground_truths = demo.build_batch()
    rewards = demo.make_reward()(trajectories, ground_truths)
    assert len(rewards) == 12
    # first prompt: right+formatted, wrong+formatted, right+unformatted, right+formatted
    assert rewards[:4] == [1.5, 0.5, 1.0, 1.5]
    adv = GRPOAdvantage()(rewards, num_generations=demo.NUM_GENERATIONS)
    assert torch.all(adv[8:] == 0)  # the flat last group
