"""Required factors: every match of a pattern holds one of them (and, when asked for the
leading ones, starts with one).

The oracle is Python ``re``: for random patterns (literals, case-insensitive letters whose
equivalents are not ASCII, classes, anchors, groups with scoped flags, alternation, bounded
and unbounded repeats) and texts hypothesis builds to hold a match, each match that
``re.finditer`` finds (at every start, so overlapping ones too) must hold a factor.
"""

import os
import re

import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from twinkle.dfa.literals import factor_text, required_factors, run_then_factors, window_start

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))

# 'k', 's' and 'i' have IGNORECASE equivalents outside ASCII (KELVIN SIGN, LONG S, dotted
# and dotless I), which a factor must keep.
CHARS = ['a', 'b', 'T', 't', 'h', 'e', ' ', 'k', 's', 'i', '<', '/', '\\.', '\\$', 'é', '你', '\\n']
ATOMS = CHARS + [
    '[ab]',
    '[Tt]',
    '[^a]',
    '.',
    '\\d',
    '\\s',
    '\\w',
    '\\b',
    '\\B',
    '^',
    '$',
    '\\A',
    '\\Z',
    '[a-c]',
    '[kK]',
]
TEXT_CHARS = 'abTtheksiIKS <>/.$é你\u212a\u017f\u0130\u0131\n0'


def _regex():
    leaf = st.sampled_from(ATOMS)

    def extend(inner):
        seq = st.lists(inner, min_size=1, max_size=4).map(''.join)
        return st.one_of(
            seq,
            st.tuples(seq, seq).map(lambda p: f'(?:{p[0]}|{p[1]})'),
            st.tuples(seq, st.sampled_from(['*', '+', '?', '{2}', '{1,3}', '{0,2}', '{3,}', '??', '+?'])).map(
                lambda p: f'(?:{p[0]}){p[1]}'
            ),
            seq.map(lambda p: f'(?i:{p})'),
            seq.map(lambda p: f'(?-i:{p})'),
        )

    return st.recursive(leaf, extend, max_leaves=10)


def _holds_at(text: str, at: int, factor) -> bool:
    return at + len(factor) <= len(text) and all(ord(text[at + p]) in pos for p, pos in enumerate(factor))


def _holds(text: str, factors) -> bool:
    return any(_holds_at(text, at, f) for at in range(len(text)) for f in factors)


def _run_then_factor(text: str, at: int, run) -> bool:
    """Whether text holds, from ``at``, a run of the class (non-ASCII: as the scanner reads
    it, all in when the class has any) and then one of the factors."""
    ascii, high, factors = run
    k = at
    while True:
        if any(_holds_at(text, k, f) for f in factors):
            return True
        if k >= len(text):
            return False
        c = ord(text[k])
        if not (high if c >= 128 else (ascii >> c) & 1):
            return False
        k += 1


def _every_match(compiled, text):
    """Every leftmost match at every start (overlapping ones included)."""
    for start in range(len(text) + 1):
        m = compiled.search(text, start)
        if m is None:
            return
        yield m


@seed(20261201)
@settings(
    max_examples=EXAMPLES * 10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    pattern=_regex(),
    flags=st.sampled_from([0, re.IGNORECASE, re.DOTALL, re.MULTILINE, re.IGNORECASE | re.DOTALL]),
    texts=st.lists(st.text(alphabet=TEXT_CHARS, max_size=24), min_size=1, max_size=6),
    data=st.data(),
)
def test_every_match_holds_a_required_factor(pattern, flags, texts, data):
    anywhere = required_factors(pattern, flags)
    leading = required_factors(pattern, flags, leading=True)
    run = run_then_factors(pattern, flags)
    assume(anywhere is not None or leading is not None or run is not None)
    compiled = re.compile(pattern, flags)
    texts = texts + [data.draw(st.from_regex(compiled))]  # one text that holds a match
    for text in texts:
        for m in _every_match(compiled, text):
            if anywhere is not None:
                assert _holds(m.group(), anywhere), (pattern, flags, text, m.group())
            if leading is not None:
                assert any(_holds_at(text, m.start(), f) for f in leading), (pattern, flags, text, m.start())
            if run is not None:
                assert _run_then_factor(text, m.start(), run), (pattern, flags, text, m.start())


