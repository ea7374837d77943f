"""The format rewards' inputs: every bad argument raises naming itself, what it got and what
it expects; lone surrogates read as U+FFFD; first invalid positions do not depend on the batch.
"""

import re

import pytest
import torch
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from twinkle.reward.format import (
    _SURROGATE_ERRORS,
    BoxedReward,
    FormatReward,
    TagCountReward,
    _DfaReward,
    _pattern_dfa,
    boxed_pattern,
)


def _tiny_tokenizer():
    """A byte-level BPE tokenizer with a handful of ids (no download, no extra package)."""
    from tokenizers import Tokenizer, decoders, models

    vocab = {t: i for i, t in enumerate(['a', 'b', 'x', '<', '>', 'Ġ', '/', 'think', 'answer'])}
    tok = Tokenizer(models.BPE(vocab, []))
    tok.decoder = decoders.ByteLevel()
    return tok


# ---- constructor arguments ------------------------------------------------------------------

# (constructor, error, message)
BAD_CONSTRUCTORS = [
    # flags: an int (re.DOTALL | ...), never a str or a bool
    (lambda: FormatReward('a', flags='i'), TypeError, r"flags must be an int .*got str 'i'"),
    (lambda: FormatReward(None, flags='i'), TypeError, r"flags must be an int .*got str 'i'"),
    (lambda: FormatReward('a', flags=True), TypeError, r'flags must be an int .*got bool True'),
    (lambda: FormatReward('a', flags=2.0), TypeError, r'flags must be an int .*got float 2.0'),
    (lambda: FormatReward('a', flags=re.VERBOSE), ValueError, r'unsupported regex flags'),
    (lambda: FormatReward(flags=re.DOTALL), ValueError, r'default think/answer .*flags=.*DOTALL'),
    # pattern: a str, a list of str or None
    (lambda: FormatReward(5), TypeError, r'pattern must be a str, a list of str or None, got int 5'),
    (lambda: FormatReward(b'a+'), TypeError, r"pattern must be .*got bytes b'a\+'"),
    (lambda: FormatReward({'a'}), TypeError, r'pattern must be .*got set'),
    (lambda: FormatReward(['a', 5]), TypeError, r'pattern\[1\] must be a str, got int 5'),
    (lambda: FormatReward([]), ValueError, r'pattern is an empty list'),
    (lambda: FormatReward('a', mode=None), ValueError, r'mode must be .*got None'),
    (lambda: FormatReward('a', prefix=3), TypeError, r'prefix must be a str, got int'),
    # tags: a list of str (one tag goes in a list)
    (
        lambda: TagCountReward(tags='<think>'),
        TypeError,
        r"tags must be a list or tuple of str, got str '<think>'",
    ),
    (lambda: TagCountReward(tags=None), TypeError, r'tags must be a list or tuple of str, got NoneType'),
    (lambda: TagCountReward(tags=[]), ValueError, r'tags must hold at least one tag'),
    (lambda: TagCountReward(tags=['<a>', '']), ValueError, r"tags\[1\] must be a non-empty str, got ''"),
    (lambda: TagCountReward(tags=['<a>', 3]), TypeError, r'tags\[1\] must be a non-empty str, got int 3'),
    (lambda: TagCountReward(tags=['<\ud800>']), ValueError, r'tags\[0\] .* lone surrogate'),
    # max_depth: an int >= 1
    (lambda: BoxedReward(max_depth='3'), TypeError, r"max_depth must be an int >= 1, got str '3'"),
    (lambda: BoxedReward(max_depth=0), ValueError, r'max_depth must be >= 1, got 0'),
    (lambda: boxed_pattern(2.5), TypeError, r'max_depth must be an int >= 1, got float 2.5'),
    # vocab_size: at least the tokenizer's ids
    (
        lambda: FormatReward(tokenizer=_tiny_tokenizer(), vocab_size=4),
        ValueError,
        r'vocab_size=4 is smaller than the tokenizer.*>= 9',
    ),
    (
        lambda: TagCountReward(tokenizer=_tiny_tokenizer(), vocab_size=1),
        ValueError,
        r'vocab_size=1 is smaller',
    ),
]


