"""Bounded repeats: ``.{0,N}``, ``[^<]{0,N}``, ``\\w{N}`` and nested ones, in every mode.

Construction must stay small where the language is small (dominance pruning, see
``twinkle/dfa/compile.py``), agree with Python ``re`` on random strings (hypothesis, seeded)
for small N, and at N = 1000 on strings built around the boundary. Patterns whose automaton
is too large must stop with ``StateLimitError`` naming the pattern and the limit.
"""

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinkle.dfa import ByteDFA, StateLimitError, compile_regex

S = re.DOTALL
MODES = ('fullmatch', 'match', 'search')
SETTINGS = settings(
    max_examples=100, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _agrees(pattern: str, flags: int, mode: str, data: bytes) -> bool:
    """The DFA's verdict on ``data`` equals ``re.<mode>`` on the decoded text."""
    want = bool(getattr(re, mode)(pattern, data.decode('utf-8', 'replace'), flags))
    return compile_regex(pattern, flags, mode).accepts(data) == want


# ---- small N: random strings against re -------------------------------------------------

# (pattern template, flags): {n} is N, {k} a small inner count, {m} an outer count.
SMALL = [
    (r'.{{0,{n}}}', 0),
    (r'.{{0,{n}}}', S),
    (r'[^<]{{0,{n}}}', 0),
    (r'\w{{{n}}}', 0),
    (r'<think>.{{0,{n}}}</think>', S),
    (r'<think>.{{0,{n}}}</think>', 0),
    (r'<answer>[^<]{{0,{n}}}</answer>', 0),
    (r'<a>\w{{{n}}}</a>', 0),
    (r'x{{1,{n}}}y', 0),
    # nested bounded repeats
    (r'(?:.{{0,{k}}}\n){{0,{m}}}', 0),
    (r'(?:\w{{1,{k}}}\s){{0,{m}}}', 0),
    (r'(?:[^<]{{0,{k}}}){{0,{m}}}', 0),
    (r'<a>(?:.{{0,{k}}}x){{1,{m}}}</a>', S),
    (r'(?:a{{0,{k}}}b){{0,{m}}}c', 0),
]
PIECES = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '<a>',
    '</a>',
    '<',
    'x',
    'y',
    'a',
    'b',
    'c',
    ' ',
    '\n',
    'é',
    '中',
    '😀',
    '_',
    '9',
]
RAW = [b'\xff', b'\xe4\xb8', b'\x80']  # invalid UTF-8: one U+FFFD each, like re on the decoded text


@st.composite
def texts(draw):
    """Texts made of the patterns' own pieces, lengths around the counts used."""
    parts = draw(st.lists(st.sampled_from(PIECES + ['a' * 5, 'x' * 7, 'é' * 3]), max_size=14))
    data = ''.join(parts).encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from(RAW)) + data[cut:]
    return data


@pytest.mark.parametrize('template,flags', SMALL)
# Nested counts stay small: re backtracks exponentially on the ambiguous nested patterns.
@pytest.mark.parametrize('n,k,m', [(1, 1, 1), (3, 2, 3), (7, 3, 4), (20, 3, 4)])
def test_small_counts_agree_with_re(template, flags, n, k, m):
    pattern = template.format(n=n, k=k, m=m)

    @SETTINGS
    @given(data=texts())
    def check(data):
        for mode in MODES:
            assert _agrees(pattern, flags, mode, data), (pattern, mode, data)

    check()


@pytest.mark.parametrize('template,flags', SMALL)
def test_small_counts_are_minimal(template, flags):
    """The direct construction gives the minimal DFA: refining it again changes nothing."""
    pattern = template.format(n=5, k=2, m=3)
    for mode in MODES:
        d = compile_regex(pattern, flags, mode)
        again = ByteDFA.from_tables(d.trans, d.accept)
        assert again == d and again.dead == d.dead, (pattern, mode)


# ---- N = 1000: strings around the boundary -----------------------------------------------


def _bodies(n: int, fill: str) -> list[str]:
    """Bodies of n - 1, n and n + 1 characters of ``fill`` (and of multi-byte characters)."""
    out = []
    for size in (0, n - 1, n, n + 1):
        out.append(fill * size)
        out.append('é' * size)
        out.append(('a\n中😀' * n)[:size])
    return out


