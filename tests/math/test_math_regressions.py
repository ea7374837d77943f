"""Regression tables: (input, expected) per rule, one comment per group."""

import math

import pytest

from twinkle.math import MathChecker, extract_answer, extract_gold, normalize, parse_answer
from twinkle.math.extract import extract_scoped
from twinkle.math.latex import ParseError

CHECKER = MathChecker()


def score(completion, gold):
    return CHECKER.score([completion], [gold])[0]


EXTRACTION = [
    # the last box, nested and escaped braces
    (r'x \boxed{1} y \boxed{\frac{1}{2}}', r'\frac{1}{2}'),
    (r'\boxed{\{1,2\}}', r'\{1,2\}'),
    (r'\fbox{7}', '7'),
    (r'\boxed{a}, \boxed{b}', 'a, b'),
    (r'\boxed{a}. Then more text. \boxed{b}', 'b'),
    # markers
    ('#### 1,234', '1,234'),
    ('The final answer is $\\frac{1}{4}$.', '\\frac{1}{4}'),
    ('**Answer:** 12', '12'),
    ('# Answer\n\n9', '9'),
    ('The answer is 3.5.', '3.5'),
    # after </think> only
    ('<think>\\boxed{1}</think>The answer is 2.', '2'),
    # no answer
    ('<think>\\boxed{1}', None),
    (r'\boxed{12', None),
    ('The answer is 8 or 9?', None),
    # a value then words: the value, unless the words condition or hedge it
    ('#### 72 dollars', '72'),
    ('#### 0 if n is even', '0 if n is even'),
    # a definition after the value is not the value
    ('The answer is 7, where n is 5.', '7'),
    ('The final answer is x + 1, where x is 2.', 'x + 1'),
    # a hedge just before the marker
    ('Maybe the answer is 2.', None),
    ('I think the final answer is 2.', None),
    ('```\nprint(4)\n```', None),
    ('4 5 6', None),
    ("I'm sorry, but I can't help with that.", None),
    (None, None),
    (12, None),
    # <answer> blocks: the last complete block after </think>; inside, a box, #### or
    # "the answer is" wins, else the whole content without $..$ / \(..\) or a final period
    ('<think>x</think><answer>84</answer>', '84'),
    ('<answer>\\frac{3}{4}</answer>', '\\frac{3}{4}'),
    ('<answer>#### 4</answer>', '4'),
    ('<answer>The answer is 5.</answer>', '5'),
    ('<answer>$12$.</answer>', '12'),
    ('<answer> \\( 12 \\) </answer>', '12'),
    ('<Answer>7</ANSWER>', '7'),
    ('<answer>1</answer> then <answer>2</answer>', '2'),
    ('<answer>\\boxed{7}</answer>', '7'),
    # a block and a box: the one committed last wins
    ('\\boxed{6} <answer>5</answer>', '5'),
    ('<answer>5</answer> so \\boxed{6}', '6'),
    # ...and a block beats a text marker anywhere, like a box does
    ('The answer is 4. <answer>5</answer>', '5'),
    # no answer: empty, hedged, unclosed (truncated), only inside <think>
    ('<answer></answer>', None),
    ('<answer>8 or 9</answer>', None),
    ('<answer>84', None),
    ('<answer>5</answer> <answer>', None),
    ('<think><answer>3</answer></think>', None),
    # markers stop at tags and special tokens instead of swallowing them
    ('#### 4</answer>', '4'),
    ('The answer is 5.</answer>', '5'),
    ('**Answer:** 9</answer>', '9'),
    ('# Answer\n\n6</answer>', '6'),
    ('\\boxed 4</answer>', '4'),
    ('The answer is 12<|im_end|>', '12'),
    ('Therefore, the total is $42$.<|im_end|>', '42'),
    ('#### </answer>', None),
]


SCOPED = [
    # a box, block or marker well inside the text decides whatever precedes it
    ('so we get the sum; hence the result is $\\boxed{12}$.', 'anchored'),
    ('<think>x</think>Adding, 12.', 'anchored'),
    ('x' * 40 + ' <answer>5</answer>', 'anchored'),
    ('x' * 40 + ' The answer is 5.', 'marked'),
    # a marker at the very start may read context before it ('check if the answer is')
    ('answer is 5.', 'prefix'),
    # boxes joined by separators at the start: an earlier box may join them
    (', \\boxed{2}', 'prefix'),
    ('5}, \\boxed{2}', 'prefix'),
    # a closing tag whose opening tag may lie before the text
    ('12</answer>', 'prefix'),
    # a code fence: its pair may lie before the text
    ('```\nx\n``` \\boxed{1}', 'prefix'),
    # a concluding sentence: decided if no marker precedes it
    ('We add the two parts of the count here. ' * 8 + 'Therefore, the total is $42$.', 'tail'),
    ('Therefore, the total is $42$.', 'prefix'),
]


@pytest.mark.parametrize('text,scope', SCOPED)
def test_extraction_scope(text, scope):
    assert extract_scoped(text)[1] == scope


@pytest.mark.parametrize('text,expected', EXTRACTION)
def test_extraction(text, expected):
    assert extract_answer(text).answer == expected


