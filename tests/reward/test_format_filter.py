"""The string scanner's literal filter against the exact scan and against Python ``re``.

A pattern whose start state leaves on common bytes and whose every match holds one of a
few factors gets a filter: one pass over a text (32 windows a step, from the text's own
bytes or its units narrowed to bytes) finds every filtered pattern's factors; a pattern
with none is reported without a scan (not accepted, never dead), and one whose every match
starts with a factor is scanned alone from the first of them, less the unit its
look-behind may read. These tests force the filter on (``_filter_adapts = False``) and
check acceptance and first-dead offsets against the exact scan and every verdict against
``re``: factors at every offset around the pass's 32- and 64-unit steps, its tail and its
1024-unit narrowing chunks, in every storage kind; case variants outside ASCII (İ, ı, the
KELVIN SIGN); look-behind (``\\b``, a multiline ``^``) just before a factor; random texts
from pieces of the factors. The measured choice between filtering and not is checked to
give the same results whichever it takes.
"""

import os
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from twinkle import _ext
from twinkle.reward.format import FormatReward, _can_die, _DfaReward

from ._string_programs import SCANNER

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))

pytestmark = pytest.mark.skipif(_ext.string_scanner() is None, reason='the compiled library is not loaded')

# (pattern, flags, mode, filtered): whether the reward gives the pattern a filter.
PATTERNS = [
    (r'(?:the ){2}', 0, 'search', True),
    (r'(?:wait|hmm|actually)', re.IGNORECASE, 'search', True),
    (r'[Tt]herefore,? the answer is', 0, 'search', True),
    (r'\d+ \* \d+ = \d+', 0, 'search', True),  # a run of digits, then the factor
    (r'\\boxed\{[^{}]*\}', 0, 'search', True),
    (r'\n\n\n', 0, 'search', True),
    (r'\bwait\b', 0, 'search', True),  # look-behind before the factor
    (r'^hmm', re.MULTILINE, 'search', True),  # and a multiline '^'
    (r'okay', re.IGNORECASE, 'search', True),  # 'k' is also the KELVIN SIGN
    (r'<think>.*?</think>', re.DOTALL, 'search', False),  # its exit '<' is rare: it jumps
    (r'\$[^$\n]+\$', 0, 'search', False),  # a one-unit factor
    (r'the the', 0, 'match', False),  # can die
    (r'[\u4e00-\u9fff]', 0, 'search', False),  # no factor
    (r'\w{3}ing\b', 0, 'search', True),  # three units before the factor
    (r'[a-z ]*answer', 0, 'search', True),  # a run that the factor's letters are in
    (r'(?:ab|cd)\w*xyz', 0, 'search', True),  # the factor anywhere in a match
]
PIECES = [
    'the ',
    'the the ',
    'The the ',
    'Therefore, the answer is',
    'therefore the answer is',
    'Therefore the answer',
    'wait',
    'WAİT',
    'waıt',
    'await',
    'a wait.',
    'hmm',
    'HMM',
    'xhmm',
    '\nhmm',
    'actually',
    'ACTUAL',
    'o\u212aa',
    'OK!',
    '12 * 3 = 36',
    ' * ',
    '7 * x',
    '\\boxed{42}',
    '\\boxed{',
    '\n\n',
    '\n',
    '<think>',
    '</think>',
    '$x$',
    'going',
    'thinking',
    'walking',
    'abqxyz',
    'cd_xyz',
    'ab xyz',
    'xyz',
    'ing',
    ' ',
    'é',
    '你',
    '😀',
    '\ud800',
    '题意，449 * 135 = 60615',  # CJK just before a run of digits: no digit
    '٤٤٩ * ١٣٥ = ٦٠٦١٥',  # Arabic-Indic digits: a run of them
    '你١٢ * ٣ = ٣٦',
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=12).map(''.join)


