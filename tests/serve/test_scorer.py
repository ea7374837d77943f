"""The scorer: reward specs, outcomes, and verdicts equal to the rewards called directly."""

import math

import numpy as np
import pytest

from tests.serve.load import real_pairs
from twinkle.reward import FormatReward, MathReward, has_think_and_answer
from twinkle.serve.scorer import (
    RewardSpec,
    Scorer,
    as_trajectory,
    outcome_of,
    parse_reward_spec,
    sample_record,
    solved,
)

# (spec text, parsed)
SPECS = [
    ('math', RewardSpec('math', 1.0)),
    ('format=0.5', RewardSpec('format', 0.5)),
    (' gsm8k=2 ', RewardSpec('gsm8k', 2.0)),
    ('tests.serve.custom_rewards:probe=0', RewardSpec('tests.serve.custom_rewards:probe', 0.0)),
    ('pkg.mod:Cls.attr', RewardSpec('pkg.mod:Cls.attr', 1.0)),
]

# (spec text, words the error must contain)
BAD_SPECS = [
    ('mathh', ['mathh', 'built-in']),
    ('math=x', ['weight', "'x'"]),
    ('math=inf', ['finite']),
    ('', ['NAME']),
    ('a b', ['NAME']),
]


@pytest.mark.parametrize('text,spec', SPECS)
def test_parse_reward_spec(text, spec):
    assert parse_reward_spec(text) == spec


@pytest.mark.parametrize('text,words', BAD_SPECS)
def test_bad_reward_spec_names_the_problem(text, words):
    with pytest.raises(ValueError) as e:
        parse_reward_spec(text)
    for w in words:
        assert w in str(e.value)


def test_has_think_and_answer_is_the_lenient_format_check():
    texts = ['<answer>1</answer> <think>x</think>', '<think>x</think>', 'none']
    results = Scorer(['has_think_and_answer']).score([as_trajectory(t) for t in texts])
    parts = [r.parts['has_think_and_answer'] for r in results]
    assert parts == has_think_and_answer(texts) == [1.0, 0.0, 0.0]


def test_the_former_name_seed_format_still_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="'seed_format' is deprecated.*'has_think_and_answer'"):
        assert parse_reward_spec('seed_format=0.5') == RewardSpec('seed_format', 0.5)
    with pytest.warns(DeprecationWarning, match='has_think_and_answer'):
        scorer = Scorer(['seed_format'])
    assert scorer.names == ['seed_format']  # the part keeps the name it was given
    texts = ['<answer>1</answer> <think>x</think>', 'none']
    assert [r.reward for r in scorer.score([as_trajectory(t) for t in texts])] == [1.0, 0.0]


def test_imported_reward_errors_name_module_and_attribute():
    with pytest.raises(ValueError, match="cannot import 'no_such_module'"):
        Scorer(['no_such_module:x'])
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        Scorer(['tests.serve.custom_rewards:nope'])


# (reward, verdict method, outcome)
OUTCOME_TABLE = [
    (1.0, 'exact', 'correct'),
    (1.0, 'symbolic', 'correct'),
    (0.0, 'numeric', 'incorrect'),
    (0.0, 'no_answer', 'unparsable'),
    (0.0, 'unparsable', 'unparsable'),
    (math.nan, 'unparsable_gold', 'abstain'),
    (0.0, 'timeout', 'timeout'),
    # rewards that give no verdict
    (0.25, None, 'scored'),
    (0.0, None, 'scored'),
    (math.nan, None, 'abstain'),
]


@pytest.mark.parametrize('reward,method,outcome', OUTCOME_TABLE)
def test_outcome_of(reward, method, outcome):
    assert outcome_of(reward, method) == outcome


@pytest.mark.parametrize(
    'outcome,reward,expected',
    [
        ('correct', 1.0, True),
        ('incorrect', 0.0, False),
        ('timeout', 0.0, False),
        ('abstain', math.nan, False),
        ('scored', 0.5, True),
        ('scored', 0.0, False),
        ('unparsable', 0.0, False),
    ],
)
def test_solved(outcome, reward, expected):
    assert solved(outcome, reward) is expected


