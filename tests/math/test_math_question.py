"""Answers that only the question can settle (twinkle.math.question).

Each table row is (question, completion, gold, expected reward). Without the question the
same completions score 0.0 for a bound or a negated count (neither is a value), so the
question only ever turns such a 0.0 into 1.0, or a helper unknown or an incomplete
factorisation from 1.0 into 0.0.
"""

import pytest

from twinkle.math import MathChecker
from twinkle.math.extract import extract_answer
from twinkle.math.latex import parse_answer
from twinkle.math.question import accepts, auxiliary_name, factor_count, read_question
from twinkle.reward import MathReward

CHECKER = MathChecker()

AT_LEAST = 'Let (x, y, z) solve x^2+y^2=z^2. At least how many of the three numbers must be divisible by 5?'
AT_MOST = 'For positive a, b, c, d, at most how many of the three inequalities can be true at the same time?'
PAIRS = 'How many pairs of positive odd integers (a, b) both under 100 make a^2+b^2 a perfect square?'
ROOTS = 'How many real-valued zeros does the polynomial 1+x+x^2/2!+...+x^(2n)/(2n)! have?'
VALUES_N = 'For how many values of n in {1, 2, ..., 100} does P(x) have at least one real-valued root?'
SEQUENCES = 'How many sequences of positive numbers a_0, a_1, a_2, ... satisfy a_0=1?'
FACTOR = 'Factorize x^8+x^4+1 into terms of integer coefficients.'
FULL = '(x^2+x+1)(x^2-x+1)(x^4-x^2+1)'


@pytest.mark.parametrize(
    'question,completion,gold,reward',
    [
        # a bound is the value only when the question asks for that bound
        (AT_LEAST, 'At least one of the three numbers x, y, or z must be divisible by 5.', '1', 1.0),
        (AT_LEAST, 'Therefore, at least one of the three numbers must be divisible by 5.', '1', 1.0),
        (AT_LEAST, 'Answer: At least one of the three numbers must be divisible by 5.', '1', 1.0),
        (AT_LEAST, 'At least 2 of the three numbers must be divisible by 5.', '1', 0.0),
        (AT_LEAST, 'At most one of the numbers is divisible by 5.', '1', 0.0),
        (AT_LEAST, 'The answer is 1.', '1', 1.0),
        (AT_MOST, 'At most two of the three inequalities can be true at the same time.', '2', 1.0),
        (AT_MOST, 'At least two of the three inequalities can be true.', '2', 0.0),
        (PAIRS, 'At least one pair works.', '1', 0.0),
        (None, 'At least one of the three numbers must be divisible by 5.', '1', 0.0),
        # a negated count is 0 when the question counts the negated things
        (PAIRS, 'There are no pairs of positive odd integers (a, b) with that property.', '0', 1.0),
        (ROOTS, 'The polynomial 1 + x + x^2/2! + ... + x^(2n)/(2n)! has no real-valued zeros.', '0', 1.0),
        (ROOTS, 'The polynomial does not have any real-valued zeros.', '0', 1.0),
        (ROOTS, 'The polynomial has no real-valued zeros.', '2', 0.0),
        (VALUES_N, 'For no value of n in the range can P(x) have a real root.', '0', 1.0),
        (
            VALUES_N,
            'For all values of n, the polynomial P(x) does not have any real-valued root.',
            '0',
            0.0,
        ),  # a universal claim about each polynomial, not the count of n
        (
            ROOTS,
            'It can have at most 6 roots, but it is possible that it has no real zeros.',
            '0',
            0.0,
        ),  # the negation is in a concession, not the main clause
        ('What is the smallest prime p such that p + 2 is prime?', 'There is no such prime.', '0', 0.0),
        (None, 'There are no pairs of odd integers whose squares sum to a square.', '0', 0.0),
        # an unknown the "how many" question never names is a helper, not the count
        (SEQUENCES, 'The only possible value of $t$ in the given problem is $t=1$.', '1', 0.0),
        (SEQUENCES, 'The number of such sequences is 1.', '1', 1.0),
        (SEQUENCES, 'So $a_0 = 1$.', '1', 1.0),  # named in the question
        ('Solve 2x+1=3 for x.', 'The solution is $x = 1$.', '1', 1.0),  # no count asked
        # a factorisation must be complete when the question asks for one
        (FACTOR, f'The factorization is ${FULL}$.', FULL, 1.0),
        (FACTOR, 'The factorization is $(x^4 + x^2 + 1)(x^4 - x^2 + 1)$.', FULL, 0.0),
        (FACTOR, 'The answer is $x^8+x^4+1$.', FULL, 0.0),
        (FACTOR, r'\boxed{(x^2-x+1)(x^4-x^2+1)(x^2+x+1)}', FULL, 1.0),
        (None, 'The factorization is $(x^4 + x^2 + 1)(x^4 - x^2 + 1)$.', FULL, 1.0),
        (
            'How many handshakes happen among n people?',
            r'\boxed{\frac{n^2-n}{2}}',
            r'\frac{n(n-1)}{2}',
            1.0,
        ),  # a count formula need not be factored
    ],
)
def test_question_decides(question, completion, gold, reward):
    (v,) = CHECKER.check([completion], [gold], questions=[question])
    assert v.reward == reward, v


