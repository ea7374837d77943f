"""The final declarative statement as an answer: "The minimum value of the expression is 6."

Each table row is (completion, gold, expected reward). The sentences are of the kinds real
chat models end with (see tests/math/data/champ_labels.jsonl); the negative rows are
sentences that mention numbers without stating the asked value.
"""

import pytest

from twinkle.math import MathChecker
from twinkle.math.extract import extract_answer, words_to_number

CHECKER = MathChecker()


@pytest.mark.parametrize(
    'completion,gold,reward',
    [
        # "<subject> is V": the value ends the main clause
        ('The minimum value of the expression is 6.', '6', 1.0),
        ('The number of involutions on the set {1, 2, 3, 4, 5, 6} is 76.', '76', 1.0),
        ('The number of such sequences is $3^{n-1}$.', '3^{n-1}', 1.0),
        ('The smallest value of (a^2+b^2)/(a+b)^2 for positive a, b is 1/2.', r'\frac12', 1.0),
        (
            'The minimum value of x_1^2 + ... + x_n^2, where x_1, ..., x_n >= 0 and '
            'x_1 + ... + x_n = 1, is 1/n.',
            r'\frac{1}{n}',
            1.0,
        ),
        ('The smallest value of (x^2+2)/sqrt(x^2+1) for real x is 2, which occurs when x = 0.', '2', 1.0),
        ('The minimum value is $0$, which occurs when $a=b=c$.', '0', 1.0),
        ('The possible values of x^2 mod 30 for prime x > 30 are 1 and 19.', '1, 19', 1.0),
        ('The only possible positive integer value of x is x=3.', '3', 1.0),
        ('The number of ways is $\\binom{10}{3} = 120$.', '120', 1.0),
        # a computation ending in its value: the last side is what is committed, even when
        # the steps before it are wrong (a wrong derivation of the right value is correct)
        ('The number of ways is $8! - 1260 - 6720 = 120$.', '120', 1.0),
        ('The number of ways is $8! - 1260 - 6720 = 32340$.', '120', 0.0),
        ('The number of ways is $n = 120$.', '120', 1.0),
        ('The total cost is $\\$12.50$.', '12.5', 1.0),
        ('The number of diagonals is $\\frac{n(n-3)}{2}$.', r'\frac{n(n-3)}{2}', 1.0),
        ('The largest possible area is $\\frac{5}{2}$.', '2.5', 1.0),
        ('The minimum value of the expression is 6.', '7', 0.0),
        # "There are V <things>", "<subject> has V <things>"
        ('There are 89 subsets of {1, ..., 10} with no two consecutive elements.', '89', 1.0),
        ('There are 5050 different ordered triples (a, b, c) of non-negative integers.', '5050', 1.0),
        ('The expansion of (x+y+z)^1999 will have 2,001,000 terms.', '2001000', 1.0),
        ('There are eleven ways to do it.', '11', 1.0),
        ('There are 89 subsets.', '90', 0.0),
        # numbers in words
        ('The number of solutions is eleven.', '11', 1.0),
        ('The total is three thousand.', '3000', 1.0),
        ('The fraction of red balls is two fifths.', r'\frac25', 1.0),
        ('The number of eggs is a dozen.', '12', 1.0),
        # after "Therefore" too, when the older concluding rule finds nothing
        ('Therefore, the minimum value is 4, attained at x = 1.', '4', 1.0),
        # a later verb in a subordinate clause does not hide the main one
        (
            'The minimum value of a^4+b^4+c^4 for positive a, b, c is 0, which is achieved when a = b = c.',
            '0',
            1.0,
        ),
        ('The limit of the sequence exists and is equal to 4.', '4', 1.0),
        ('The limit is given by (1 + sqrt(1 + 4a))/2.', r'\frac{1+\sqrt{4a+1}}{2}', 1.0),
        ('The remainder is always 0.', '0', 1.0),
        ('The expression can be factorized as (x + 1)(x - 1).', '(x-1)(x+1)', 1.0),
        ('The values of a, b, and c are a = 3, b = -7, and c = 4.', 'a = 3, b = -7, c = 4', 1.0),
        # a congruence states the residue of a number
        ('3^105 + 4^105 = 2 mod 11.', '2', 1.0),
        (r'$3^{105} + 4^{105} \equiv 0 \pmod{13}$.', '0', 1.0),
        ('2^32+1 is congruent to 0 mod 641.', '0', 1.0),
        (r'$n\equiv 0\pmod{991}$.', '0', 0.0),  # a condition on n, not a value
        # not a statement of the value: no answer
        ('There are no pairs of odd integers whose squares sum to a square.', '0', 0.0),
        ('The minimum is achieved when a = b = c.', '1', 0.0),
        ('The inequality holds for every n in the set {1, ..., 100}.', '100', 0.0),
        ('There is no value of k for which the polynomial is divisible by x+y+z.', '0', 0.0),
        ('The value is 2 times larger than the previous one.', '2', 0.0),
        ('The answer is either 8 or 9.', '8', 0.0),
        ('The value is 8 or 9.', '8', 0.0),
        ('The value is probably 8.', '8', 0.0),
        ('The possible values are 1 and 19.', '1', 0.0),  # a list where one item matches
        ('The value of the sum is 5 because 2 + 3 = 5, so the sum is', '5', 0.0),  # truncated
        ('2^32+1 is congruent to 0 mod 641 and the value is', '0', 0.0),
        ('At least one of the three numbers must be divisible by 5.', '1', 0.0),
    ],
)
def test_final_statement(completion, gold, reward):
    (v,) = CHECKER.check([completion], [gold])
    assert v.reward == reward, v


