"""MathReward / GSM8KReward: the standard reward call ``reward(trajectories, ground_truths)``,
ground-truth lookup, details, the tensor path."""

import math

import pytest
import torch

from twinkle.data_format import Trajectory
from twinkle.math import METHODS, Verdict
from twinkle.reward import MathReward as LazyMathReward
from twinkle.reward import TokenizerRequired
from twinkle.reward.math import GSM8KReward, MathReward


def traj(text):
    return {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': text}]}


def test_standard_call_and_lazy_export():
    assert LazyMathReward is MathReward
    reward_fn = MathReward()
    gts = [{'messages': [{'role': 'assistant', 'content': r'$\boxed{4}$'}]}] * 2
    assert reward_fn([traj(r'\boxed{4}'), traj(r'\boxed{5}')], gts) == [1.0, 0.0]


def test_trajectory_objects():
    t = Trajectory(messages=[{'role': 'assistant', 'content': 'The answer is 6.'}])
    g = Trajectory(messages=[], user_data=[('solution', r'\boxed{6}')])
    assert MathReward()([t], [g]) == [1.0]


@pytest.mark.parametrize(
    'user_data,key,expected',
    [
        ({'solution': '3', 'ground_truth': '4', 'answer': '5'}, 'solution', 1.0),
        ({'ground_truth': '3', 'answer': '5'}, 'solution', 1.0),
        ({'answer': 'Thus 1+2=3.\n#### 3'}, 'solution', 1.0),
        ({'my_key': '3', 'solution': '9'}, 'my_key', 1.0),
        ({'solution': '9'}, 'solution', 0.0),
    ],
)
def test_ground_truth_lookup_order(user_data, key, expected):
    g = {'messages': [{'role': 'assistant', 'content': '7'}], 'user_data': user_data}
    assert MathReward(ground_truth_key=key)([traj(r'\boxed{3}')], [g]) == [expected]


def test_last_message_is_the_fallback_gold():
    g = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': '#### 3'}]}
    assert MathReward()([traj(r'\boxed{3}')], [g]) == [1.0]


def test_one_ground_truth_per_prompt_expands():
    trajs = [traj(r'\boxed{1}'), traj(r'\boxed{2}'), traj(r'\boxed{2}'), traj(r'\boxed{1}')]
    assert MathReward()(trajs, ['1', '2']) == [1.0, 0.0, 1.0, 0.0]
    with pytest.raises(ValueError):
        MathReward()(trajs, ['1', '2', '3'])
    with pytest.raises(ValueError):
        MathReward()(trajs, None)


def test_details_and_explain():
    rewards, details = MathReward()(
        [traj(r'\boxed{3\sqrt2}'), traj('hmm'), traj(r'\boxed{1}')],
        [r'\sqrt{18}', '1', None],
        return_details=True,
    )
    assert rewards[:2] == [1.0, 0.0] and math.isnan(rewards[2])
    assert all(isinstance(d, Verdict) and d.method in METHODS for d in details)
    assert details[0].answer == r'3\sqrt2' and details[0].method == 'numeric'
    assert details[1].method == 'no_answer'
    assert details[2].method == 'unparsable_gold'
    assert all(d.seconds >= 0 for d in details)
    assert MathReward().explain([traj(r'\boxed{2}')], ['2'])[0].gold == '2'


def test_gsm8k_reward():
    r = GSM8KReward()
    g = {'messages': [], 'user_data': {'answer': 'She has 2 * 3 = 6.\n#### 6'}}
    assert r([traj('2 * 3 = 6\n#### 6'), traj('#### 7'), traj('The answer is $6$.')], [g]) == [1.0, 0.0, 1.0]


def test_options_are_validated():
    with pytest.raises(TypeError):
        MathReward(deadline=3)
    with pytest.raises(ValueError):
        MathReward(sympy_deadline_s=0)
    with pytest.raises(ValueError):
        MathReward(ground_truth_key='')
    assert MathReward(sympy_deadline_s=1.5).config.sympy_deadline_s == 1.5


class CharTokenizer:
    """One token per character (ASCII); id 0 is padding (skipped)."""

    def __len__(self):
        return 128

    def encode(self, s):
        return [ord(c) for c in s]

    def decode(self, ids, skip_special_tokens=True):
        return ''.join(chr(i) for i in ids if i != 0 or not skip_special_tokens)


@pytest.mark.parametrize('slack,tail', [(0, 1), (2, 8), (16, 160), (64, 4096)])
def test_forward_matches_the_string_path(slack, tail):
    # Spans too short to decide are decoded again, so the verdict never depends on the
    # span settings: only the cost does.
    tok = CharTokenizer()
    texts = [
        'reasoning ... ' * 5 + r'so $\boxed{\frac{1}{2}}$.',
        '#### 0.05',
        'The answer is 8 or 9?',
        '',
        r'\boxed{12}',
        'x ' * 40 + 'Therefore, the total is $12$.',
        '<think>' + 'hm ' * 30,
        '<think>a</think>' + 'b ' * 30 + '<answer>12</answer>',
        'The answer is 12. ' + 'Check the answer again. ' * 3,
    ]
    golds = ['0.5', '0.5', '8', '1', '12', '12', '12', '12', '12']
    L = max(len(t) for t in texts) + 3
    ids = torch.zeros(len(texts), L, dtype=torch.long)
    for i, t in enumerate(texts):
        if t:
            ids[i, : len(t)] = torch.tensor(tok.encode(t))
    lengths = torch.tensor([len(t) for t in texts])
    reward = MathReward(tokenizer=tok, span_slack_tokens=slack, span_tail_tokens=tail, span_gap_tokens=slack)
    out = reward.score_ids(ids, lengths, golds)
    details = reward.explain_ids(ids, lengths, golds)
    assert out.shape == (len(texts),) and out.dtype == torch.float32
    assert out.tolist() == reward.score_texts(texts, golds)
    assert [v[:5] for v in details] == [v[:5] for v in reward.explain(texts, golds)]


def test_forward_validates():
    with pytest.raises(TokenizerRequired, match='score_ids needs a tokenizer'):
        MathReward().forward(torch.zeros(1, 2, dtype=torch.long), torch.tensor([2]), ['1'])
    r = MathReward(tokenizer=CharTokenizer())
    with pytest.raises(ValueError):
        r.forward(torch.zeros(2, 3, dtype=torch.long), torch.tensor([1]), ['1', '2'])


def _qwen_tokenizer():
    from twinkle.sampler.testing import qwen3_tokenizer

    try:
        return qwen3_tokenizer()
    except ImportError as e:
        pytest.skip(str(e))


def test_forward_with_a_real_tokenizer():
    from tests.math.labelled_cases import load_cases

    tok = _qwen_tokenizer()
    cases = load_cases()[::7]
    texts, golds = [c['completion'] for c in cases], [c['gold'] for c in cases]
    enc = [tok.encode(t) for t in texts]
    L = max(len(e) for e in enc) + 5
    ids = torch.full((len(enc), L), tok.pad_token_id, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e, dtype=torch.long)
    lengths = torch.tensor([len(e) for e in enc])
    reward = MathReward(tokenizer=tok)
    # Decoding the tail reproduces the text, so the tensor path agrees with the string path.
    expected = reward.score_texts([tok.decode(e) for e in enc], golds)
    assert reward.forward(ids, lengths, golds).tolist() == expected
    assert expected == reward.score_texts(texts, golds)