@pytest.mark.parametrize('build,error,match', BAD_CONSTRUCTORS)
def test_bad_constructor_arguments_name_themselves(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_good_constructor_arguments():
    assert FormatReward('a', flags=re.IGNORECASE)(['A']) == [1.0]
    assert FormatReward(('a', 'a|b'), flags=0)(['a', 'b']) == [1.0, 0.0]
    assert TagCountReward(tags=('<think>',))(['<think>']) == [1.0]
    assert TagCountReward(tags=['<think>'])(['<think><think>']) == [0.0]
    assert FormatReward(tokenizer=_tiny_tokenizer(), vocab_size=9).token_table.vocab_size == 9


def test_vocab_size_below_a_real_tokenizer():
    from tests.dfa.test_tokens import mistral_tokenizer

    with pytest.raises(ValueError, match=r'vocab_size=100 is smaller than the tokenizer.*>= 32000'):
        FormatReward(tokenizer=mistral_tokenizer(), vocab_size=100)


# ---- token-path tensors ---------------------------------------------------------------------

IDS = torch.tensor([[0, 1, 2], [3, 4, 5]])

# (keyword arguments of forward, error, message); IDS is (B, L) = (2, 3)
BAD_TOKEN_INPUTS = [
    (dict(lengths=torch.tensor([1.0, 2.0])), TypeError, r'lengths must be an integer tensor .*float32'),
    (dict(lengths=torch.tensor([True, False])), TypeError, r'lengths must be an integer tensor .*bool'),
    (dict(lengths=[1, 2]), TypeError, r'lengths must be a torch.Tensor, got list'),
    (
        dict(lengths=torch.tensor([[1, 2]])),
        ValueError,
        r'lengths must be \(B,\) = \(2,\) .*got shape \(1, 2\)',
    ),
    (
        dict(lengths=torch.tensor([1, 2, 3])),
        ValueError,
        r'lengths must be \(B,\) = \(2,\) .*got shape \(3,\)',
    ),
    (
        dict(lengths=torch.tensor([1, 4])),
        ValueError,
        r'lengths must lie in \[0, L\] = \[0, 3\], got .* 1 to 4',
    ),
    (
        dict(lengths=torch.tensor([-1, 2])),
        ValueError,
        r'lengths must lie in \[0, L\] = \[0, 3\], got .* -1 to 2',
    ),
    (
        dict(attention_mask=torch.ones(3)),
        ValueError,
        r'attention_mask must have the shape of input_ids \(B, L\) = \(2, 3\), got \(3,\)',
    ),
    (dict(attention_mask=torch.ones(1, 3)), ValueError, r'attention_mask .* = \(2, 3\), got \(1, 3\)'),
    (dict(attention_mask=torch.ones(2, 4)), ValueError, r'attention_mask .* = \(2, 3\), got \(2, 4\)'),
    (dict(attention_mask=torch.ones(3, 2)), ValueError, r'attention_mask .* = \(2, 3\), got \(3, 2\)'),
    (
        dict(input_ids=IDS.float()),
        TypeError,
        r'input_ids must hold integer token ids, got dtype torch.float32',
    ),
    (dict(input_ids=IDS[0]), ValueError, r'input_ids must be \(B, L\), got shape \(3,\)'),
    (dict(input_ids=IDS.tolist()), TypeError, r'input_ids must be a torch.Tensor, got list'),
    (dict(input_ids=None), TypeError, r'input_ids must be a torch.Tensor, got NoneType'),
    (
        dict(input_ids=IDS.to_sparse()),
        TypeError,
        r'input_ids must be a dense tensor, got layout torch.sparse_coo',
    ),
    (dict(lengths=torch.tensor([1, 2]).to_sparse()), TypeError, r'lengths must be a dense tensor'),
    (dict(attention_mask=torch.ones(2, 3).to_sparse()), TypeError, r'attention_mask must be a dense tensor'),
]


@pytest.fixture(scope='module')
def rewards():
    tok = _tiny_tokenizer()
    return {
        'format': FormatReward('a.*', mode='search', tokenizer=tok),
        'tags': TagCountReward(tokenizer=tok),
        'boxed': BoxedReward(tokenizer=tok),
    }


@pytest.mark.parametrize('which', ['format', 'tags', 'boxed'])
@pytest.mark.parametrize('kwargs,error,match', BAD_TOKEN_INPUTS)
def test_bad_token_inputs_name_themselves(rewards, which, kwargs, error, match):
    r = rewards[which]
    kwargs = dict(kwargs)
    ids = kwargs.pop('input_ids', IDS)
    with pytest.raises(error, match=match):
        r.forward(ids, **kwargs)
    if which == 'format':
        with pytest.raises(error, match=match):
            r.dead_positions(ids, **kwargs)


def test_good_token_inputs(rewards):
    r = rewards['format']
    assert r(IDS, lengths=torch.tensor([3, 0], dtype=torch.int32)).tolist() == [1.0, 0.0]
    assert r(IDS, lengths=torch.tensor([0, 3])).tolist() == [0.0, 0.0]
    assert r(IDS, attention_mask=torch.tensor([[False, True, True], [True, True, True]])).tolist() == [
        0.0,
        0.0,
    ]
    assert r(IDS, attention_mask=torch.tensor([[1, 1, 1], [1, 0, 1]])).tolist() == [1.0, 0.0]
    assert r(IDS.to(torch.int32)).tolist() == [1.0, 0.0]
    assert r(IDS[:0]).shape == (0,)
    # Without check_ids the range check (a host sync) is off: lengths are clamped to [0, L].
    quiet = FormatReward('a.*', mode='search', tokenizer=_tiny_tokenizer(), check_ids=False)
    assert quiet(IDS, lengths=torch.tensor([7, -2])).tolist() == [1.0, 0.0]


def test_token_checks_compile(rewards):
    r = rewards['format']
    f = torch.compile(r.forward, fullgraph=True)
    assert f(IDS, torch.tensor([3, 3]), attention_mask=torch.ones_like(IDS)).tolist() == [1.0, 0.0]


# ---- lone surrogates read as U+FFFD (completion and prefix) ----------------------------------

SURROGATE_PATTERNS = [
    (r'\ufffd', 0, 'search'),
    (r'\ufffd+', 0, 'fullmatch'),
    (r'.', 0, 'fullmatch'),
    (r'..', 0, 'fullmatch'),
    (r'[^a]', 0, 'match'),
    (r'\W', 0, 'search'),
    (r'(?i)a\ufffd', 0, 'search'),
    (r'\ufffd$', 0, 'search'),
    (r'[\ud800-\udfff]', 0, 'search'),
    (r'\ufffd\ufffd', 0, 'search'),
    (r'\w', 0, 'fullmatch'),
]
PREFIXES = ['', '\ud800', 'a\udfff', '\ufffd', '\udc80\ud83d']
SURROGATE_TEXT = st.lists(
    st.sampled_from(
        ['\ud800', '\udfff', '\udc80', '\ud83d', '\ude00', '\ufffd', 'a', 'A', 'é', '你', '\n', ' ']
    ),
    max_size=6,
).map(''.join)


def _replace_surrogates(text):
    return re.sub('[\ud800-\udfff]', '\ufffd', text)


@pytest.mark.parametrize('prefix', PREFIXES)
def test_lone_surrogates_read_as_fffd(prefix):
    """The string path against re on the text with every lone surrogate replaced by U+FFFD."""
    mod = _DfaReward([('regex', p, f, m) for p, f, m in SURROGATE_PATTERNS], prefix=prefix)

    @seed(20261202)
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(SURROGATE_TEXT, min_size=1, max_size=16))
    def run(texts):
        acc, _ = mod.scan_texts(texts)
        for i, text in enumerate(texts):
            full = _replace_surrogates(prefix + text)
            for k, (p, f, m) in enumerate(SURROGATE_PATTERNS):
                assert bool(acc[i, k] == 1.0) == bool(getattr(re, m)(p, full, f)), (p, m, prefix, text)

    run()