@pytest.mark.parametrize(
    'pattern, flags, leading, want',
    [
        (r'(?:the ){2}', 0, False, ['the the ']),
        (r'(?:the ){2}', 0, True, ['the the ']),
        (
            r'[Tt]herefore,? the answer is',
            0,
            False,
            ['[Tt]herefore the answer is', '[Tt]herefore, the answer is'],
        ),
        (r'\\boxed\{[^{}]*\}', 0, True, ['\\boxed{']),
        (r'<think>.*?</think>', re.DOTALL, False, ['</think>']),
        (r'<think>.*?</think>', re.DOTALL, True, ['<think>']),
        (r'\d+ \* \d+', 0, False, [' * ']),
        (r'\d+ \* \d+', 0, True, None),  # a match starts with a digit: too many to list
        (r'(?:ab|cd)(?:ef|gh)', 0, False, ['abef', 'abgh', 'cdef', 'cdgh']),
        (r'\bwait\b', 0, True, ['wait']),
        (r'(?i)wait', 0, False, ['[Ww][Aa][Iiİı][Tt]']),  # IGNORECASE 'i' also matches 'İ' and 'ı'
        (r'ok', re.IGNORECASE, False, ['[Oo][Kk\u212a]']),  # and 'k' the KELVIN SIGN
        (r'x{40}', 0, True, ['x' * 32]),  # a long exact factor keeps its head
        (r'\d+', 0, False, None),
        (r'a*', 0, False, None),
        (r'[\u4e00-\u9fff]', 0, False, None),
        (r'(?:a|b*)', 0, False, None),
        (r'\ufffd{3}', 0, False, None),  # a lone surrogate reads as U+FFFD: never a factor
    ],
)
def test_factors_of_known_patterns(pattern, flags, leading, want):
    got = required_factors(pattern, flags, leading=leading)
    assert (None if got is None else [factor_text(f) for f in got]) == want


@pytest.mark.parametrize(
    'pattern, want',
    [
        (r'\d+ \* \d+', ('0123456789', True, [' * '])),
        (r'[a-c]*?xyz', ('abc', False, ['xyz'])),
        (r'(?i)k+ok', ('Kk', True, ['[Oo][Kk\u212a]'])),  # KELVIN SIGN: above ASCII
        (r'.+xyz', (''.join(map(chr, range(128))).replace('\n', ''), True, ['xyz'])),  # '.': not a newline
        (r'(?s).*xyz', (''.join(map(chr, range(128))), True, ['xyz'])),
        (r'(?:the ){2}', None),  # no repeat of one class first
        (r'\d+', None),  # nothing after the run
        (r'\d+\w', None),  # no factor after it
    ],
)
def test_run_then_factors_of_known_patterns(pattern, want):
    got = run_then_factors(pattern)
    if want is None:
        assert got is None
        return
    members, high, factors = want
    assert got[0] == sum(1 << ord(c) for c in members) and bool(got[1]) == high
    assert [factor_text(f) for f in got[2]] == factors
    # The members above ASCII as sorted, disjoint ranges, equal to `re`'s class.
    cls = re.compile(pattern.split('+')[0].split('*')[0])
    assert all(a[1] < b[0] for a, b in zip(got[1], got[1][1:]))
    in_ranges = {cp for lo, hi in got[1] for cp in range(lo, hi + 1)}
    sample = set(range(128, 0x3000)) | set(range(0xFF00, 0x10000)) | set(range(0x1D7C0, 0x1D800)) | {0x10FFFF}
    assert {cp for cp in sample if cls.fullmatch(chr(cp))} == in_ranges & sample


def test_dotted_and_dotless_i_keep_the_factor_honest():
    """'wait' under IGNORECASE matches 'WAİT' and 'waıt': the factor's 'i' holds both."""
    factors = required_factors('wait', re.IGNORECASE)
    for text in ('WAİT', 'waıt', 'WaIt'):
        assert re.search('wait', text, re.IGNORECASE) and _holds(text, factors)


def test_window_is_the_least_common_run():
    (factor,) = required_factors(r'\\boxed\{')
    assert factor_text(factor[window_start(factor) : window_start(factor) + 3]) == 'box'
    (factor,) = required_factors('</think>')
    assert window_start(factor) == 0  # '</' leads: rarer than any run of letters
    assert window_start(required_factors('abc')[0], 3) == 0  # the only window


def test_wide_window_avoids_every_common_triple_in_it():
    """A window of four positions holds two letter triples, and each common one counts
    against it."""
    (factor,) = required_factors('(?i)actually')
    assert window_start(factor, 4) == 0  # 'actu': 'ally' holds 'all'
    (factor,) = required_factors('national')
    # 'nati', 'atio', 'tion' and 'iona' hold 'ati', 'tio' or 'ion'; 'onal' holds none
    assert window_start(factor, 4) == 4
