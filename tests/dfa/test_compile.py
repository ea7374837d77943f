"""compile_regex: (pattern, text, expected) tables per construct, errors, linear-time inputs.

Every table row is also checked against Python's ``re`` on the decoded text, so a wrong
expectation in a table cannot hide a wrong DFA.
"""

import pickle
import re

import pytest

from twinkle.dfa import ByteDFA, RegexSyntaxError, StateLimitError, UnsupportedRegexError, compile_regex

S, I, M = re.DOTALL, re.IGNORECASE, re.MULTILINE

# (pattern, flags, mode, text, expected). text is str (encoded as UTF-8) or raw bytes.
TABLE = [
    # literals and escapes
    ('abc', 0, 'fullmatch', 'abc', True),
    ('abc', 0, 'fullmatch', 'abd', False),
    ('', 0, 'fullmatch', '', True),
    ('', 0, 'search', 'anything', True),
    (r'a\.b', 0, 'fullmatch', 'a.b', True),
    (r'a\.b', 0, 'fullmatch', 'axb', False),
    (r'\n\t\r\f\v\a\\', 0, 'fullmatch', '\n\t\r\f\v\a\\', True),
    (r'\x41\u00e9\U0001F600', 0, 'fullmatch', 'Aé😀', True),
    (r'\N{SNOWMAN}', 0, 'fullmatch', '☃', True),
    (r'\101\0\07', 0, 'fullmatch', 'A\x00\x07', True),
    (r'\*\+\?\{\}\[\]\(\)\|\^\$', 0, 'fullmatch', '*+?{}[]()|^$', True),
    ('日本語', 0, 'search', 'これは日本語です', True),
    ('é', 0, 'fullmatch', 'e\u0301', False),  # no normalization, like re
    # '{' that does not start a bound is a literal
    ('a{', 0, 'fullmatch', 'a{', True),
    ('a{x}', 0, 'fullmatch', 'a{x}', True),
    ('a{}', 0, 'fullmatch', 'a{}', True),
    ('a{,}', 0, 'fullmatch', 'aaaa', True),
    # character classes
    ('[abc]+', 0, 'fullmatch', 'cab', True),
    ('[a-z0-9_]+', 0, 'fullmatch', 'snake_case_9', True),
    ('[^a-z]', 0, 'fullmatch', 'Q', True),
    ('[^a-z]', 0, 'fullmatch', 'q', False),
    ('[^a]', 0, 'fullmatch', '\n', True),
    ('[]a]+', 0, 'fullmatch', ']a]', True),
    ('[a-]+', 0, 'fullmatch', '-a-', True),
    (r'[\d\s]+', 0, 'fullmatch', '1 ٣\u3000', True),
    (r'[\w-]+', 0, 'fullmatch', 'naïve-日本', True),
    (r'[\b]', 0, 'fullmatch', '\x08', True),
    (r'[\x00-\x1f]', 0, 'fullmatch', '\x1b', True),
    ('[😀-😂]', 0, 'fullmatch', '😁', True),
    ('[😀-😂]', 0, 'fullmatch', '😃', False),
    (r'a[^\da\D]|b', 0, 'fullmatch', 'ab', False),  # an empty class
    (r'a[^\da\D]|b', 0, 'fullmatch', 'b', True),
    # dot, with and without DOTALL
    ('.', 0, 'fullmatch', '\n', False),
    ('.', S, 'fullmatch', '\n', True),
    ('.', 0, 'fullmatch', '\r', True),
    ('.', 0, 'fullmatch', '\u2028', True),
    ('a.c', 0, 'fullmatch', 'a😀c', True),
    ('(?s)a.c', 0, 'fullmatch', 'a\nc', True),
    ('(?s:a.)c.', 0, 'fullmatch', 'a\nc\n', False),
    # Unicode \d \w \s and their negations
    (r'\d+', 0, 'fullmatch', '0123٣४৫', True),
    (r'\d', 0, 'fullmatch', '²', False),  # superscript two is not Nd
    (r'\w+', 0, 'fullmatch', 'héllo_世界ǅ', True),
    (r'\w', 0, 'fullmatch', '-', False),
    (r'\s+', 0, 'fullmatch', ' \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000', True),
    (r'\s', 0, 'fullmatch', '\u200b', False),
    (r'\D\W\S', 0, 'fullmatch', 'a !', True),
    # anchors: ^ \A $ \Z, Python's '$' before a final newline
    ('^abc$', 0, 'search', 'abc', True),
    ('^abc$', 0, 'search', 'abc\n', True),
    ('^abc$', 0, 'search', 'abc\n\n', False),
    ('abc$', 0, 'fullmatch', 'abc\n', False),
    ('abc$\n', 0, 'fullmatch', 'abc\n', True),
    (r'abc\Z', 0, 'search', 'abc\n', False),
    (r'\Aabc', 0, 'search', 'xabc', False),
    ('^b', 0, 'search', 'a\nb', False),
    ('a$', 0, 'match', 'a\nb', False),
    ('$', 0, 'search', '', True),
    ('^$', 0, 'fullmatch', '', True),
    ('a^', 0, 'search', 'a', False),
    ('$$a', 0, 'search', 'a', False),
    # MULTILINE
    ('^b', M, 'search', 'a\nb', True),
    ('a$', M, 'match', 'a\nb', True),
    ('^$', M, 'search', 'x\n\ny', True),
    (r'\Ab', M, 'search', 'a\nb', False),
    (r'a\Z', M, 'search', 'a\nb', False),
    ('(?m)^b$', 0, 'search', 'a\nb\nc', True),
    # word boundaries
    (r'\bcat\b', 0, 'search', 'a cat!', True),
    (r'\bcat\b', 0, 'search', 'concat', False),
    (r'\b', 0, 'search', '', False),
    (r'\B', 0, 'search', '', False),  # Python 3.11: \B never matches the empty string
    (r'\B', 0, 'search', ' ', True),
    (r'\Bb', 0, 'search', 'ab', True),
    (r'\bé', 0, 'search', 'xé', False),
    # groups and alternation
    ('(ab)+', 0, 'fullmatch', 'ababab', True),
    ('(?:ab|cd)*e', 0, 'fullmatch', 'abcdabe', True),
    ('(?P<tag>think|answer)', 0, 'fullmatch', 'answer', True),
    ('a(?#comment)b', 0, 'fullmatch', 'ab', True),
    ('a|', 0, 'fullmatch', '', True),
    ('(|a)b', 0, 'fullmatch', 'ab', True),
    ('()', 0, 'fullmatch', '', True),
    # quantifiers, greedy and lazy
    ('a{3}', 0, 'fullmatch', 'aaa', True),
    ('a{3}', 0, 'fullmatch', 'aa', False),
    ('a{2,}', 0, 'fullmatch', 'aaaaa', True),
    ('a{2,3}', 0, 'fullmatch', 'aaaa', False),
    ('a{,2}', 0, 'fullmatch', 'aa', True),
    ('a{0}', 0, 'fullmatch', '', True),
    ('a*?b+?c??', 0, 'fullmatch', 'aabbc', True),
    ('a{2,3}?', 0, 'fullmatch', 'aaa', True),
    ('(?:a*)*b', 0, 'fullmatch', 'aaab', True),
    ('(?:a|b?)+c', 0, 'fullmatch', 'c', True),
    # IGNORECASE with Python's Unicode rules
    ('abc', I, 'fullmatch', 'AbC', True),
    ('k', I, 'fullmatch', '\u212a', True),  # KELVIN SIGN
    ('s', I, 'fullmatch', 'ſ', True),  # LATIN SMALL LETTER LONG S
    ('σ', I, 'fullmatch', 'ς', True),
    ('ß', I, 'fullmatch', 'ẞ', True),
    ('i', I, 'fullmatch', '\u0130', True),  # lower(İ) is 'i' in _sre's simple mapping
    ('ı', I, 'fullmatch', 'I', True),  # dotless i is an extra case of i
    ('[a-z]+', I, 'fullmatch', 'HeLLo', True),
    ('[^k]', I, 'fullmatch', 'K', False),
    ('\U00010400', I, 'fullmatch', '\U00010428', True),
    ('[\U00010400x]', I, 'fullmatch', '\U00010400', False),  # CPython's charset quirk
    ('\U00010400|x', I, 'fullmatch', '\U00010400', False),  # same: alternation becomes a set
    ('(?i:a)b', 0, 'fullmatch', 'Ab', True),
    ('(?i:a)b', 0, 'fullmatch', 'AB', False),
    ('(?i)a(?-i:b)', 0, 'fullmatch', 'AB', False),
    # match and search modes
    ('ab', 0, 'match', 'abxyz', True),
    ('ab', 0, 'match', 'xab', False),
    ('ab', 0, 'search', 'xxabyy', True),
    ('a+$', 0, 'search', 'baaa', True),
    # the think/answer format
    (
        r'<think>.*?</think>\s*<answer>.*?</answer>',
        S,
        'fullmatch',
        '<think>\nstep 1\n</think>\n\n<answer>42</answer>',
        True,
    ),
    (
        r'<think>.*?</think>\s*<answer>.*?</answer>',
        S,
        'fullmatch',
        '<think>x</think><answer>42</answer>\n',
        False,
    ),
    (
        r'<think>.*?</think>\s*<answer>.*?</answer>',
        0,
        'fullmatch',
        '<think>\nx</think><answer>1</answer>',
        False,
    ),
    (r'<answer>.*?</answer>', S, 'search', 'blah <answer>3</answer> blah', True),
    # invalid UTF-8 decodes to U+FFFD (one per maximal invalid subpart)
    ('.', 0, 'fullmatch', b'\xff', True),
    ('\ufffd', 0, 'fullmatch', b'\x80', True),
    ('\ufffd{2}', 0, 'fullmatch', b'\xf0\x80', True),  # F0 80: F0 alone, then 80
    ('\ufffd', 0, 'fullmatch', b'\xe2\x82', True),  # truncated sequence at the end: one U+FFFD
    ('\ufffd{3}', 0, 'fullmatch', b'\xed\xa0\x80', True),  # surrogate
    ('\ufffd{2}', 0, 'fullmatch', b'\xc0\xaf', True),  # overlong
    ('\ufffd{4}', 0, 'fullmatch', b'\xf4\x90\x80\x80', True),  # above U+10FFFF
    ('\ufffda', 0, 'fullmatch', b'\xf0\x9f\x98a', True),  # prefix cut by 'a'
    ('a.b', 0, 'fullmatch', b'a\xe6\x97b', True),
    (r'\w', 0, 'fullmatch', b'\xc3', False),
]