def test_the_statement_rule_is_named_in_explain():
    ext = extract_answer('The number of such sequences is $3^{n-1}$.')
    assert (ext.answer, ext.how) == ('3^{n-1}', 'sentence')


def test_a_box_still_wins_over_a_later_sentence_mention():
    # A committed box and a restating sentence: the box (the earlier rule) decides.
    ext = extract_answer(r'So $\boxed{7}$. The number of coins is 7.')
    assert ext.answer == '7'


@pytest.mark.parametrize(
    'text,value',
    [
        ('eleven', '11'),
        ('three thousand', '3000'),
        ('two fifths', '2/5'),
        ('a dozen', '12'),
        ('one hundred and twenty-three', '123'),
        ('a half', '1/2'),
        ('zero', '0'),
        ('forty two', '42'),
        ('two million', '2000000'),
        ('three apples', None),
        ('and', None),
        ('', None),
        ('hundred', None),
    ],
)
def test_words_to_number(text, value):
    assert words_to_number(text) == value


@pytest.mark.parametrize(
    'completion,rule',
    [
        ('The number of such sequences is $3^{n-1}$.', 'sentence'),
        ('Therefore, the total is $42$.', 'conclusion'),
        (r'So it is $\boxed{42}$.', 'boxed'),
        ('The answer is 42.', 'marker'),
        ('We get 5 then 6 then 7', ''),
    ],
)
def test_explain_names_the_extraction_rule(completion, rule):
    (v,) = CHECKER.check([completion], ['42'])
    assert v.rule == rule


@pytest.mark.parametrize(
    'completion,strict_reward',
    [
        ('The minimum value of the expression is 42.', 0.0),
        ('Therefore, the total is $42$.', 0.0),
        (r'So it is $\boxed{42}$.', 1.0),
        ('The answer is 42.', 1.0),
        ('<answer>42</answer>', 1.0),
    ],
)
def test_strict_extraction_reads_boxes_tags_and_markers_only(completion, strict_reward):
    from twinkle.reward.math import MathReward

    strict = MathReward(extraction='strict')
    traj = {'messages': [{'role': 'assistant', 'content': completion}]}
    assert strict([traj], ['42']) == [strict_reward]
    assert MathReward()([traj], ['42']) == [1.0]


def test_strict_extraction_on_the_token_path():
    import torch

    from tests.math.test_math_reward import _qwen_tokenizer
    from twinkle.reward.math import MathReward

    tok = _qwen_tokenizer()
    texts = ['The minimum value of the expression is 42.', r'So it is $\boxed{42}$.']
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    ids = torch.full((2, max(map(len, enc))), tok.pad_token_id, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e)
    lengths = torch.tensor([len(e) for e in enc])
    strict = MathReward(tokenizer=tok, extraction='strict')
    assert strict.forward(ids, lengths, ['42', '42']).tolist() == [0.0, 1.0]
    assert MathReward(tokenizer=tok).forward(ids, lengths, ['42', '42']).tolist() == [1.0, 1.0]


def test_an_unknown_extraction_mode_is_refused():
    from twinkle.math import MathConfig

    with pytest.raises(ValueError, match='extraction'):
        MathConfig(extraction='loose')


