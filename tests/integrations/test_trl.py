"""as_trl_reward: the adapter alone, and inside TRL's real GRPOTrainer on CPU."""

import importlib.util
import math

import pytest
import torch

from twinkle.integrations.trl import as_trl_reward, to_trajectories
from twinkle.reward import Reward, RewardModule, ground_truth_text, last_completion

HAVE_TRL = importlib.util.find_spec('trl') is not None
HAVE_MATH = importlib.util.find_spec('twinkle.reward.math') is not None
HAVE_FORMAT = importlib.util.find_spec('twinkle.reward.format') is not None


class CountToken(RewardModule):
    """A token-path reward: the share of completion ids equal to ``token``."""

    def __init__(self, token, tokenizer):
        super().__init__(tokenizer=tokenizer)
        self.token = token
        self.seen = []

    def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
        self.seen.append(input_ids.shape)
        valid = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        hits = ((input_ids == self.token) & valid).sum(1).float()
        return hits / lengths.clamp_min(1).float()


class Exact(Reward):
    name = 'exact'

    def __call__(self, trajectories, ground_truths=None):
        return [
            float((last_completion(t) or '').strip() == ground_truth_text(g))
            if g is not None
            else float('nan')
            for t, g in zip(trajectories, ground_truths)
        ]


def test_is_a_plain_named_function():
    fn = as_trl_reward(Exact())
    assert not isinstance(fn, torch.nn.Module) and fn.__name__ == 'exact'
    assert as_trl_reward(Exact(), name='acc').__name__ == 'acc'
    with pytest.raises(TypeError, match='reward'):
        as_trl_reward('openai/some-reward-model')


def test_standard_and_conversational_inputs():
    fn = as_trl_reward(Exact())
    assert fn(
        prompts=['a', 'b'], completions=['1', '2'], solution=['1', '3'], trainer_state=None, log_metric=None
    ) == [1.0, 0.0]
    conv_p = [[{'role': 'user', 'content': 'a'}]] * 2
    conv_c = [[{'role': 'assistant', 'content': '1'}], [{'role': 'assistant', 'content': '2'}]]
    assert fn(prompts=conv_p, completions=conv_c, answer=['1', '2']) == [1.0, 1.0]
    t = to_trajectories(conv_p, conv_c)[0]
    assert [m.role for m in t.messages] == ['user', 'assistant']


def test_ground_truth_columns():
    fn = as_trl_reward(Exact(), ground_truth_column='target')
    assert fn(prompts=['a'], completions=['x'], target=['x'], solution=['y']) == [1.0]
    with pytest.raises(KeyError, match='target'):
        fn(prompts=['a'], completions=['x'], solution=['y'])
    # verl-style reward_model dicts
    assert as_trl_reward(Exact())(prompts=['a'], completions=['7'], reward_model=[{'ground_truth': '7'}]) == [
        1.0
    ]


def test_abstain_becomes_none():
    assert as_trl_reward(Exact())(prompts=['a'], completions=['x'], solution=[None]) == [None]


@pytest.mark.skipif(not HAVE_MATH, reason='twinkle.reward.math is not there yet')
def test_outcomes_go_to_log_metric_and_log_extra():
    from twinkle.reward import MathReward

    metrics, extra = {}, {}
    fn = as_trl_reward(MathReward())
    out = fn(
        prompts=['q'] * 4,
        completions=['#### 4', '#### 5', 'maybe 4 or 5?', '#### 4'],
        solution=['4', '4', '4', ''],
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    assert out == [1.0, 0.0, 0.0, None]
    assert metrics == {
        'twinkle/math/correct': 0.25,
        'twinkle/math/incorrect': 0.25,
        'twinkle/math/unparsable': 0.25,
        'twinkle/math/timeout': 0.0,
        'twinkle/math/abstain': 0.25,
    }
    assert extra['math/outcome'] == ['correct', 'incorrect', 'unparsable', 'abstain']
    assert extra['math/method'] == ['exact', 'exact', 'no_answer', 'unparsable_gold']
    # a reward without verdicts logs nothing of its own
    as_trl_reward(Exact())(
        prompts=['q'], completions=['x'], solution=['x'], log_metric=pytest.fail, log_extra=pytest.fail
    )


def test_uses_completion_ids_for_tensor_path():
    r = CountToken(5, tokenizer='tok')
    fn = as_trl_reward(r)
    out = fn(prompts=['p'] * 2, completions=['ignored', 'ignored'], completion_ids=[[5, 5, 1, 2], [3]])
    assert out == [0.5, 0.0] and r.seen == [torch.Size([2, 4])]
    with pytest.raises(ValueError, match='completion_ids'):
        as_trl_reward(r, use_token_ids=True)(prompts=['p'], completions=['x'])


@pytest.mark.skipif(
    not HAVE_TRL,
    reason='trl is not installed: pip install "twinkle-rewards[test]" '
    '(trl, accelerate, datasets) to run GRPOTrainer',
)
def test_grpo_trainer_runs_with_twinkle_rewards(tmp_path):
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    from twinkle.sampler.testing import tiny_causal_lm, tiny_tokenizer

    tok = tiny_tokenizer()
    model = tiny_causal_lm(tok, hidden_size=32, num_layers=1, num_heads=2, arch='qwen2')
    rows = {'prompt': [f'what is {i} + 1?' for i in range(8)], 'solution': [str(i + 1) for i in range(8)]}
    count = CountToken(tok.convert_tokens_to_ids('1'), tok)
    rewards = [as_trl_reward(count, name='ones'), as_trl_reward(Exact())]
    if HAVE_MATH:
        from twinkle.reward import MathReward

        rewards.append(as_trl_reward(MathReward(tokenizer=tok)))
    if HAVE_FORMAT:  # token path: scores TRL's completion_ids with the DFA
        from twinkle.reward import FormatReward

        rewards.append(as_trl_reward(FormatReward(r'\d+', mode='search', tokenizer=tok), name='has_digit'))
    config = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=6,
        max_steps=2,
        learning_rate=1e-3,
        logging_steps=1,
        report_to='none',
        use_cpu=True,
        save_strategy='no',
        seed=0,
        beta=0.0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=config,
        train_dataset=datasets.Dataset.from_dict(rows),
        processing_class=tok,
    )
    trainer.train()
    logs = [h for h in trainer.state.log_history if 'reward' in h]
    assert len(logs) == 2
    assert 'rewards/ones/mean' in logs[0] and 'rewards/exact/mean' in logs[0]
    assert all(math.isfinite(h['reward']) for h in logs)
    if HAVE_FORMAT:
        assert 'rewards/has_digit/mean' in logs[0]
    if HAVE_MATH:  # outcome rates through TRL's log_metric, summing to one per step
        rates = [
            logs[0][f'twinkle/math/{o}'] for o in ('correct', 'incorrect', 'unparsable', 'timeout', 'abstain')
        ]
        assert abs(sum(rates) - 1.0) < 1e-6
    assert count.seen, 'the tensor-path reward was never given completion_ids'