@pytest.mark.parametrize('pattern,flags,mode,text,expected', TABLE)
def test_table(pattern, flags, mode, text, expected):
    data = text if isinstance(text, bytes) else text.encode('utf-8')
    decoded = data.decode('utf-8', 'replace')
    assert bool(getattr(re, mode)(pattern, decoded, flags)) == expected, 'table disagrees with re'
    assert compile_regex(pattern, flags, mode).accepts(data) == expected


@pytest.mark.parametrize('pattern,flags,mode', sorted({row[:3] for row in TABLE}))
def test_compiled_dfa_is_minimal(pattern, flags, mode):
    """The UTF-8 composition is built minimal: full partition refinement changes nothing."""
    d = compile_regex(pattern, flags, mode)
    again = ByteDFA.from_tables(d.trans, d.accept)
    assert again == d and again.dead == d.dead


# Every construct a DFA cannot express, with the words its error must contain.
UNSUPPORTED = [
    (r'(a)\1', 'backreference \\1 at position 3'),
    (r'(?P<x>a)(?P=x)', 'named backreference (?P=x) at position 8'),
    (r'a(?=b)', 'lookahead assertion (?= at position 1'),
    (r'a(?!b)', 'lookahead assertion (?! at position 1'),
    (r'(?<=a)b', 'lookbehind assertion (?<= at position 0'),
    (r'(?<!a)b', 'lookbehind assertion (?<! at position 0'),
    (r'(a)?(?(1)b|c)', 'conditional group (?(...) at position 4'),
    (r'(?>a)', 'atomic group (?>...) at position 0'),
    (r'a*+', 'possessive quantifier *+ at position 1'),
    (r'a++', 'possessive quantifier ++ at position 1'),
    (r'a?+', 'possessive quantifier ?+ at position 1'),
    (r'a{1,2}+', 'possessive quantifier {1,2}+ at position 1'),
    (r'(?x)a', 're.VERBOSE in inline flags at position 0'),
    (r'(?a)\w', 're.ASCII in inline flags at position 0'),
    (r'a{200000}', 'repeat count above'),
]