@pytest.mark.parametrize('mode', MODES)
def test_think_1000_around_the_boundary(mode):
    pattern, n = r'<think>.{0,1000}</think>', 1000
    texts = []
    for body in _bodies(n, 'x'):
        texts += [
            f'<think>{body}</think>',
            f'pre <think>{body}</think> post',
            f'<think>{body}</think',
            f'<think>{body}<think>{body[:10]}</think>',
            f'<think>{body[:500]}<think>{body[500:]}</think>',
        ]
    texts += ['<think>' * 300 + '</think>', '<think>' + 'y' * 2000 + '<think></think>']
    for flags in (S, 0):
        for t in texts:
            assert _agrees(pattern, flags, mode, t.encode()), (mode, flags, len(t))


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize(
    'pattern,fill',
    [
        (r'.{0,1000}', 'x'),
        (r'[^<]{0,1000}', 'x'),
        (r'[A-Za-z0-9_]{1000}', 'w'),
        (r'(?:.{0,9}\n){0,100}', 'x'),
        (r'<answer>(?:.{0,9}\n){0,100}</answer>', 'x'),
        (r'(?:a{0,9}b){0,100}', 'a'),
        (r'<answer>[^<]{0,1000}</answer>', 'y'),
    ],
)
def test_1000_around_the_boundary(mode, pattern, fill):
    # Nested repeats here are unambiguous: re backtracks exponentially on ambiguous ones such
    # as (?:[^<]{0,10}){0,100} (their small versions are in test_small_counts_agree_with_re).
    texts = []
    for body in _bodies(1000, fill):
        texts += [body, body + '<', '<' + body, f'<answer>{body}</answer>', body + '\n']
    blocks = [
        ('x' * 9 + '\n') * 100,
        ('x' * 9 + '\n') * 101,
        ('x' * 10 + '\n') * 3,
        ('é' * 9 + '\n') * 99 + 'y' * 10 + '\n',
        ('a' * 9 + 'b') * 100,
        ('a' * 9 + 'b') * 101,
        'a' * 10 + 'b',
    ]
    texts += blocks + [f'<answer>{x}</answer>' for x in blocks] + ['<answer><answer>' + blocks[0]]
    for t in texts:
        assert _agrees(pattern, 0, mode, t.encode()), (pattern, mode, len(t))


def test_word_repeat_around_the_boundary():
    r"""``\w{N}``: Unicode word characters, so the byte DFA has ~309 states per count; N = 100
    here (30,902 states), N = 1000 exceeds the default limit (below)."""
    pattern, n = r'\w{100}', 100
    for body in (
        'w' * (n - 1),
        'w' * n,
        'w' * (n + 1),
        'é' * n,
        '中' * (n - 1) + '!',
        'x' * 50 + ' ' + 'x' * 60,
        '_9' * 50,
    ):
        for mode in MODES:
            for t in (body, ' ' + body, body + ' '):
                assert _agrees(pattern, 0, mode, t.encode()), (mode, t[:20])


def test_search_state_count_is_linear():
    """Only the distance since the most recent ``<think>`` matters: 20 states per count."""
    sizes = [compile_regex(rf'<think>.{{0,{n}}}</think>', S, 'search').num_states for n in (100, 200, 1000)]
    assert sizes == [1980, 3980, 19980]
    assert compile_regex(r'.{0,1000}', 0, 'fullmatch').num_states == 8002


# ---- the budget: clear errors, early ----------------------------------------------------


def test_too_many_states_names_pattern_and_limit():
    with pytest.raises(StateLimitError) as info:
        compile_regex(r'\w{1000}', mode='search')
    msg = str(info.value)
    assert r"compile_regex('\\w{1000}', mode='search')" in msg
    assert 'max_states=100,000' in msg and 'byte DFA' in msg
    assert isinstance(info.value, ValueError)


def test_work_budget_names_pattern_and_limit():
    with pytest.raises(StateLimitError) as info:
        compile_regex(r'<think>.{0,1000}</think>', S, 'search', max_work=100_000)
    msg = str(info.value)
    assert "compile_regex('<think>.{0,1000}</think>', flags=re.DOTALL, mode='search')" in msg
    assert 'max_work=100,000' in msg
    # The same pattern within the default budget.
    assert compile_regex(r'<think>.{0,1000}</think>', S, 'search').num_states == 19980


@pytest.mark.parametrize(
    'pattern,limits,fragment',
    [
        (r'(?:x{1000}){1000}', {}, '3,003,003 NFA states'),  # refused before it is built
        (r'(?:a|b)*a(?:a|b){20}', {}, 'code-point DFA'),  # 2^21 states
        (r'x{3000}', dict(max_states=1000), 'max_states=1,000'),
        (r'x{3000}', dict(max_work=50_000), 'NFA construction'),  # charged before building
    ],
)
def test_oversized_patterns_stop(pattern, limits, fragment):
    with pytest.raises(StateLimitError, match=re.escape(fragment)) as info:
        compile_regex(pattern, **limits)
    assert repr(pattern) in str(info.value)


@pytest.mark.parametrize('kwargs', [dict(max_work=0), dict(max_states=0)])
def test_limits_must_be_positive(kwargs):
    with pytest.raises(ValueError, match='must be >= 1'):
        compile_regex('a', **kwargs)


def test_random_long_texts_near_the_limit_agree():
    """A seeded sweep of texts whose bodies sit at 990..1010 characters."""
    rng = random.Random(1000)
    pattern = r'<think>.{0,1000}</think>'
    for _ in range(40):
        size = rng.randint(990, 1010)
        body = ''.join(rng.choice('ab<>/\né中😀') for _ in range(size))
        lead = rng.choice(['', 'x', '<think>', '<think>ab'])
        text = f'{lead}<think>{body}</think>{rng.choice(["", "z", "</think>"])}'
        for mode in MODES:
            assert _agrees(pattern, S, mode, text.encode()), (mode, size)