def test_surrogate_examples():
    assert FormatReward('\ufffd')(['\ud800']) == [1.0]
    assert FormatReward('\ufffd\ufffd')(['\ud83d\ude00']) == [1.0]  # two lone surrogates, not a pair
    assert FormatReward('\ufffda', prefix='\ud800')(['a']) == [1.0]
    assert FormatReward('x\ufffd*', prefix='x')(['\udfff\ud800']) == [1.0]
    assert TagCountReward(tags=['\ufffd'])(['a\ud800b', '\ud800\ud800']) == [1.0, 0.0]
    assert FormatReward('<\ufffd>').first_invalid_position(['<\ud800>', '<\ud800x']) == [-1, 2]


# ---- first invalid position: 0 for impossible patterns, whatever the batch -----------------

LONG = 20_000  # past the CPU op's 2**14 threshold for scanning one long row in chunks

# (reward arguments, texts); impossible patterns answer 0 for every text
POSITION_CASES = [
    (dict(pattern=r'a\Zb', mode='search'), ['', 'x', 'ab', 'x' * LONG]),
    (dict(pattern=r'a\Zb', mode='fullmatch'), ['', 'a', 'x' * LONG]),
    (dict(pattern=r'[^\s\S]', mode='match'), ['', '\n', 'é' * LONG]),
    (dict(pattern=r'a', prefix='b'), ['', 'a', 'x' * LONG]),
    (dict(pattern=r'(?s)<think>.*', prefix='</think>'), ['', '<think>', 'x' * LONG]),
    (
        dict(pattern=None),
        ['', '<think>', '<thinx>', 'x' * LONG, '<think>' + 'é' * LONG + '</think>x', '<think>' + 'y' * LONG],
    ),
    (dict(pattern=None, prefix='<think>'), ['', 'a</think><answer>', '<think>', 'z' * LONG + '</think>!']),
    (dict(pattern=r'a{3}', mode='match'), ['', 'aa', 'aab', 'a' * LONG]),
]


