"""A small, real run of twinkle (``python -m twinkle.demo``): score sampled completions of three
prompts, compute GRPO advantages, and print a table and the backend that ran.
"""

from __future__ import annotations

import sys
from typing import List

import torch

import twinkle
from twinkle.advantage import GRPOAdvantage, dynamic_sampling_mask
from twinkle.data_format import Trajectory
from twinkle.reward import CombinedReward, FormatReward, MathReward, last_completion

PROMPTS = [
    ('What is 12 * 7?', '84'),
    ('Simplify 6/8.', '\\frac{3}{4}'),
    ('What is the capital of France?', 'Paris'),
]

COMPLETIONS = [
    [
        '<think>12*7 = 84</think>\n<answer>84</answer>',
        '<think>12*7... 12*7=74</think><answer>74</answer>',
        'The answer is 84.',
        '<think>ten sevens are 70, two more are 14</think> <answer>84</answer>',
    ],
    [
        '<think>divide both by 2</think><answer>\\frac{3}{4}</answer>',
        '<think>divide both by 2</think><answer>3/4</answer>',
        '<think>hmm</think><answer>0.75</answer>',
        '<think>6/8</think><answer>\\frac{3}{4}</answer><answer>1</answer>',
    ],
    [
        '<think>France</think><answer>Paris</answer>',
        '<think>France</think><answer>Paris</answer>',
        '<think>France</think><answer>Paris</answer>',
        '<think>France</think><answer>Paris</answer>',
    ],
]

NUM_GENERATIONS = 4


def build_batch() -> tuple:
    """Trajectories (samples of a prompt consecutive) and the per-prompt ground-truth trajectories."""
    trajectories: List[Trajectory] = []
    ground_truths: List[Trajectory] = []
    for (question, answer), completions in zip(PROMPTS, COMPLETIONS):
        ground_truths.append(
            Trajectory(messages=[{'role': 'user', 'content': question}], user_data=[('solution', answer)])
        )
        for c in completions:
            trajectories.append(
                Trajectory(
                    messages=[{'role': 'user', 'content': question}, {'role': 'assistant', 'content': c}]
                )
            )
    return trajectories, ground_truths


def make_reward() -> CombinedReward:
    """The strict think/answer format (0.5) plus math correctness (1.0)."""
    return CombinedReward({FormatReward(name='format'): 0.5, MathReward(): 1.0})


def main() -> int:
    trajectories, ground_truths = build_batch()
    reward_fn = make_reward()
    rewards = reward_fn(trajectories, ground_truths)  # one ground truth per prompt
    advantages, keep = GRPOAdvantage()(rewards, num_generations=NUM_GENERATIONS, return_keep=True)
    assert torch.equal(keep, dynamic_sampling_mask(rewards, num_generations=NUM_GENERATIONS))

    names = list(reward_fn.last_parts)
    header = f'{"prompt":<32} {"completion":<44} ' + ' '.join(f'{n[:10]:>10}' for n in names)
    header += f' {"reward":>7} {"advantage":>9} {"keep":>5}'
    print(header)
    print('-' * len(header))
    for i, t in enumerate(trajectories):
        q = t.messages[0].content
        c = last_completion(t).replace('\n', ' ')
        parts = ' '.join(f'{reward_fn.last_parts[n][i]:>10.2f}' for n in names)
        print(
            f'{q[:32]:<32} {c[:44]:<44} {parts} {rewards[i]:>7.2f} {advantages[i].item():>9.3f} '
            f'{str(bool(keep[i])):>5}'
        )
    info = twinkle.extension_info()
    backend = 'compiled C++ op' if info['ops']['group_advantage']['cpu'] else 'pure-torch reference'
    print(
        '\nrewards: format = FormatReward() (strict <think>..</think><answer>..</answer>, a regex '
        'compiled to a DFA), math = MathReward() (the final answer against the reference, '
        'compared as values)'
    )
    print(
        f'advantage backend on cpu: {backend} (library: {info["source"]}, cuda: {info["cuda"]}, '
        f'torch {info["torch"]})'
    )
    print(
        "The last prompt's completions all score the same: its group is flat, so its "
        "advantages are exactly 0 and DAPO's keep-mask drops it."
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