def _reward(patterns=PATTERNS, adapts=False):
    r = _DfaReward([('regex', p, f, m) for p, f, m, _ in patterns])
    r._filter_adapts = adapts
    return r


FILTERED = _reward()


def _check(module, texts, patterns=PATTERNS):
    """Filtered acceptance and first-dead offsets equal the exact scan's and ``re``'s."""
    accept = module.byte_accept.numpy()
    cols = np.arange(accept.shape[0])[None, :]
    final, first_dead = module._scan_strings(texts, exact=True)
    accepted, filtered_dead = module.scan_texts(texts)
    assert np.array_equal(filtered_dead.numpy(), first_dead)
    assert np.array_equal(accepted.numpy() == 1.0, accept[cols, final])
    for i, text in enumerate(texts):
        plain = re.sub('[\ud800-\udfff]', '\ufffd', text)
        for j, (p, f, m, _) in enumerate(patterns):
            assert (accepted[i, j].item() == 1.0) == bool(getattr(re, m)(p, plain, f)), (text, p)


def test_the_patterns_that_get_a_filter():
    tables = [getattr(FILTERED, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')]
    factors, of_pattern, leading, adapts, attempts = FILTERED._string_filter(
        *tables, FILTERED.byte_accept.numpy()
    )
    assert [bool(ids) for ids in of_pattern] == [want for *_, want in PATTERNS]
    assert not adapts
    # Every match starts with a factor, or with a run of one class and then a factor.
    assert [i for i, lead in enumerate(leading) if lead is True] == [0, 1, 2, 4, 5, 6, 7, 8]
    digits = sum(1 << c for c in range(ord('0'), ord('9') + 1))
    # '\d' also holds digits outside ASCII: its ranges there (Arabic-Indic first).
    assert leading[3][:2] == (digits, 0) and leading[3][2][0] == (0x660, 0x669)
    assert not any(lo <= 0x4E2D <= hi for lo, hi in leading[3][2])  # no CJK character
    assert isinstance(leading[13], tuple) and leading[13][2]  # '\w{3}' before 'ing'
    assert [i for i, lead in enumerate(leading) if isinstance(lead, tuple)] == [3, 13, 14]
    assert leading[15] is False  # its factor can come anywhere in a match
    # Scanned in attempts: searched, and no assertion ('\b', '^') reads before a unit.
    assert [i for i, a in enumerate(attempts) if a] == [0, 1, 2, 3, 4, 5, 8, 14]
    assert all(3 <= len(positions) and 0 <= at <= len(positions) - 3 for at, positions in factors)


def test_no_filter_with_a_prefix():
    r = _DfaReward([('regex', r'(?:the ){2}', 0, 'search')])
    tables = [getattr(r, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')]
    assert r._string_filter(*tables, r.byte_accept.numpy()) is not None
    r.prefix = 'the '  # a factor could straddle the prefix
    assert r._string_filter(*tables, r.byte_accept.numpy()) is None


@pytest.mark.parametrize(
    'pattern, flags, mode, want',
    [
        (r'abc', 0, 'search', False),
        (r'^abc', 0, 'search', True),
        (r'(?:\A|x)wait', 0, 'search', False),
        (r'[^é]*', 0, 'fullmatch', True),  # dies on 'é'
        (r'(?s).*', 0, 'fullmatch', False),  # no valid UTF-8 kills it
        (r'a\Zb', 0, 'search', True),  # dead from the start
    ],
)
def test_can_die_reads_valid_utf8_only(pattern, flags, mode, want):
    r = _DfaReward([('regex', pattern, flags, mode)])
    cls, tab, starts, dead = (
        getattr(r, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')
    )
    assert _can_die(cls[0, :256], tab[0], int(starts[0]), int(dead[0])) is want


@pytest.mark.parametrize('filler', ['x', 'é', '你', '😀'])
def test_a_factor_at_every_offset(filler):
    """Each factor at every offset of texts that span the pass's steps, tail and chunks."""
    lengths = [0, 1, 2, 3, 31, 33, 34, 35, 63, 64, 66, 67, 95, 96, 97, 130]
    factors = [
        'the the ',
        'wait',
        'hmm',
        '\\boxed{1}',
        '\n\n\n',
        'therefore the answer is',
        'Therefore, the answer is',  # each letter of a pair of cases ([Tt]) in every storage
        'WAIT',
        'Hmm',
        '12 * 3 = 6',
        'walking',
        'cd12xyz',
    ]
    texts = []
    for factor in factors:
        for n in lengths:
            for at in range(0, n + 1, max(1, n // 9)):
                texts.append(filler * at + factor + filler * (n - at))
    # Far into a text, and cut off at its end.
    for at in range(1015, 1030):
        texts.append(filler * at + 'wait' + filler * 40)
        texts.append(filler * at + 'wai')
    _check(FILTERED, texts)


@pytest.mark.parametrize('filler', ['x', 'é', '你', '😀'])
def test_three_unit_windows_at_every_offset(filler):
    """Factors of three units only: the pass tests windows of three positions."""
    patterns = [(r'hmm', re.IGNORECASE, 'search', True), (r'\n\n\n', 0, 'search', True)]
    reward = _reward(patterns)
    filt = reward._string_filter(
        *(getattr(reward, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')),
        reward.byte_accept.numpy(),
    )
    assert filt is not None and max(len(f) for _, f in filt[0]) == 3
    texts = []
    for factor in ['hmm', 'HmM', '\n\n\n', 'hm', '\n\n']:
        for n in [0, 1, 2, 29, 30, 31, 32, 33, 61, 62, 63, 64, 65, 93, 94, 95, 96, 97, 130]:
            for at in range(0, n + 1, max(1, n // 9)):
                texts.append(filler * at + factor + filler * (n - at))
    _check(reward, texts, patterns)


def test_factors_share_buckets_by_their_windows():
    """With more factors than the pass's eight buckets, those put together are those whose
    union takes the fewest windows beyond theirs: the two spellings of the answer phrase
    (the same window), never ` * ` with `\\n\\n\\n`, whose crossings (` \\n `, `**\\n`) are
    common in text with products."""
    patterns = [
        (r'\\boxed\{[^{}]*\}', 0, 'search', True),
        (r'\d+ \* \d+ = \d+', 0, 'search', True),
        (r'(?:wait|hmm|actually)', re.IGNORECASE, 'search', True),
        (r'\n\n\n', 0, 'search', True),
        (r'(?:the ){2}', 0, 'search', True),
        (r'[Tt]herefore,? the answer is', 0, 'search', True),
    ]
    r = _reward(patterns)
    factors = r._string_filter(*_tables(r))[0]
    text = [''.join(chr(min(p)) for p in positions) for _, positions in factors]
    assert len(text) == 9
    buckets = SCANNER.filter_choice(r._strings()[1])['buckets']
    assert len(buckets) == 8 and sorted(i for b in buckets for i in b) == list(range(9))
    (shared,) = [sorted(text[i] for i in b) for b in buckets if len(b) == 2]
    assert shared == ['Therefore the answer is', 'Therefore, the answer is']
    _check(r, ['1 *\n2 * 3 = 6', ' \n \n\n\n', '**\n7 * 8 = 56 你', 'therefore the answer is 5'], patterns)


def test_look_behind_before_a_factor():
    texts = [
        'await',
        'a wait',
        'wait',
        'x' * 40 + 'await',
        'x' * 40 + '.wait',
        'xhmm',
        '\nhmm',
        'x\nhmm',
        'ahmm\nhmm',
    ]
    _check(FILTERED, texts)
    accepted, _ = FILTERED.scan_texts(texts)
    assert accepted[:, 6].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert accepted[:, 7].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]


def test_case_variants_outside_ascii():
    texts = ['WAİT', 'waıt', 'wAIT', 'o\u212aay', 'OKAY', 'oKay', 'Ωk']
    _check(FILTERED, texts)


@seed(20261201)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=24))
def test_filtered_scan_equals_exact_scan_and_re(texts):
    _check(FILTERED, texts)


@seed(20261202)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXT, min_size=1, max_size=8), st.sets(st.integers(0, len(PATTERNS) - 1), min_size=1))
def test_any_subset_of_patterns(texts, idx):
    """Programs of one to all the patterns: every set of patterns left goes to its own product."""
    patterns = [PATTERNS[j] for j in sorted(idx)]
    _check(_reward(patterns), texts, patterns)


# Patterns scanned in attempts, around each hit of their factors, and pieces that hold
# their factors without a match (a scan that is back in its start state soon after), near
# misses, overlaps and matches.
ATTEMPTS = [
    (r'\d+ \* \d+ = \d+', 0, 'search', True),
    (r'[a-z ]*answer', 0, 'search', True),
    (r'[Tt]herefore,? the answer is', 0, 'search', True),  # a window well inside its factor
    (r'\\boxed\{[^{}]*\}', 0, 'search', True),
    (r'abc(?:de)+f', 0, 'search', True),
]
ATTEMPT_PIECES = [
    ' * ',
    '1 * ',
    '12 * 3',
    '12 * 3 = ',
    '4 = 5',
    '7 * 8 * 9 = 10',
    '1 * 2 = x',
    '3 * 4 = 5',
    'answ',
    'answer',
    'ans answer',
    'Therefore the answer',
    'therefore, the answer is',
    ' the answer is',
    '\\boxed{',
    '\\boxed{1{2}',
    '\\boxed{x}',
    'abcde',
    'abcdedef',
    'abcdf',
    'abcdeabcdef',
    'x',
    ' ',
    '9',
]


# Pieces joined by nothing or by a unit that makes the text 2- or 4-byte storage.
ATTEMPT_TEXT = st.tuples(
    st.lists(st.sampled_from(ATTEMPT_PIECES), max_size=40), st.sampled_from(['', 'é', '你', '😀'])
).map(lambda x: x[1].join(x[0]))
IN_ATTEMPTS = _reward(ATTEMPTS)


@seed(20261203)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ATTEMPT_TEXT, min_size=1, max_size=12))
def test_attempts_around_every_hit_equal_re(texts):
    """Many hits a text, most of them no match: each attempt ends back in the start state,
    and the next starts at the first hit after it (or again before the same hit)."""
    _check(IN_ATTEMPTS, texts, ATTEMPTS)


def test_every_attempt_pattern_gets_attempts():
    assert IN_ATTEMPTS._string_filter(*_tables(IN_ATTEMPTS))[4] == [True] * len(ATTEMPTS)


def test_attempts_past_the_passs_steps_and_chunks():
    """Misses every few units, then one match at every offset around the 32- and 64-unit
    steps and the 1024-unit narrowing chunks."""
    texts = []
    for filler in ['x', 'é', '你', '😀']:
        for n in [0, 5, 29, 30, 31, 32, 33, 62, 63, 64, 65, 1010, 1020, 1021, 1022, 1023, 1024, 1030]:
            lead = ('1 * 2 = x' + filler) * (n // 10) + filler * (n % 10)
            texts += [lead + '3 * 4 = 5', lead + '3 * 4 =', lead + 'abcdedef' + filler, lead + 'theanswer']
    _check(IN_ATTEMPTS, texts, ATTEMPTS)


def test_batches_of_many_blocks():
    """A large batch is filtered and scanned in blocks of rows (about 256 KB of text each;
    a row larger than that ends its block): every row's results equal the exact scan's and
    ``re``'s, whatever block it falls in and whatever its storage."""
    rng = np.random.default_rng(3)
    fillers = ['', 'é', '你', '😀']
    texts = []
    for i in range(700):
        body = ''.join(rng.choice(PIECES, int(rng.integers(0, 160))))
        texts.append(body + fillers[i % 4] * int(rng.integers(0, 3)))
    texts[350] = ''.join(rng.choice(PIECES, 11000)) + '😀'  # four-byte storage
    top = [max(map(ord, t), default=0) for t in texts]
    storage = [len(t) * (1 if c < 0x100 else 2 if c < 0x10000 else 4) for t, c in zip(texts, top)]
    assert storage[350] > (256 << 10) and sum(storage) - storage[350] > 2 * (256 << 10)
    _check(FILTERED, texts)


def _tables(module):
    tables = [getattr(module, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')]
    return (*tables, module.byte_accept.numpy())


def _same(a, b):
    """Two (accepted, first_dead) results hold the same values."""
    return all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))


def test_the_measured_choice_gives_the_same_results():
    """Large calls alternate with and without the filter until one is faster (the first
    two each way, which build the lazy product states, untimed); whichever each call
    takes, the results are the same."""
    rng = np.random.default_rng(0)
    texts = [''.join(rng.choice(PIECES, 40)) for _ in range(600)]
    module = _reward(adapts=True)
    want = FILTERED.scan_texts(texts)
    scanner, program = module._strings()[:2]
    choice = scanner.filter_choice(program)
    assert {k: choice[k] for k in ('on', 'adapts', 'ratios', 'review')} == {
        'on': True,
        'adapts': True,
        'ratios': [],
        'review': 128,
    }
    for _ in range(4):
        assert _same(module.scan_texts(texts), want)
    assert scanner.filter_choice(program)['ratios'] == []  # the warm-up calls
    for call in range(10):
        assert _same(module.scan_texts(texts), want)
        assert len(scanner.filter_choice(program)['ratios']) == (call + 1) // 2
    choice = scanner.filter_choice(program)
    assert len(choice['ratios']) == 5 and choice['on'] == (sorted(choice['ratios'])[2] < 1.0)
    for _ in range(3):  # no more pairs until the review, 128 large calls on
        assert _same(module.scan_texts(texts), want)
    assert scanner.filter_choice(program) == choice
    assert scanner.filter_choice(_reward([PATTERNS[9]])._strings()[1]) is None  # no filter


def test_reviews_that_keep_a_wide_choice_come_less_often():
    """After each choice the next review comes `review` large calls later: twice as many
    as before where the review kept the choice by a median ratio beyond 2 (or 1/2), at most
    4096, else 128. Whatever the timings measure, the calls between reviews take no pairs
    and the results stay the same."""
    rng = np.random.default_rng(2)
    texts = [''.join(rng.choice(PIECES, 40)) for _ in range(600)]
    module = _reward(adapts=True)
    want = FILTERED.scan_texts(texts)
    scanner, program = module._strings()[:2]
    for _ in range(4 + 10):  # the warm-up and the first choice
        module.scan_texts(texts)
    choice = scanner.filter_choice(program)
    assert len(choice['ratios']) == 5 and choice['review'] == 128
    for _ in range(3):
        before = choice
        for _ in range(before['review'] - 1):  # the calls to the review take no pairs
            module.scan_texts(texts)
        assert scanner.filter_choice(program) == before
        for _ in range(10):
            assert _same(module.scan_texts(texts), want)
        choice = scanner.filter_choice(program)
        assert len(choice['ratios']) == 5
        m = sorted(choice['ratios'])[2]
        assert choice['on'] == (m < 1.0)
        kept = choice['on'] == before['on'] and (m < 0.5 or m > 2.0)
        assert choice['review'] == (min(2 * before['review'], 4096) if kept else 128)


def test_the_choice_pairs_calls_on_the_same_threads():
    """A pair's two calls ran on the same number of intra-op threads: calls that alternate
    thread counts make no pair (their ratio would follow the thread counts)."""
    rng = np.random.default_rng(1)
    texts = [''.join(rng.choice(PIECES, 40)) for _ in range(600)]
    module = _reward(adapts=True)
    scanner, program = module._strings()[:2]
    want = FILTERED.scan_texts(texts)
    threads = torch.get_num_threads()
    try:
        for call in range(4 + 8):
            torch.set_num_threads(1 + call % 2)
            assert _same(module.scan_texts(texts), want)
        assert scanner.filter_choice(program)['ratios'] == []
        torch.set_num_threads(2)
        for _ in range(2):
            assert _same(module.scan_texts(texts), want)
        assert len(scanner.filter_choice(program)['ratios']) == 1
    finally:
        torch.set_num_threads(threads)


def test_format_reward_filters_its_pattern():
    r = FormatReward(r'(?:wait|hmm|actually)', mode='search', flags=re.IGNORECASE)
    r._filter_adapts = False
    texts = ['so, wait.', 'nothing here', 'ACTUALLY', 'waıt', 'hm m', '']
    assert r(texts) == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]


def test_the_filter_argument_is_checked():
    r = _reward(PATTERNS[:1])
    tables = [getattr(r, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')]
    good = [(0, [[ord(c)] for c in 'the the '])]
    SCANNER.byte_program(*tables, -1, (good, [[0]], [True], False))
    bad = [
        ((good, [[0], [0]]), 'one list per pattern'),
        (([(0, [[116], [104]])], [[0]]), '3 to 256 positions'),
        (([(6, [[ord(c)] for c in 'the the '])], [[0]]), 'window in them'),
        (([(0, [[116], [], [101]])], [[0]]), '1 to 8 code points'),
        (([(0, [[116], [104], [0x110000]])], [[0]]), 'code point'),
        ((good, [[1]]), 'factor index'),
        ((good * 65, [[0]]), 'at most 64 factors'),
        ((good, [[0]], [True, False]), 'leading'),
        ((good, [[0]], [True], True, [True, False]), 'attempts'),
        # A run's class: its ranges above ASCII, sorted, disjoint, within [0x80, 0x10FFFF].
        ((good, [[0]], [(1, 0, ((0x7F, 0x90),))]), "run range's lo"),
        ((good, [[0]], [(1, 0, ((0x90, 0x80),))]), "run range's hi"),
        ((good, [[0]], [(1, 0, ((0x80, 0x110000),))]), "run range's hi"),
        ((good, [[0]], [(1, 0, ((0x100, 0x200), (0x150, 0x300)))]), 'sorted and disjoint'),
    ]
    for arg, message in bad:
        with pytest.raises(ValueError, match=message):
            SCANNER.byte_program(*tables, -1, arg)
    with pytest.raises(TypeError, match='filter must be a tuple'):
        SCANNER.byte_program(*tables, -1, [good, [[0]]])
    for ranges in (True, ((0x80,),), [[0x80, 0x90]]):
        with pytest.raises(TypeError, match="run's ranges"):
            SCANNER.byte_program(*tables, -1, (good, [[0]], [(1, 0, ranges)]))
    SCANNER.byte_program(*tables, -1, (good, [[0]], [(1, 0, ((0x80, 0x90), (0x100, 0x10FFFF)))]))


def test_more_pattern_sets_than_products():
    """Forty filtered patterns: past the scanner's cap on products per program, the
    patterns found are scanned one text at a time, with the same results."""
    patterns = [(f'zy{i:02d}q', 0, 'search', True) for i in range(40)]
    rng = np.random.default_rng(1)
    texts = []
    for _ in range(200):
        words = [f'zy{i:02d}q' for i in rng.choice(40, rng.integers(0, 6), replace=False)]
        texts.append(' and '.join(words + ['zy']))
    _check(_reward(patterns), texts, patterns)
    # With a pattern no factor rules out, the sets of patterns left take products too.
    patterns.append((r'<think>.*?</think>', re.DOTALL, 'search', False))
    _check(_reward(patterns), [t + ' <think>x</think>' * (i % 2) for i, t in enumerate(texts)], patterns)
