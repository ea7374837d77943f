"""Counting combinators and the strict think/answer format."""

import itertools
import re

import pytest

from twinkle.dfa import (
    THINK_ANSWER_PATTERN,
    contains_count,
    exactly_once,
    intersect_all,
    literal_search,
    think_answer_format,
)


def _count_overlapping(hay: bytes, lit: bytes) -> int:
    return sum(hay.startswith(lit, i) for i in range(len(hay)))


@pytest.mark.parametrize('lit', [b'a', b'ab', b'aa', b'aba', b'<t>'])
@pytest.mark.parametrize('n', [0, 1, 2])
def test_contains_count_matches_brute_force(lit, n):
    exact, at_least = contains_count(lit, n), contains_count(lit, n, at_least=True)
    for k in range(7):
        for p in itertools.product([b'a', b'b', b'<', b't', b'>'], repeat=k):
            hay = b''.join(p)
            c = _count_overlapping(hay, lit)
            assert exact.accepts(hay) == (c == n), hay
            assert at_least.accepts(hay) == (c >= n), hay


def test_literal_search_and_exactly_once():
    assert literal_search(b'</answer>').accepts(b'..</answer>..')
    assert not literal_search(b'</answer>').accepts(b'</answer')
    once = exactly_once('<think>')
    assert once.accepts(b'<think>') and not once.accepts(b'') and not once.accepts(b'<think>' * 2)
    with pytest.raises(ValueError):
        contains_count(b'', 1)
    with pytest.raises(ValueError):
        contains_count(b'a', -1)


def test_intersect_all():
    both = intersect_all([exactly_once('<a>'), exactly_once('<b>')])
    assert both.accepts(b'<a><b>') and not both.accepts(b'<a><a><b>')
    assert intersect_all([]).accepts(b'anything')


# (text, strict format verdict). Comments say what each group probes.
FORMAT_TABLE = [
    # the canonical shape, with optional whitespace between and after the blocks
    ('<think>reasoning</think><answer>42</answer>', True),
    ('<think>\nmulti\nline\n</think>\n\n<answer>\n42\n</answer>\n', True),
    ('<think></think><answer></answer>', True),
    # missing, repeated or out-of-order tags
    ('<answer>42</answer>', False),
    ('<think>a</think>', False),
    ('<think>a<think>b</think><answer>1</answer>', False),
    ('<think>a</think><answer>1</answer><answer>2</answer>', False),
    ('<answer>1</answer><think>a</think>', False),
    ('<think>a</think>x<answer>1</answer>', False),
    # text outside the blocks
    ('preamble <think>a</think><answer>1</answer>', False),
    ('<think>a</think><answer>1</answer> trailing', False),
    # tags inside the texts are forbidden even where the regex alone would allow them
    ('<think>see </answer></think><answer>1</answer>', False),
    # Unicode and invalid bytes in the free text are fine
    ('<think>思考 😀</think><answer>答案</answer>', True),
]


@pytest.mark.parametrize('text,expected', FORMAT_TABLE)
def test_think_answer_format(text, expected):
    data = text.encode()
    tags = ('<think>', '</think>', '<answer>', '</answer>')
    oracle = bool(re.fullmatch(THINK_ANSWER_PATTERN, text, re.DOTALL)) and all(
        text.count(t) == 1 for t in tags
    )
    assert oracle == expected
    assert think_answer_format().accepts(data) == expected


def test_think_answer_format_with_invalid_bytes():
    assert think_answer_format().accepts(b'<think>\xff\xc3</think><answer>\xe2\x82</answer>')