GOLDS = [
    ('Total: 3 + 4 = 7\n#### 7', '7'),
    (r'so $\boxed{2\sqrt{3}}$.', r'2\sqrt{3}'),
    ('  5 ', '5'),
    (5, '5'),
    (None, None),
    ('', None),
]


@pytest.mark.parametrize('gold,expected', GOLDS)
def test_extract_gold(gold, expected):
    assert extract_gold(gold) == expected


NORMALIZE = [
    # thousands separators, currency, units, degrees, percent, wrappers
    ('1,000', '1000'),
    (r'10,\!080', '10080'),
    (r'12\,345', '12345'),
    ('2{,}500', '2500'),
    (r'\$5', '5'),
    (r'5\text{ cm}', '5'),
    (r'90^\circ', '90'),
    (r'10\%', '10%'),
    (r'\left(1,2\right)', '(1,2)'),
    (r'\dfrac{1}{2}', r'\frac{1}{2}'),
    (r'\text{(C)}', '(C)'),
    # intervals keep their commas
    ('[1,100]', '[1,100]'),
    ('(0, 1000)', '(0,1000)'),
    (None, ''),
    ('', ''),
]


@pytest.mark.parametrize('raw,expected', NORMALIZE)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


EQUAL = [
    # forms
    (r'\sqrt{18}', r'3\sqrt2', 1.0),
    ('0.5', r'\frac12', 1.0),
    (r'\frac52', r'2\frac12', 1.0),
    ('x^2+2x+1', '(x+1)^2', 1.0),
    ('120', '5!', 1.0),
    ('11', '1011_2', 1.0),
    # decorations
    ('10', r'10\%', 1.0),
    ('0.25', r'25\%', 1.0),
    ('1000', '1,000', 1.0),
    ('C', r'\text{(C)}', 1.0),
    # structure
    ('[1,2)', '[1,2]', 0.0),
    (r'\{1,2\}', r'\{1\}', 0.0),
    ('(1,2)', '(2,1)', 0.0),
    ('1,2', '2,1', 1.0),
    ('3', 'x=3', 1.0),
    (r'1\pm\sqrt2', r'1-\sqrt2,1+\sqrt2', 1.0),
    ('y=2x+1', '2x-y+1=0', 1.0),
    # traps
    ('0.5', '0.05', 0.0),
    (r'\frac12', '2', 0.0),
    (r'2^{-60}', r'2^{-61}', 0.0),
    ('x+1', 'y+1', 0.0),
    (r'\pi', '3.14', 1.0),
    (r'\frac13', '0.3', 0.0),
    ('12.25', '12.3', 0.0),
    # a list holding the empty set (its key was once an IndexError)
    (r'\varnothing', r'1, 2, \emptyset', 0.0),
    # "or" between values is two answers, never the product 0·o·r·7 = 0; inside brackets too
    ('0', '0 or 7', 0.0),
    ('0', r'0 \text{ or } 7', 0.0),
    ('0', '7 or 0', 0.0),
    ('0', '0 (or 7)', 0.0),
    ('0', '0 or 0', 0.0),
    ('5', '5 or 7', 0.0),
    ('2, -2', '2 or -2', 1.0),
    ('2, -2', 'x = 2 or x = -2', 1.0),
    ('0', '0xy', 1.0),
    ('0', '0 OR 7', 0.0),
    # words after a value are units unless they condition or hedge it
    ('0', '0 if n is even', 0.0),
    ('0', r'0 \text{ probably}', 0.0),
    ('7', '7 otherwise', 0.0),
    ('5', r'5 \text{ at most}', 0.0),
    ('5', '5 apples', 1.0),
    ('5', '5 for even n', 0.0),
    ('5', '5 for n > 2', 0.0),
    ('12', r'12\text{ m}^2', 1.0),
]


@pytest.mark.parametrize('gold,pred,expected', EQUAL)
def test_equality(gold, pred, expected):
    assert score(f'The answer is $\\boxed{{{pred}}}$.', gold) == expected


STRUCTURE = [
    ('[1,2)', 'interval'),
    ('(1,2)', 'tuple'),
    (r'\{1,2\}', 'set'),
    ('1, 2', 'list'),
    ('x=3', 'eq'),
    ('x>3', 'interval'),
    ('C', 'letter'),
    ('Monday', 'text'),
    ('10%', 'pct'),
    (r'(0,1)\cup(2,3)', 'union'),
    (r'\begin{pmatrix}1&2\\3&4\end{pmatrix}', 'tuple'),
]


@pytest.mark.parametrize('text,kind', STRUCTURE)
def test_structure(text, kind):
    assert parse_answer(text)[0] == kind


MALFORMED = [r'\frac{1}', r'\sqrt', '(((', r'\begin{pmatrix}', '1 +', r'\frac{}{}', '^^', r'x = ']


@pytest.mark.parametrize('text', MALFORMED)
def test_malformed_is_a_parse_error(text):
    with pytest.raises(ParseError):
        parse_answer(text)


def test_unparsable_gold_abstains():
    assert math.isnan(score(r'\boxed{3}', r'\frac{1}'))
    # ...but a prediction string-equal to it still scores 1.0
    assert score(r'\boxed{\frac{1}}', r'\frac{1}') == 1.0
