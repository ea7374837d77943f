"""Parser: the tree shapes that decide IGNORECASE semantics, flags, and position reporting."""

import re

import pytest

from twinkle.dfa.regex import (
    FLAG_I,
    FLAG_M,
    FLAG_S,
    INF,
    Branch,
    Group,
    RegexSyntaxError,
    Repeat,
    UnsupportedRegexError,
    parse,
)


def test_single_literal_class_becomes_a_literal():
    # re's parser does this too; it matters because a literal and a class differ under
    # IGNORECASE for some non-BMP characters.
    assert parse('[a]')[0] == [('lit', 97)]
    assert parse('[^a]')[0] == [('notlit', 97)]
    assert parse('[aa]')[0] == [('lit', 97)]  # duplicates removed first
    assert parse('[ab]')[0] == [('in', False, (('lit', 97), ('lit', 98)))]


def test_alternation_of_single_characters_becomes_a_class():
    assert parse('a|b|[cd]')[0] == [('in', False, (('lit', 97), ('lit', 98), ('lit', 99), ('lit', 100)))]
    # A common prefix is factored out first, then the rest may merge.
    assert parse('xa|xb')[0] == [('lit', 120), ('in', False, (('lit', 97), ('lit', 98)))]
    # Negated classes and groups keep the alternation.
    seq = parse('a|[^b]')[0]
    assert len(seq) == 1 and isinstance(seq[0], Branch)
    seq = parse('(a)|b')[0]
    assert isinstance(seq[0], Branch)


def test_repeats_and_groups():
    (rep,), _ = parse('(?:ab){2,}?')
    assert isinstance(rep, Repeat) and (rep.min, rep.max) == (2, INF)
    assert rep.seq == [('lit', 97), ('lit', 98)]  # a plain (?:...) body is unwrapped
    (rep,), _ = parse('(?i:a){,3}')
    assert isinstance(rep.seq[0], Group) and rep.seq[0].add_flags == FLAG_I and rep.max == 3
    (grp,), _ = parse('(?s-i:x)')
    assert grp.add_flags == FLAG_S and grp.del_flags == FLAG_I


def test_global_flags():
    assert parse('(?ims)a')[1] == FLAG_I | FLAG_M | FLAG_S
    assert parse('(?#c)(?i)(?s)a')[1] == FLAG_I | FLAG_S
    with pytest.raises(RegexSyntaxError, match='global flags'):
        parse('(a(?i))')


@pytest.mark.parametrize('pattern', [r'\1', r'(?=x)', r'(?>x)'])
def test_errors_are_value_errors_with_positions(pattern):
    with pytest.raises(UnsupportedRegexError, match='at position 0'):
        parse(pattern)


def test_octal_and_backreference_disambiguation():
    assert parse(r'\101')[0] == [('lit', 0o101)]
    assert parse(r'\08')[0] == [('lit', 0), ('lit', ord('8'))]
    with pytest.raises(UnsupportedRegexError, match=r'backreference \\18'):
        parse(r'(a)\18')
    assert re.fullmatch(r'\101', 'A')