@pytest.mark.parametrize('pattern,message', UNSUPPORTED)
def test_unsupported_constructs(pattern, message):
    re.compile(pattern)  # valid Python regex ...
    with pytest.raises(UnsupportedRegexError) as info:  # ... that a DFA cannot express
        compile_regex(pattern)
    assert message in str(info.value)
    assert 'not supported by the DFA compiler' in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    'flag,name', [(re.VERBOSE, 're.VERBOSE'), (re.ASCII, 're.ASCII'), (re.DEBUG, 're.DEBUG')]
)
def test_unsupported_flags(flag, name):
    with pytest.raises(ValueError, match=name.replace('.', r'\.')):
        compile_regex('a', flag)


# Malformed patterns: (pattern, message fragment including the position re reports).
SYNTAX_ERRORS = [
    ('*a', 'nothing to repeat at position 0'),
    ('^*', 'nothing to repeat at position 1'),
    ('a**', 'multiple repeat at position 2'),
    ('a{2}{3}', 'multiple repeat at position 4'),
    ('(a', 'missing ), unterminated subpattern at position 0'),
    ('a)', 'unbalanced parenthesis at position 1'),
    ('[a', 'unterminated character set at position 0'),
    (r'\q', 'bad escape \\q at position 0'),
    ('[b-a]', 'bad character range b-a at position 1'),
    ('a{3,2}', 'min repeat greater than max repeat'),
    (r'\x4', 'incomplete escape \\x4 at position 0'),
    (r'\N{NO SUCH NAME}', 'undefined character name'),
    (r'[\d-z]', 'bad character range'),
    (r'\400', 'outside of range 0-0o377 at position 0'),
    ('a(?i)b', 'global flags not at the start of the expression at position 1'),
    ('(?<x>a)', 'unknown extension ?<x'),
    ('\\', 'bad escape (end of pattern)'),
    ('(?P<a>x)(?P<a>y)', "redefinition of group name 'a'"),
]