@pytest.mark.parametrize(
    'answer,gold,reward',
    [
        # a function's argument without brackets runs to the next operator or function
        (r'\cos 3\theta', r'\cos(3\theta)', 1.0),
        (r'\cos 3\theta', r'3\cos(\theta)', 0.0),
        (r'\sin 2x + 1', r'\sin(2x)+1', 1.0),
        (r'\sin x \cos x', r'\sin(x)\cos(x)', 1.0),
        (r'\sin^2 x + \cos^2 x', '1', 1.0),
        (r'\log_2 8', '3', 1.0),
        # plain-text math
        ('sqrt(5)/3', r'\frac{\sqrt5}{3}', 1.0),
        ('pi/6', r'\frac{\pi}{6}', 1.0),
        ('3^(n-1)', '3^{n-1}', 1.0),
        ('n(n-1)/2', r'\frac{n(n-1)}{2}', 1.0),
    ],
)
def test_function_arguments_and_plain_text(answer, gold, reward):
    (v,) = CHECKER.check([rf'\boxed{{{answer}}}'], [gold])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'completion,gold,reward',
    [
        # a marker followed by a clause answers with the value the clause states
        ('Final Answer: The largest value is 2/5', r'\frac25', 1.0),
        ('Final Answer: The smallest value of x^2/y^2 + y^2/z^2 - (x/y + y/z) is 0.', '0', 1.0),
        ('The final answer is: the number of subsets is 144.', '144', 1.0),
        ('Final Answer: The largest value is 2/5', '2', 0.0),
        ('Final Answer: The polynomial has no real zeros.', '0', 0.0),
        # products of variables in a plain-text value
        (
            'The expression can be factorized as (x + y + z)(x^2 + y^2 + z^2 - xy - xz - yz).',
            '(x+y+z)(x^2+y^2+z^2-xy-yz-xz)',
            1.0,
        ),
        ('The value is 2 the', '2', 0.0),
    ],
)
def test_marker_clauses_and_variable_products(completion, gold, reward):
    (v,) = CHECKER.check([completion], [gold])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'completion,gold,question,reward',
    [
        # an "or" in what is counted is no hedge; one next to the count is
        ('There are 120 necklaces of this length that use red or blue beads.', '120', None, 1.0),
        ('There are 8 or 9 necklaces.', '8', None, 0.0),
        ('There are 8 necklaces or 9.', '8', None, 0.0),
        ('There are 8 necklaces, but I am not sure.', '8', None, 0.0),
        ('There are 8 necklaces with red or blue beads, maybe more.', '8', None, 0.0),
        ('There are 8 necklaces (or 9).', '8', None, 0.0),
        ('There are 8 necklaces, or $9$.', '8', None, 0.0),
        ('There are 8 necklaces, or more.', '8', None, 0.0),
        ('There are 8 necklaces, or thirteen.', '8', None, 0.0),
        # "only", "just"
        ('There is only one value of k for which the sum is prime, namely k = 2.', '1', None, 1.0),
        ('The graph has just three components.', '3', None, 1.0),
        ('There are two-digit numbers with this property.', '2', None, 0.0),
        ('There are twenty-one ways.', '21', None, 1.0),
        # a bound with a comma, or after a universal opening phrase; decided by the question
        (
            'At most, three of the four statements can hold simultaneously.',
            '3',
            'At most how many of the four statements can hold at once?',
            1.0,
        ),
        (
            'For every triangle with integer sides, at least two of the angles must be acute.',
            '2',
            'At least how many of the angles must be acute?',
            1.0,
        ),
        (
            'For every triangle with integer sides, at least two of the angles must be acute.',
            '2',
            'How many of the angles are acute?',
            0.0,
        ),
        # "for any ..." ends the value
        ('The maximum of the expression is 4 for any positive reals x and y.', '4', None, 1.0),
        # the noun before a value: "the interval", "the expression", "the formula"
        ('The count is given by the formula m*(m-1)*(2m-1)/6.', r'\frac{m(m-1)(2m-1)}{6}', None, 1.0),
        ('The set of possible values of t is the interval [0, 2].', '[0, 2]', None, 1.0),
        ('The set of possible values of t is the interval [0, 2].', '[0, 3]', None, 0.0),
        ('The sum is a number between 1 and 10.', '10', None, 0.0),
        # a value without a digit: an operator, a function or a lone letter; not a word
        ('The limit of the sequence is sqrt(b).', r'\sqrt{b}', None, 1.0),
        ('The limit of the sequence is sqrt(b).', r'\sqrt{a}', None, 0.0),
        ('The total is a+b.', 'a+b', None, 1.0),
        ('The result is n.', 'n', None, 1.0),
        ('The result is n.', 'm', None, 0.0),
        ('The result is well-defined.', '1', None, 0.0),
        # solutions as tuples after their unknowns
        ('The only solutions are (a, b) = (2, 3) and (a, b) = (4, 5).', '(2, 3), (4, 5)', None, 1.0),
        ('The only solutions are (a, b) = (2, 3) and (a, b) = (4, 5).', '(2, 3)', None, 0.0),
        ('The only solutions are (a, b) = (2, 3) or (a, b) = (4, 5).', '(2, 3), (4, 5)', None, 0.0),
        ('The solution is (a, b) = (2, 3) and (c, d) = (4, 5).', '(2, 3), (4, 5)', None, 0.0),
        # a value restated in brackets after its name (a factorial keeps its "!")
        ('The number of orderings is m factorial (m!).', 'm!', None, 1.0),
        ('The number of orderings is m factorial (m!).', 'm', None, 0.0),
        ('The number of ways is the number of subsets (2^n).', '2^n', None, 1.0),
        ('The value is not known (6).', '6', None, 0.0),
        ('The number of ways is six (5 if the empty set is left out).', '5', None, 0.0),
        ('The number of ways is the count of subsets (5 if the empty set is left out).', '5', None, 0.0),
        ('The number of ways is the count of subsets (32).', '32', None, 1.0),
        ('The number of ways is C(7, 2).', '7, 2', None, 0.0),
    ],
)
def test_statement_forms_of_unseen_model_text(completion, gold, question, reward):
    (v,) = CHECKER.check([completion], [gold], questions=[question])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'completion,gold,question,reward',
    [
        # a lone letter is a variable; the article "a" and the pronoun "I" are not values
        ('The sum over all nonempty subsets of {1, 2, ..., n} is n.', 'n', None, 1.0),
        ('The sum over all nonempty subsets of {1, 2, ..., n} is k.', 'n', None, 0.0),
        ('The value we need is a.', '1', None, 0.0),
        # a factorial before the full stop keeps its "!"; a lone "!" ends the sentence
        ('The number of ways to place n rooks on an n x n board is n!.', 'n!', None, 1.0),
        ('The number of ways to place n rooks on an n x n board is n!.', 'n', None, 0.0),
        ('Final answer: 4!.', '24', None, 1.0),
        ('The answer is 5!', '5', None, 1.0),
        ('There are 120 ways!', '120', None, 1.0),
        # an identity stands for its value; an equation with one solution does not
        ('The count is given by C(n, 4) = n! / (4!(n - 4)!).', r'\binom{n}{4}', None, 1.0),
        ('The count is given by C(n, 4) = n! / (3!(n - 4)!).', r'\binom{n}{4}', None, 0.0),
        ('The count is $x + 1 = 5$.', '5', None, 0.0),
        # "at most, only"; "at least <expression> of"; both decided by the question
        (
            'At most, only two of the three inequalities can be true at once.',
            '2',
            'At most how many can be true?',
            1.0,
        ),
        ('At most, only two of the three inequalities can be true at once.', '2', 'How many are true?', 0.0),
        (
            'At least k - 2 of the integers m have f(m) divisible by 3.',
            'k-2',
            'At least how many of them are divisible by 3?',
            1.0,
        ),
        ('At least k - 2 of the integers m have f(m) divisible by 3.', 'k-2', None, 0.0),
        # "factorizes to", "reduces to"
        (
            'The expression $x^3 + y^3$ factorizes to $(x + y)(x^2 - xy + y^2)$.',
            '(x+y)(x^2-xy+y^2)',
            None,
            1.0,
        ),
        ('The sum reduces to 42.', '42', None, 1.0),
        # a value after a noun phrase and a comma
        ('The polynomial that satisfies the equation is the zero polynomial, $f(x) = 0$.', '0', None, 1.0),
        ('The polynomial that satisfies the equation is the zero polynomial, $f(x) = 0$.', '1', None, 0.0),
        # one case of a split is no answer; where an extremum is attained, or a restated
        # hypothesis, leaves the value
        ('The minimum value is 0 if n is even.', '0', None, 0.0),
        ('Therefore, the minimum value is $0$ if $n$ is even.', '0', None, 0.0),
        ('The number is (n-1) when n>1, and 1 when n=1.', 'n-1', None, 0.0),
        ('The value is 1 if n is even, and n/(n+2) if n is odd.', '1', None, 0.0),
        ('The remainder is $0$ if and only if $n$ is a multiple of $k$.', '0', None, 0.0),
        ('There are 2 solutions if n is even.', '2', None, 0.0),
        ('Hence the number is 5 for even n.', '5', None, 0.0),
        ('Hence the number is 5 for n > 2.', '5', None, 0.0),
        ('#### 5 for even n', '5', None, 0.0),
        ('The minimum value is 0 when a = b = c.', '0', None, 1.0),
        ('The minimum value is $0$, when $a = b = c$.', '0', None, 1.0),
        ('The largest number of real solutions is $0$ if $f(x)$ has no real solutions.', '0', None, 1.0),
        ('There are 2 solutions if we count multiplicity.', '2', None, 1.0),
        ('Hence the number is 5 for each child.', '5', None, 1.0),
    ],
)
def test_case_splits_identities_and_lone_variables(completion, gold, question, reward):
    (v,) = CHECKER.check([completion], [gold], questions=[question])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'completion,gold,question,reward',
    [
        # an "or" or a hedge word in the subject names the thing; one that opens the
        # sentence, speaks of the writer or follows the verb hedges
        ('The number of strings whose digits differ by less than or equal to 1 is 239.', '239', None, 1.0),
        ('The number of strings with increasing or decreasing digits is 504.', '504', None, 1.0),
        ('The maximum for the sides of a (possibly degenerate) triangle is 2.', '2', None, 1.0),
        ('Perhaps the sum is 2.', '2', None, 0.0),
        ('I think the sum is 2.', '2', None, 0.0),
        ('The sum is 2 or 3.', '2', None, 0.0),
        ('The sum is probably 2.', '2', None, 0.0),
        # a hedge just before a marker, or an alternative after a contrast
        ('Maybe the answer is 2.', '2', None, 0.0),
        ('I think the final answer is 2.', '2', None, 0.0),
        ('One might think the answer is 5, but actually the answer is 2.', '2', None, 1.0),
        ("I'm not sure, but the answer is 5.", '5', None, 0.0),
        ('I was not sure at first. The answer is 5.', '5', None, 1.0),
        ('I am not sure, so there are 5 values.', '5', None, 0.0),
        ('We get $5$, but it could also be $7$.', '5', None, 0.0),
        ('We get 5, but it might well be 7.', '5', None, 0.0),
        # values in separate math spans: a list, not one span across the text between them
        (
            'The integer solutions are \\( (x, y) = (2, 1) \\) and \\( (x, y) = (1, 2) \\).',
            '(1, 2), (2, 1)',
            None,
            1.0,
        ),
        ('The values are \\(a = 3\\), \\(b = -7\\), and \\(c = 4\\).', 'a = 3, b = -7, c = 4', None, 1.0),
        ('The values are \\(a = 3\\), \\(b = -7\\), and \\(c = 4\\).', 'a = 3, b = -7, c = 5', None, 0.0),
        ('The roots are $\\frac{1}{2}$, $\\sqrt{3}$, and $2$.', '\\frac{1}{2}, \\sqrt{3}, 2', None, 1.0),
        ('The roots are $\\frac{1}{2}$ or $\\sqrt{3}$.', '\\frac{1}{2}', None, 0.0),
        ('The roots are \\(\\frac{1}{2}\\) and \\(\\sqrt{3}\\).', '\\frac{1}{2}, \\sqrt{3}', None, 1.0),
        # ", meaning ..." ends the value
        ('The possible values of $n \\mod 9$ are $0$, meaning $n$ is a multiple of 9.', '0', None, 1.0),
        # verbs: "converges to", "results in", "holds for"; nouns: "the limit", "the
        # binomial coefficient"
        ('The sequence is bounded, and therefore converges to the limit \\(L = 2\\).', '2', None, 1.0),
        ('The expansion will result in 2,001,000 terms.', '2001000', None, 1.0),
        ('The inequality holds for 98 values of n in the set {1, 2, ..., 100}.', '98', None, 1.0),
        ('The inequality holds for all 100 values of n in the set {1, 2, ..., 100}.', '100', None, 0.0),
        (
            'The count is given by the binomial coefficient C(n, 4) = n! / [4!(n-4)!].',
            r'\binom{n}{4}',
            None,
            1.0,
        ),
        # a conclusion after ", so"
        (
            'The inequality holds for all n in {1, 2, ..., 100}, so there are 100 values of n that satisfy it.',
            '100',
            None,
            1.0,
        ),
        # a count that is an expression; a lone letter there restates the problem
        ('There are 2^(n-1) ways to take an odd number of objects.', '2^{n-1}', None, 1.0),
        ('There are n! ways to order them.', 'n!', None, 1.0),
        ('There are n rooks on the board.', 'n', None, 0.0),
        ('There are 2n-1 ways, or 2n.', '2n-1', None, 0.0),
        # a bound after an opening phrase with a set in it, decided by the question
        (
            'For integer m in {k+3, k+4, ..., 2k}, at least k-2 of them have f(m) divisible by 3.',
            'k-2',
            'At least how many of them have f(m) divisible by 3?',
            1.0,
        ),
    ],
)
def test_subject_words_span_lists_and_conclusions(completion, gold, question, reward):
    (v,) = CHECKER.check([completion], [gold], questions=[question])
    assert v.reward == reward, v


