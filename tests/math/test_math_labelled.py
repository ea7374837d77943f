"""Accuracy on the labelled set (tests/math/data/labelled.jsonl).

Targets: at least 400 cases in at least 25 categories, about half true;
accuracy >= 98% and at most 1% false positives. The per-category table is printed
(``pytest -s``) so the README can quote it.
"""

import collections

import pytest

from tests.math.labelled_cases import JSONL, build_cases, load_cases
from twinkle.math import MathChecker, MathConfig


@pytest.fixture(scope='module')
def results():
    cases = load_cases()
    checker = MathChecker(MathConfig(sympy_deadline_s=5.0))
    verdicts = checker.check(
        [c['completion'] for c in cases], [c['gold'] for c in cases], questions=[c['question'] for c in cases]
    )
    return cases, verdicts


def test_file_is_current():
    assert load_cases() == build_cases(), f'rerun: python tests/math/labelled_cases.py ({JSONL})'


def test_shape_of_the_set():
    cases = load_cases()
    cats = collections.Counter(c['category'] for c in cases)
    pos = sum(c['expected'] for c in cases)
    assert len(cases) >= 400
    assert len(cats) >= 25
    assert 0.4 <= pos / len(cases) <= 0.6
    assert len({c['id'] for c in cases}) == len(cases)


def test_accuracy_and_false_positives(results):
    cases, verdicts = results
    per = collections.defaultdict(lambda: [0, 0, 0])  # right, total, false positives
    wrong = []
    for c, v in zip(cases, verdicts):
        got = v.reward == 1.0
        row = per[c['category']]
        row[1] += 1
        if got == c['expected']:
            row[0] += 1
        else:
            wrong.append((c['id'], c['expected'], v.method, v.answer))
            if got:
                row[2] += 1
    print(f'\n{"category":26} {"acc":>7} {"n":>4} {"FP":>3}')
    for cat, (ok, n, fp) in sorted(per.items()):
        print(f'{cat:26} {ok / n:7.1%} {n:4d} {fp:3d}')
    n = len(cases)
    acc = 1 - len(wrong) / n
    fp = sum(r[2] for r in per.values())
    print(f'{"all":26} {acc:7.1%} {n:4d} {fp:3d}')
    assert acc >= 0.98, wrong
    assert fp / n <= 0.01, wrong


def test_every_verdict_is_decided(results):
    _, verdicts = results
    for v in verdicts:
        assert v.reward in (0.0, 1.0)
        assert v.method != 'timeout'


# The answer forms of real model prose, each decided exactly (no tolerance): final
# statements, marker clauses, plain-text math, number words, GSM8K prose, big operators,
# solution lists, equations, and the forms only the question settles.
PROSE_CLASSES = (
    'prose_statements',
    'marker_clauses',
    'plain_text_math',
    'number_words',
    'gsm8k_prose',
    'big_operators',
    'solution_forms',
    'equation_answers',
    'question_aware',
)


@pytest.mark.parametrize('category', PROSE_CLASSES)
def test_prose_classes_exactly(results, category):
    cases, verdicts = results
    rows = [(c, v) for c, v in zip(cases, verdicts) if c['category'] == category]
    assert len(rows) >= 5
    wrong = [
        (c['completion'], c['gold'], c['question'], v) for c, v in rows if (v.reward == 1.0) != c['expected']
    ]
    assert not wrong, wrong
