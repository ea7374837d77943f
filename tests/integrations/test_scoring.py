"""twinkle.integrations.score: token ids to rewards that read them (their own score_ids and a
tokenizer), strings otherwise."""

import importlib.util
import math

import pytest
import torch

from twinkle.data_format import Completion, SampleResponse, Trajectory
from twinkle.integrations import pad_completion_ids, score, uses_token_path
from twinkle.reward import (
    CombinedReward,
    FunctionReward,
    Reward,
    RewardModule,
    ground_truth_text,
    last_completion,
)


class IdCount(RewardModule):
    """Token path: counts occurrences of token 7; the string path must not run."""

    def __init__(self):
        super().__init__(tokenizer='tok')
        self.register_buffer('target', torch.tensor(7))
        self.calls = 0

    def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
        self.calls += 1
        valid = torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]
        return ((input_ids == self.target) & valid).sum(1).float()

    def score_trajectories(self, trajectories, ground_truths=None):
        raise AssertionError('string path used')


class GoldEcho(Reward):
    """Token path with ground truths: 1.0 where the first id equals int(ground truth)."""

    tokenizer = 'tok'

    def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
        gold = torch.tensor([int(ground_truth_text(g)) for g in ground_truths])
        return (input_ids[:, 0] == gold).float()


def test_uses_token_path():
    assert uses_token_path(IdCount()) and uses_token_path(GoldEcho())

    class NoTok(GoldEcho):
        tokenizer = None

    class OnlyStrings(Reward):  # the default score_ids decodes: not a token path of its own
        tokenizer = 'tok'

        def __call__(self, trajectories, ground_truths=None):
            return [0.0] * len(trajectories)

    for r in (NoTok(), OnlyStrings(), lambda t, g: [0.0], Reward(), FunctionReward(len, tokenizer='tok')):
        assert not uses_token_path(r)


def test_token_path_is_used_with_ids():
    r = IdCount()
    trajs = [{'messages': []}] * 3
    out = score(r, trajs, completion_ids=[[7, 7, 1], [7], []])
    assert out.tolist() == [2.0, 1.0, 0.0] and out.dtype == torch.float32 and r.calls == 1


def test_padded_inputs_and_pad_id():
    ids, lengths = pad_completion_ids([[7, 1], [2]], pad_id=7)
    assert ids.tolist() == [[7, 1], [2, 7]]
    assert score(IdCount(), input_ids=ids, lengths=lengths).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match='lengths'):
        score(IdCount(), input_ids=ids)


def test_ground_truths_expand_per_prompt():
    gts = [Trajectory(user_data=[('solution', '3')]), Trajectory(user_data=[('solution', '5')])]
    out = score(GoldEcho(), [None] * 4, gts, completion_ids=[[3], [4], [5], [5]])
    assert out.tolist() == [1.0, 0.0, 1.0, 1.0]


def test_string_path_without_ids_or_without_tensor_path():
    fn = lambda t, g: [float(len(last_completion(x))) for x in t]  # noqa: E731
    trajs = [{'messages': [{'role': 'assistant', 'content': 'abc'}]}]
    assert score(fn, trajs, completion_ids=[[1]]).tolist() == [3.0]
    with pytest.raises(ValueError, match='no tokenizer'):
        score(fn, trajs, completion_ids=[[1]], token_path=True)
    with pytest.raises(ValueError, match='trajectories'):
        score(GoldEcho(), None, ['1'])


def test_combined_reward_scores_each_part_on_its_path():
    ids_part = IdCount()
    text_part = lambda t, g: [1.0 if last_completion(x) == 'x' else float('nan') for x in t]  # noqa
    c = CombinedReward([(ids_part, 2.0), (text_part, 1.0)])
    trajs = [{'messages': [{'role': 'assistant', 'content': c_}]} for c_ in ('x', 'y')]
    out = score(c, trajs, completion_ids=[[7], [7, 7]])
    assert out[0].item() == 3.0 and math.isnan(out[1].item())
    assert ids_part.calls == 1 and set(c.last_parts) == {'IdCount', '<lambda>'}
    z = CombinedReward([(ids_part, 2.0), (text_part, 1.0)], nan_policy='zero')
    assert score(z, trajs, completion_ids=[[7], [7, 7]]).tolist() == [3.0, 4.0]


def test_sample_response_supplies_ids_and_ground_truths():
    resp = SampleResponse(
        [Trajectory(messages=[{'role': 'user', 'content': 'q'}])] * 2,
        [
            [Completion([3], 'a', 'length'), Completion([4], 'b', 'length')],
            [Completion([5], 'c', 'length'), Completion([6], 'd', 'length')],
        ],
        ground_truths=['3', '5'],
    )
    assert score(GoldEcho(), resp).tolist() == [1.0, 0.0, 1.0, 0.0]


def test_wrong_output_shape_is_an_error():
    class Bad(Reward):
        tokenizer = 'tok'

        def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
            return torch.zeros(5)

    with pytest.raises(ValueError, match='shape'):
        score(Bad(), completion_ids=[[1]])


@pytest.mark.skipif(
    importlib.util.find_spec('twinkle.reward.format') is None
    or importlib.util.find_spec('twinkle.reward.math') is None,
    reason='twinkle.reward.format / twinkle.reward.math are not there yet',
)
def test_twinkle_rewards_agree_on_ids_and_strings():
    from twinkle.reward import FormatReward, MathReward
    from twinkle.sampler.testing import tiny_tokenizer

    tok = tiny_tokenizer()
    texts = [
        '<think>2+2</think>\n<answer>\\boxed{4}</answer>',
        '<think>hm</think><answer>5</answer>',
        '#### 4',
        '<think>a</think><think>b</think><answer>\\boxed{4}</answer>',
        '<answer>4</answer>',
        '',
    ]
    ids = [tok(t)['input_ids'] + [tok.eos_token_id] for t in texts]
    assert [tok.decode(i, skip_special_tokens=True) for i in ids] == texts
    trajs = [
        {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': t}]} for t in texts
    ]
    gts = ['4', '4']  # per prompt: 2 prompts x 3 samples
    combined = CombinedReward({FormatReward(tokenizer=tok): 0.5, MathReward(tokenizer=tok): 1.0})
    on_ids = score(combined, trajs, gts, completion_ids=ids)
    on_text = CombinedReward({FormatReward(): 0.5, MathReward(): 1.0})(trajs, gts)
    assert on_ids.tolist() == on_text
    assert on_ids.tolist()[0] == 1.5


def test_score_values_takes_scores_options_and_no_others():
    from twinkle.integrations.scoring import score_values

    r = IdCount()
    got = score_values(r, [{'messages': []}] * 2, completion_ids=[[7, 7], [1]], pad_id=7)
    assert got.tolist() == score(r, [{'messages': []}] * 2, completion_ids=[[7, 7], [1]], pad_id=7).tolist()
    with pytest.raises(TypeError, match='completion_id'):
        score_values(r, [{'messages': []}], completion_id=[[7]])