def _start(reward):
    """The byte DFA and its state after the reward's prefix."""
    dfa = _pattern_dfa(reward.specs[0])
    return dfa, dfa.advance(dfa.start, reward.prefix.encode('utf-8', _SURROGATE_ERRORS))


def _oracle_position(reward, text):
    """The first character after which the byte DFA is dead, by a Python walk (0: dead at start)."""
    dfa, state = _start(reward)
    if state == dfa.dead:
        return 0
    data = text.encode('utf-8', _SURROGATE_ERRORS)
    for i, b in enumerate(data):
        state = int(dfa.trans[state, b])
        if state == dfa.dead:
            return len(data[: i + 1].decode('utf-8', 'replace')) - 1
    return -1


def _shapes(text, others):
    """The text alone, repeated, first, last and in the middle of other texts."""
    return [
        [text],
        [text] * 3,
        [text] + others,
        others + [text],
        others[:1] + [text] + others[1:],
        [text] * 9,
    ]


@pytest.mark.parametrize('kwargs,texts', POSITION_CASES)
def test_first_invalid_position_does_not_depend_on_the_batch(kwargs, texts):
    r = FormatReward(**kwargs)
    others = ['', 'q', '<think>a</think><answer>1</answer>', 'zz']
    dfa, state = _start(r)
    impossible = state == dfa.dead
    for text in texts:
        want = _oracle_position(r, text)
        if impossible:
            assert want == 0
        for batch in _shapes(text, others):
            got = r.first_invalid_position(batch)
            assert [g for g, t in zip(got, batch) if t is text] == [want] * batch.count(text), (
                kwargs,
                len(text),
            )
        if impossible:  # every text of the batch, not only this one
            assert r.first_invalid_position(others) == [0] * len(others)


@pytest.mark.parametrize('kwargs', [dict(pattern=r'a\Zb', mode='search'), dict(pattern='a', prefix='b')])
def test_dead_positions_of_impossible_patterns_are_zero(kwargs):
    r = FormatReward(tokenizer=_tiny_tokenizer(), **kwargs)
    for b, l in [(1, 1), (1, LONG), (3, 5), (9, 2), (2, 0)]:
        ids = torch.zeros((b, l), dtype=torch.int64)
        assert r.dead_positions(ids).tolist() == [0] * b
        assert r(ids).tolist() == [0.0] * b
    ids = torch.zeros((2, 4), dtype=torch.int64)
    assert r.dead_positions(ids, lengths=torch.tensor([0, 4])).tolist() == [0, 0]
    assert r.dead_positions(ids, attention_mask=torch.tensor([[0, 0, 1, 1], [0, 0, 0, 0]])).tolist() == [0, 0]
