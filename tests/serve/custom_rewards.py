"""Rewards for the server tests, loaded by name (``tests.serve.custom_rewards:probe``).

``probe`` scores 0.0 and does what a completion asks of it: ``<<sleep:S>>`` holds its
batch for S seconds (a slow request), ``<<raise>>`` raises (a reward that fails). Give it
weight 0 and it changes no total.
"""

import re
import time

from twinkle.reward import Reward, TagCountReward, last_completion

_SLEEP = re.compile(r'<<sleep:([0-9.]+)>>')


class Probe(Reward):
    name = 'probe'

    def __call__(self, trajectories, ground_truths=None):
        texts = [last_completion(t) or '' for t in trajectories]
        if any('<<raise>>' in t for t in texts):
            raise ValueError('probe asked to raise')
        delay = max([float(m.group(1)) for t in texts for m in _SLEEP.finditer(t)] or [0.0])
        if delay:
            time.sleep(delay)
        return [0.0] * len(texts)


probe = Probe()


def length(trajectories, ground_truths):
    """A plain function reward: the completion's length in characters."""
    return [float(len(last_completion(t) or '')) for t in trajectories]


# A format reward whose values (0, 1/3, 2/3, 1) float32 rounds: the scorer's fused scan must
# give what the reward gives scored alone.
three_tags = TagCountReward(['<a>', '<b>', 'c'])
