"""The reward protocol: every built-in reward is a torch module whose token path,
``score_ids(input_ids, lengths=None, ground_truths=None, *, attention_mask=None)``, gives on
real Qwen3 ids what the string path gives on the decoded texts, as (B,) float32 on the ids'
device; a reward without a token path of its own decodes with its tokenizer.
"""

import inspect
import math

import pytest
import torch

from tests.dfa.test_tokens import qwen_tokenizer
from twinkle.reward import (
    BoxedReward,
    CombinedReward,
    FormatReward,
    FunctionReward,
    GSM8KReward,
    MathReward,
    Reward,
    RewardModule,
    TagCountReward,
    TokenizerRequired,
    last_completion,
)

TEXTS = [
    '<think>2 + 2 = 4</think>\n<answer>\\boxed{4}</answer>',
    '<think>hm</think><answer>5</answer>',
    'He pays 3 * 4 = 12 dollars.\n#### 12',
    '<think>a</think><think>b</think><answer>\\boxed{12}</answer>',
    'The answer is $\\frac{1}{2}$.',
    '',
    '你好 <answer>😀</answer>',
]
GOLDS = ['4', '4', '12', '12', '0.5', '1', '1']


def _length(trajectories, ground_truths):
    return [float(len(last_completion(t) or '')) for t in trajectories]


def _builders(tok):
    return {
        'FormatReward': lambda: FormatReward(tokenizer=tok),
        'FormatReward(search)': lambda: FormatReward(r'\\boxed\{\d+\}', mode='search', tokenizer=tok),
        'TagCountReward': lambda: TagCountReward(tokenizer=tok),
        'BoxedReward': lambda: BoxedReward(tokenizer=tok),
        'MathReward': lambda: MathReward(tokenizer=tok),
        'GSM8KReward': lambda: GSM8KReward(tokenizer=tok),
        'CombinedReward': lambda: CombinedReward(
            {
                FormatReward(tokenizer=tok): 0.5,
                MathReward(tokenizer=tok): 1.0,
                TagCountReward(tokenizer=tok): 0.25,
            }
        ),
        'CombinedReward(zero)': lambda: CombinedReward(
            [(MathReward(tokenizer=tok), 1.0), (BoxedReward(tokenizer=tok), -0.5)], nan_policy='zero'
        ),
        'FunctionReward': lambda: FunctionReward(_length, tokenizer=tok),
    }


@pytest.fixture(scope='module')
def tok():
    return qwen_tokenizer()


@pytest.fixture(scope='module')
def batch(tok):
    rows = [tok.encode(t) for t in TEXTS]
    width = max(map(len, rows)) + 2
    ids = torch.full((len(rows), width), 0, dtype=torch.int64)
    mask = torch.zeros(len(rows), width, dtype=torch.int64)
    for i, r in enumerate(rows):  # left padding: the mask is what says where the text is
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.int64)
        mask[i, width - len(r) :] = 1
    right = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        right[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
    lengths = torch.tensor([len(r) for r in rows])
    return ids, mask, right, lengths


@pytest.mark.parametrize('name', list(_builders(None)))
def test_token_path_equals_the_string_path(tok, batch, name):
    reward = _builders(tok)[name]()
    ids, mask, right, lengths = batch
    trajs = [
        {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': t}]} for t in TEXTS
    ]
    want = reward(trajs, GOLDS)
    outs = [reward.score_ids(right, lengths, GOLDS), reward.score_ids(ids, None, GOLDS, attention_mask=mask)]
    if isinstance(reward, torch.nn.Module):  # the module call
        outs += [
            reward(right, lengths, GOLDS),
            reward(input_ids=ids, attention_mask=mask, ground_truths=GOLDS),
        ]
    for got in outs:
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
        assert got.shape == (len(TEXTS),) and got.device == ids.device
        assert [None if math.isnan(v) else v for v in got.tolist()] == [
            None if math.isnan(v) else pytest.approx(v, rel=1e-6) for v in want
        ]


@pytest.mark.parametrize('name', list(_builders(None)))
def test_every_built_in_reward_is_a_module_with_one_signature(tok, name):
    reward = _builders(tok)[name]()
    if name != 'FunctionReward':
        assert isinstance(reward, torch.nn.Module) and isinstance(reward, RewardModule)
    assert isinstance(reward, Reward)
    params = list(inspect.signature(reward.score_ids).parameters.values())
    assert [(p.name, p.kind, p.default) for p in params] == [
        ('input_ids', inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ('lengths', inspect.Parameter.POSITIONAL_OR_KEYWORD, None),
        ('ground_truths', inspect.Parameter.POSITIONAL_OR_KEYWORD, None),
        ('attention_mask', inspect.Parameter.KEYWORD_ONLY, None),
    ]


@pytest.mark.parametrize(
    'make',
    [
        FormatReward,
        TagCountReward,
        BoxedReward,
        MathReward,
        lambda: FunctionReward(_length),
        lambda: CombinedReward({FormatReward(): 1.0}),
    ],
)
def test_no_tokenizer_is_one_error(make):
    with pytest.raises(TokenizerRequired, match='score_ids needs a tokenizer'):
        make().score_ids(torch.zeros(1, 2, dtype=torch.int64), None, ['1'])
    assert issubclass(TokenizerRequired, ValueError)


def test_combined_logs_each_part_on_both_paths(tok, batch):
    _, _, right, lengths = batch
    c = _builders(tok)['CombinedReward']()
    c.score_ids(right, lengths, GOLDS)
    on_ids = dict(c.last_parts)
    c(list(TEXTS), GOLDS)
    assert list(on_ids) == list(c.last_parts) == ['FormatReward', 'math', 'TagCountReward']
    for name in on_ids:
        assert on_ids[name] == pytest.approx(c.last_parts[name], nan_ok=True)


def test_tables_follow_the_ids_device(tok):
    reward = FormatReward(tokenizer=tok)
    ids = torch.tensor([tok.encode('<think>a</think><answer>1</answer>')])
    meta = reward.buffer_on('token_tables', torch.device('meta'))  # a copy made once per device
    assert meta.device.type == 'meta' and reward.buffer_on('token_tables', torch.device('meta')) is meta
    assert reward.buffer_on('token_tables', ids.device) is reward.token_tables
    reward.to(torch.float64)  # .to() and friends drop the copies
    assert '_device_copies' not in reward.__dict__
    assert reward(ids).tolist() == [1.0]