def test_reasons_name_the_rule():
    (v,) = CHECKER.check(['At least one of them is even.'], ['1'], questions=['How many of them are even?'])
    assert v.method == 'no_answer' and 'lower bound' in v.reason, v
    (v,) = CHECKER.check(['At least one of them is even.'], ['1'])
    assert 'no question given' in v.reason, v
    (v,) = CHECKER.check(['The only possible value of $t$ is $t=1$.'], ['1'], questions=[SEQUENCES])
    assert 'gives t' in v.reason, v
    (v,) = CHECKER.check(
        ['The factorization is $(x^4 + x^2 + 1)(x^4 - x^2 + 1)$.'], [FULL], questions=[FACTOR]
    )
    assert v.method == 'structural' and '2 factors' in v.reason and 'has 3' in v.reason, v


def test_math_reward_reads_the_prompt_from_the_trajectory():
    reward = MathReward()
    traj = {
        'messages': [
            {'role': 'user', 'content': AT_LEAST},
            {'role': 'assistant', 'content': 'At least one of them must be.'},
        ]
    }
    no_prompt = {'messages': [{'role': 'assistant', 'content': 'At least one of them must be.'}]}
    assert reward([traj, no_prompt], ['1', '1']) == [1.0, 0.0]
    # the last user message before the answer is the question (earlier turns are context)
    chat = {
        'messages': [
            {'role': 'user', 'content': 'How many of them are even?'},
            {'role': 'assistant', 'content': 'Let me think.'},
            {'role': 'user', 'content': AT_LEAST},
            {'role': 'assistant', 'content': 'At least one of them must be.'},
        ]
    }
    assert reward([chat], ['1']) == [1.0]


def test_questions_length_is_checked():
    with pytest.raises(ValueError, match='2 completions but 1 questions'):
        CHECKER.check(['a', 'b'], ['1', '2'], questions=['q'])


def test_cached_pairs_still_apply_the_question():
    # the same (gold, answer) pair decided for one question is not reused for another
    checker = MathChecker()
    texts = ['The factorization is $(x^4 + x^2 + 1)(x^4 - x^2 + 1)$.'] * 2
    first = checker.check(texts, [FULL, FULL], questions=[None, FACTOR])
    again = checker.check(texts, [FULL, FULL], questions=[FACTOR, None])
    assert [v.reward for v in first] == [1.0, 0.0]
    assert [v.reward for v in again] == [0.0, 1.0]


@pytest.mark.parametrize(
    'text,at_least,at_most,count,factorise',
    [
        (AT_LEAST, True, False, True, False),
        (AT_MOST, False, True, True, False),
        (FACTOR, False, False, False, True),
        ('How often does the factor 2 occur in P(n)?', False, False, True, False),
        ('Can n+2 be a factor of 1^1987+...+n^1987?', False, False, False, False),
        ('Factor the polynomial x^2-1.', False, False, False, True),
    ],
)
def test_read_question(text, at_least, at_most, count, factorise):
    q = read_question(text)
    assert (q.at_least, q.at_most, q.count, q.factorise) == (at_least, at_most, count, factorise)


def test_accepts_and_helpers():
    q = read_question(PAIRS)
    assert accepts(q, '') and accepts(None, '')
    assert accepts(q, 'count', 'pairs of odd integers')
    assert not accepts(q, 'count', 'real roots')
    assert not accepts(q, 'at_least')
    assert auxiliary_name(read_question(SEQUENCES), 't = 1', '1') == 't'
    assert auxiliary_name(read_question(SEQUENCES), 't = 1', 't = 1') is None
    assert auxiliary_name(None, 't = 1', '1') is None
    assert factor_count(parse_answer(FULL)) == 3
    assert factor_count(parse_answer('x^8+x^4+1')) == 1
    assert factor_count(parse_answer('-(x+1)^2(x-2)')) == 3
    assert factor_count(parse_answer(r'\frac{(x+1)(x-1)}{2}')) == 2


@pytest.mark.parametrize(
    'completion,needs,answer',
    [
        ('At least one of the three numbers must be divisible by 5.', 'at_least', '1'),
        ('At most two of the inequalities hold.', 'at_most', '2'),
        ('The minimum is at least 3.', 'at_least', '3'),
        ('There are no such pairs.', 'count', '0'),
        ('The polynomial has no real zeros.', 'count', '0'),
        ('The polynomial does not have any double roots.', 'count', '0'),
        ('For no value of n can it be factored.', 'count', '0'),
        ('The minimum value is 6.', '', '6'),
    ],
)
def test_extraction_marks_what_the_answer_needs(completion, needs, answer):
    ext = extract_answer(completion)
    assert (ext.answer, ext.needs) == (answer, needs), ext