@pytest.mark.parametrize(
    'completion,gold,question,reward',
    [
        # a value under a condition that opens its clause is the value of one case: the
        # question decides whether it sets that case; "unless ..., in which case" never
        ('If n is even, the sum is 0.', '0', None, 0.0),
        ('If n is even, the sum is 0.', '0', 'If n is even, what is the sum?', 1.0),
        ('If n is even, the sum is 0.', '0', 'What is the sum?', 0.0),
        ('For odd \\(k\\), the expression is always 0.', '0', 'Find the remainder for odd k.', 1.0),
        ('For even n, f has 2 roots.', '2', 'How many roots does f have?', 0.0),
        ('For n > 2, the number of ways is 0.', '0', 'How many ways are there?', 0.0),
        (
            'The expression is irreducible unless x + y + z = 0, in which case it factorizes as (x + y + z)(x^2 - 1).',
            '(x+y+z)(x^2-1)',
            'Factorize the expression.',
            0.0,
        ),
        # no case: a universal opening, a condition that only sets letters equal
        ('For all integers n≥0, the value of 4^n + 15n - 1 mod 9 is always 0.', '0', None, 1.0),
        ('When a = b = c, the minimum value is 0.', '0', None, 1.0),
        # a lone letter only after the main verb
        ('The smallest value of the expression is 0, which is achieved when a equals b.', '0', None, 1.0),
        ('The smallest value of the expression is 0, which is achieved when a equals b.', 'b', None, 0.0),
        # "376 and 625" is a list (a thousands separator has no space after it)
        ('The three-digit automorphic numbers are 376 and 625.', '\\{376, 625\\}', None, 1.0),
        ('The answer is 376, 625.', '376625', None, 0.0),
        ('The number of terms is 2,001,000.', '2001000', None, 1.0),
        # a tuple after its unknowns inside one math span
        ('The only positive solution is \\((x, y) = (6, 5)\\).', '(6, 5)', None, 1.0),
        ('The only positive solution is \\((x, y) = (6, 5)\\).', '(5, 6)', None, 0.0),
        # a bound after a count's verb, decided by the question
        (
            'You need at least 50 questions to find the product.',
            '50',
            'What is the minimum number of questions?',
            1.0,
        ),
        ('You need at least 50 questions to find the product.', '50', 'How many questions are asked?', 0.0),
        # an equation whose left side the subject names stands for its right side
        ('The expression for x^2 + y^2 is x^2 + y^2 = (1/3)a^2 + (2/3)b/a.', '\\frac{a^3+2b}{3a}', None, 1.0),
        ('The value of \\(x + y\\) is \\(x + y = 7\\).', '7', None, 1.0),
        ('The value is \\(x + y = 7\\).', '7', None, 0.0),
        # a definition after the value ("where ...") is not the value; one in the subject,
        # closed by a comma before the verb, leaves it
        ('The sum is 7, where n is 5.', '5', None, 0.0),
        ('The sum is 7, where n is 5.', '7', None, 1.0),
        ('The remainder when p(x^7) is divided by p(x), where p(x)=x^6+...+x+1, is 7.', '7', None, 1.0),
    ],
)
def test_cases_lists_and_named_sides(completion, gold, question, reward):
    (v,) = CHECKER.check([completion], [gold], questions=[question])
    assert v.reward == reward, v