@pytest.mark.parametrize('pattern,message', SYNTAX_ERRORS)
def test_syntax_errors(pattern, message):
    with pytest.raises(re.error):
        re.compile(pattern)
    with pytest.raises(RegexSyntaxError) as info:
        compile_regex(pattern)
    assert message in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        compile_regex('a', mode='findall')
    with pytest.raises(ValueError, match='encoding_errors'):
        compile_regex('a', encoding_errors='strict')
    with pytest.raises(TypeError):
        compile_regex(b'a')


def test_state_limit():
    # The n-th symbol from the end being 'a' needs 2**n DFA states.
    with pytest.raises(StateLimitError, match='max_states'):
        compile_regex('(?:a|b)*a(?:a|b){12}', max_states=1000)
    assert isinstance(StateLimitError('x'), ValueError)


# --- inputs that make backtracking engines explode run in linear time -------------------------


def test_nested_quantifier_on_long_run():
    # re.match(r'(a+)+$', 'a' * 30 + 'b') already takes seconds; the DFA reads each byte once.
    dfa = compile_regex(r'(a+)+$', mode='match')
    assert not dfa.accepts(b'a' * 100_000 + b'b')
    assert dfa.accepts(b'a' * 100_000 + b'\n')
    assert compile_regex(r'(?:a|a)*c', mode='search').accepts(b'a' * 100_000 + b'c')


def test_thousands_of_unclosed_tags():
    fmt = compile_regex(r'<think>.*?</think>\s*<answer>.*?</answer>', S, 'search')
    assert not fmt.accepts(b'<think>' * 20_000)
    assert not fmt.accepts(b'<think>x</think><answer>' * 20_000)
    assert fmt.accepts(b'<think>x</think><answer>' * 20_000 + b'</answer>')


def test_first_dead_points_at_the_offending_byte():
    dfa = compile_regex(r'<think>[^<]*</think>')
    data = b'<think>ok</think>!'
    assert dfa.first_dead(data) == len(data) - 1
    assert dfa.first_dead(b'<thonk>') == 3
    assert dfa.first_dead(b'<think>') == -1


def test_compiled_dfa_is_a_value():
    a = compile_regex(r'\d+', mode='search')
    b = compile_regex(r'.*\d.*', S)  # same language, different pattern
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert isinstance(a, ByteDFA) and a.trans.dtype.name == 'int32' and a.accept.dtype == bool
    with pytest.raises(ValueError):
        a.trans[0, 0] = 1  # read-only


@pytest.mark.parametrize(
    'pattern,flags,message',
    [
        ('a', 'i', 'flags must be an int'),
        ('a', 2.0, 'flags must be an int'),
        (5, 0, 'pattern must be a str'),
        (b'a', 0, 'pattern must be a str'),
    ],
)
def test_bad_argument_types_name_the_argument(pattern, flags, message):
    with pytest.raises(TypeError, match=message):
        compile_regex(pattern, flags)