def test_verdicts_equal_the_rewards_called_directly():
    pairs = real_pairs()[::3]
    trajectories = [as_trajectory(c) for c, _ in pairs]
    golds = [g for _, g in pairs]
    results = Scorer(['math', 'format=0.5']).score(trajectories, golds)
    direct = MathReward().explain(trajectories, golds)
    formats = FormatReward()(trajectories)
    assert len(results) == len(pairs)
    for r, v, f in zip(results, direct, formats):
        ex = r.explanation['math']
        assert (ex['method'], ex['answer'], ex['gold'], ex['rule'], ex['reason']) == (
            v.method,
            v.answer,
            v.gold,
            v.rule,
            v.reason,
        )
        assert r.parts['format'] == f
        if math.isnan(v.reward):
            assert math.isnan(r.reward) and math.isnan(r.parts['math'])
        else:
            assert r.reward == v.reward + 0.5 * f


def test_nan_policy_zero_counts_an_abstention_as_zero():
    t = [as_trajectory('<think>a</think><answer>1</answer>')]
    assert math.isnan(Scorer(['math', 'format']).score(t, [None])[0].reward)
    assert Scorer(['math', 'format'], nan_policy='zero').score(t, [None])[0].reward == 1.0


def test_function_and_repeated_rewards_get_names():
    scorer = Scorer(['tests.serve.custom_rewards:length', 'math', 'math=2'])
    assert scorer.names == ['length', 'math', 'math_1']
    r = scorer.score([as_trajectory('The answer is 4.')], ['4'])[0]
    assert r.parts == {'length': 16.0, 'math': 1.0, 'math_1': 1.0}
    assert r.reward == 16.0 + 1.0 + 2.0


def test_sample_record_is_json_ready():
    r = Scorer(['math']).score([as_trajectory('The answer is 4.')], [None])[0]
    rec = sample_record(r)
    assert rec['reward'] is None and rec['rewards'] == {'math': None}
    assert rec['explanation']['math']['method'] == 'unparsable_gold'


def test_empty_batch_and_length_mismatch():
    scorer = Scorer(['math', 'format'])
    assert scorer.score([], []) == []
    with pytest.raises(ValueError, match='2 ground truths for 1 trajectories'):
        scorer.score(['a'], ['1', '2'])


def test_scorer_arguments_are_checked():
    with pytest.raises(ValueError, match='non-empty list'):
        Scorer('math')
    with pytest.raises(ValueError, match='nan_policy'):
        Scorer(['math'], nan_policy='drop')
    with pytest.raises(ValueError, match="unknown options \\['deadline'\\]"):
        Scorer(['math'], math_options={'deadline': 1})


def test_format_rewards_scan_together_with_the_values_each_gets_alone():
    """The built-in format rewards of one scorer go through one scan: every part's value,
    explanation and the total equal those of the parts scored one by one."""
    texts = [
        '<think>a</think><answer>\\boxed{1}</answer> <a>',
        '<think><think></answer><b> c',
        '\\boxed{\\frac{1}{2}} and <answer>3</answer>',
        '',
        {'messages': [{'role': 'assistant', 'content': [{'type': 'image'}]}]},
    ]
    specs = [
        'format=0.5',
        'tag_count=0.3',
        'math',
        'boxed=0.7',
        'tests.serve.custom_rewards:length',
        'tests.serve.custom_rewards:three_tags',
    ]
    fused = Scorer(specs)
    assert [(idx, len(scan.specs)) for idx, scan in fused._fused] == [([0, 1, 3, 5], 9)]
    alone = Scorer(specs)
    alone._fused = []  # each part scored on its own
    golds = ['1', None, '0.5', None, None]
    for got, want in zip(fused.score(texts, golds), alone.score(texts, golds)):
        assert got.explanation == want.explanation
        assert got.parts.keys() == want.parts.keys()
        for k in got.parts:
            assert got.parts[k] == want.parts[k] or (math.isnan(got.parts[k]) and math.isnan(want.parts[k]))
        assert got.reward == want.reward or (math.isnan(got.reward) and math.isnan(want.reward))
    second = fused.score(texts[:2], None)[1].parts
    assert second['tag_count'] == 0.25 and second[fused.names[5]] == float(np.float32(2 / 3)) != 2 / 3
