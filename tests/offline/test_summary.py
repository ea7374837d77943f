"""pass@k and maj@k against brute force over every k-subset, and the summary table."""

import itertools
import math
import random

import pytest

from twinkle.offline.summary import (
    default_ks,
    format_summary,
    majority_at_k,
    majority_correct,
    pass_at_k,
    summarize,
)


def brute_pass_at_k(correct, k):
    subsets = list(itertools.combinations(correct, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize('n', [1, 2, 3, 5, 8, 10])
def test_pass_at_k_equals_the_fraction_of_subsets_with_a_correct_sample(n):
    rnd = random.Random(n)
    for _ in range(5):
        correct = [rnd.random() < 0.4 for _ in range(n)]
        for k in range(1, n + 1):
            assert pass_at_k(n, sum(correct), k) == pytest.approx(brute_pass_at_k(correct, k), abs=1e-12)


def test_pass_at_k_large_n_does_not_overflow():
    assert pass_at_k(10000, 1, 10000) == 1.0
    assert pass_at_k(10000, 0, 5000) == 0.0
    assert pass_at_k(10000, 5000, 1) == pytest.approx(0.5)


@pytest.mark.parametrize('n,c,k', [(3, 4, 1), (3, 1, 0), (3, 1, 4), (2, -1, 1)])
def test_pass_at_k_checks_its_arguments(n, c, k):
    with pytest.raises(ValueError, match='pass_at_k needs'):
        pass_at_k(n, c, k)


# (votes in sample order, majority correct?)
MAJORITY = [
    # correct answers vote together whatever their form
    ([('1/2', True), ('0.5', True), ('3', False)], True),
    # wrong answers with the same text vote together
    ([('3', False), ('3', False), ('1/2', True)], False),
    # a tie: the candidate whose first vote came first
    ([('3', False), ('1/2', True)], False),
    ([('1/2', True), ('3', False)], True),
    # no answer: no vote
    ([(None, False), (None, False), ('1/2', True)], True),
    ([(None, False)], False),
    ([], False),
]


@pytest.mark.parametrize('votes,expected', MAJORITY)
def test_majority_correct(votes, expected):
    assert majority_correct(votes) is expected


def test_majority_at_k_is_exact_over_subsets_and_consistent_with_pass_at_1():
    votes = [('5', True), ('7', False), ('7', False), (None, False), ('5', True), ('9', False)]
    for k in range(1, 7):
        subsets = list(itertools.combinations(votes, k))
        assert majority_at_k(votes, k) == pytest.approx(
            sum(majority_correct(s) for s in subsets) / len(subsets)
        )
    assert majority_at_k(votes, 1) == pytest.approx(pass_at_k(6, 2, 1))


def test_majority_at_k_samples_when_there_are_many_subsets():
    votes = [(str(i % 3), i % 3 == 0) for i in range(30)]
    a, b = majority_at_k(votes, 10), majority_at_k(votes, 10)
    assert a == b and 0.0 < a < 1.0  # seeded: the same file gives the same figure


def test_default_ks():
    assert default_ks(16) == [1, 2, 4, 8, 16] and default_ks(6) == [1, 2, 4, 6]


def _row(pid, ok, answer, fmt=1.0):
    return {
        'problem_id': pid,
        'reward': float(ok) + 0.5 * fmt,
        'rewards': {'math': float(ok), 'format': fmt},
        'explanation': {
            'math': {
                'outcome': 'correct' if ok else ('incorrect' if answer else 'unparsable'),
                'answer': answer,
            },
            'format': {'outcome': 'scored'},
        },
    }


def test_summarize_and_its_table():
    rows = [
        _row('a', True, '2'),
        _row('a', False, '3'),
        _row('a', False, '3'),
        _row('a', False, None),
        _row('b', True, '1'),
        _row('b', True, '1.0', 0.0),
        {
            'problem_id': 'c',
            'reward': None,
            'rewards': {'math': None, 'format': 0.0},
            'explanation': {
                'math': {'outcome': 'abstain', 'answer': '4', 'method': 'unparsable_gold'},
                'format': {'outcome': 'scored'},
            },
        },
    ]
    s = summarize(rows, ['math', 'format'])
    assert s['rows'] == 7 and s['problems'] == 3
    assert s['rewards']['math'] == {
        'rows': 7,
        'mean': 3 / 6,
        'correct': 3,
        'incorrect': 2,
        'unparsable': 1,
        'timeout': 0,
        'abstain': 1,
        'scored': 0,
    }
    assert s['pass_at_k']['math']['1'] == pytest.approx((1 / 4 + 1 + 0) / 3)
    assert s['pass_at_k']['math']['4'] == pytest.approx(1.0)  # only problem a has 4 samples
    assert s['problems_at_k'] == {'1': 3, '2': 2, '4': 1}
    assert s['maj_at_k']['math']['4'] == 0.0  # a: '3' twice beats '2' once
    assert 'format' not in s['maj_at_k']  # no answers to vote with
    assert s['pass_at_k']['format']['1'] == pytest.approx((1 + 1 / 2 + 0) / 3)  # solved: a reward above 0
    text = format_summary(s, {'math': 1.0, 'format': 0.5})
    assert 'math pass@k' in text and 'math maj@k' in text and '3 problems, 1-4 samples each' in text
    assert math.isclose(s['total']['mean'], sum(r['reward'] for r in rows[:6]) / 6)


def test_summarize_without_problem_ids_has_no_pass_at_k():
    s = summarize(
        [{'reward': 1.0, 'rewards': {'math': 1.0}, 'explanation': {'math': {'outcome': 'correct'}}}], ['math']
    )
    assert 'pass_at_k' not in s and 'problems' not in format_summary(s)
