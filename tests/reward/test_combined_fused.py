"""CombinedReward's format parts scanned together: the same scores as each part's own call.

Format parts (FormatReward, TagCountReward, BoxedReward) that share a prefix, a token table
and ``check_ids`` go through one scan (``_FusedChecks``); ``fuse=False`` calls every part on
its own. Both must give equal rewards and equal per-part logs, bit for bit, on strings,
trajectories (non-text content included) and token ids, whatever the parts and weights.
"""

import functools
import math
import os
import pickle
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dfa.test_tokens import qwen_tokenizer
from twinkle.reward import BoxedReward, CombinedReward, FormatReward, TagCountReward, combined
from twinkle.reward.base import TokenizerRequired
from twinkle.reward.format import _FusedChecks

from .test_format_multi import POOL

EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', '100'))
# Examples that build Qwen3 token ids (and tables) draw fewer.
FEWER = settings(
    derandomize=True,
    max_examples=max(EXAMPLES // 4, 10),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# (pattern, flags, mode) of the FormatReward parts the examples draw from: searches, a
# fullmatch, a match and a pattern that matches nothing (a\Zb).
PATTERNS = [POOL[i] for i in (0, 3, 8, 5, 6, 13, 20, 19)]
PIECES = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '\\boxed{',
    '}',
    '{',
    ' 12 * 3 = 36',
    'Wait',
    'hmm',
    '-7',
    '\n',
    ' ',
    'x',
    '你好',
    '😀',
    'é',
]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=12).map(''.join)
# A trajectory: a bare str, a chat whose last assistant message is text, or one whose content
# is not text (the format parts abstain: NaN).
TRAJ = st.one_of(
    TEXT,
    TEXT.map(lambda t: {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': t}]}),
    st.just({'messages': [{'role': 'assistant', 'content': [{'type': 'image'}]}]}),
)


def _part(spec, tokenizer=None, prefix=''):
    kind = spec[0]
    if kind == 'fmt':
        p, f, m = PATTERNS[spec[1]]
        return FormatReward(p, mode=m, flags=f, tokenizer=tokenizer, prefix=prefix)
    if kind == 'fmt_all':
        return FormatReward(
            [PATTERNS[0][0], PATTERNS[1][0]],
            mode='search',
            flags=re.DOTALL,
            tokenizer=tokenizer,
            prefix=prefix,
        )
    if kind == 'tags':
        return TagCountReward(tokenizer=tokenizer, prefix=prefix)
    if kind == 'tags2':
        return TagCountReward(['<answer>', 'Wait', '你'], tokenizer=tokenizer, prefix=prefix)
    if kind == 'boxed':
        return BoxedReward(spec[1], tokenizer=tokenizer, prefix=prefix)
    return FormatReward(tokenizer=tokenizer, prefix=prefix)  # the strict think/answer format


PART = st.one_of(
    st.tuples(st.just('fmt'), st.integers(0, len(PATTERNS) - 1)),
    st.tuples(st.just('fmt_all')),
    st.tuples(st.just('tags')),
    st.tuples(st.just('tags2')),
    st.tuples(st.just('boxed'), st.integers(1, 3)),
    st.tuples(st.just('strict')),
)


@functools.cache
def _built(spec, with_tokenizer=False, prefix=''):
    """One part per spec, kept: building Qwen3 token tables is the slow step."""
    return _part(spec, qwen_tokenizer() if with_tokenizer else None, prefix)


def _length(t, g):
    return [float(len(str(x))) for x in t]


def _pair(parts, weights, nan_policy):
    items = list(zip(parts, weights))
    return (
        CombinedReward(items, nan_policy=nan_policy),
        CombinedReward(items, nan_policy=nan_policy, fuse=False),
    )


def _same(a, b):
    """Equal float lists, NaN equal to NaN."""
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def _same_parts(a, b):
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


@settings(
    derandomize=True, max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    specs=st.lists(PART, min_size=1, max_size=6),
    weights=st.lists(st.sampled_from([1.0, 0.5, -2.0, 0.1, 3.0]), min_size=6, max_size=6),
    other=st.booleans(),
    nan_policy=st.sampled_from(['propagate', 'zero']),
    trajectories=st.lists(TRAJ, max_size=20),
)
def test_fused_parts_score_as_each_part_alone(specs, weights, other, nan_policy, trajectories):
    parts = [_built(s) for s in specs] + ([_length] if other else [])
    fused, each = _pair(parts, weights[: len(parts)], nan_policy)
    got, want = fused(trajectories), each(trajectories)
    assert _same(got, want)
    assert _same_parts(fused.last_parts, each.last_parts)
    assert _same_parts(fused.score_parts(trajectories), each.score_parts(trajectories))
    if trajectories:  # past the small batches summed in Python: numpy's sum, the same floats
        tiles = combined._SMALL_BATCH // len(trajectories) + 1
        assert _same(fused(trajectories * tiles), got * tiles)
        assert _same(each(trajectories * tiles), got * tiles)
    # The DFA parts (a function part stays apart) of one prefix and tokenizer: one scan.
    n_dfa = len(specs)
    assert len(fused.fused_scans) == (1 if n_dfa >= 2 else 0) and len(each.fused_scans) == 0


def test_scores_equal_re_on_a_realistic_mix():
    """Independent of the unfused path: each fused part's scores against Python ``re``."""
    texts = [
        '<think>\n12 * 3 = 36, hmm.\n</think>\n<answer>36</answer>',
        '<think>a</think><think>b</think><answer>-4</answer>',
        'Wait, \\boxed{\\frac{1}{2}} 你好',
        '<answer>x</answer> trailing',
        '',
    ]
    c = CombinedReward([(FormatReward(p, mode=m, flags=f), 1.0) for p, f, m in PATTERNS[:5]])
    assert len(c.fused_scans) == 1
    c(texts)
    for (p, f, m), got in zip(PATTERNS[:5], c.last_parts.values()):
        want = [1.0 if getattr(re.compile(p, f), m)(t) else 0.0 for t in texts]
        assert got == want, p


@pytest.mark.parametrize('library', [True, False])
def test_part_lists_are_the_parts_own_floats_with_or_without_the_library(monkeypatch, library):
    """The fused lists come from a table of each part's floats i / K (read by the library's
    gather, or by numpy without it): the same objects' values as each part's own call."""
    from twinkle import _ext

    if not library:
        monkeypatch.setattr(_ext, 'string_scanner', lambda: None)
    texts = ['<think>a</think><answer>1</answer>', 'Wait \\boxed{2}', '', '<answer>', '<think></think>']
    parts = [TagCountReward(), FormatReward(), BoxedReward(2), TagCountReward(['<answer>', 'Wait', '你'])]
    fused, each = _pair(parts, [1.0, 0.5, -2.0, 3.0], 'propagate')
    assert _same(fused(texts), each(texts)) and _same_parts(fused.last_parts, each.last_parts)
    for got in fused.last_parts.values():
        assert all(type(x) is float for x in got)
    lists = fused.fused_scans[0].part_values(texts, lists=False)
    assert [v.tolist() for v, none in lists] == list(fused.last_parts.values())
    assert all(none is None and v.flags.c_contiguous for v, none in lists)


@pytest.fixture(scope='module')
def qwen():
    return qwen_tokenizer()


def _ids(tok, texts):
    enc = tok(texts, add_special_tokens=False)['input_ids']
    width = max([len(e) for e in enc] + [1])
    ids = torch.zeros(len(enc), width, dtype=torch.int64)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e, dtype=torch.int64)
    return ids, torch.tensor([len(e) for e in enc], dtype=torch.int64)


@FEWER
@given(
    specs=st.lists(PART, min_size=2, max_size=5),
    weights=st.lists(st.sampled_from([1.0, 0.5, -2.0, 0.1]), min_size=5, max_size=5),
    texts=st.lists(TEXT, min_size=1, max_size=12),
    masked=st.booleans(),
    dtype=st.sampled_from([torch.int64, torch.int32]),
)
def test_fused_token_path_equals_each_part(qwen, specs, weights, texts, masked, dtype):
    parts = [_built(s, True) for s in specs]
    fused, each = _pair(parts, weights[: len(parts)], 'propagate')
    assert len(fused.fused_scans) == 1
    ids, lengths = _ids(qwen, texts)
    ids = ids.to(dtype)
    if masked:  # left padding through a mask instead of lengths
        mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        ids, mask = ids.flip(1), mask.flip(1)
        got = fused.score_ids(ids, attention_mask=mask)
        want = each.score_ids(ids, attention_mask=mask)
    else:
        got, want = fused.score_ids(ids, lengths), each.score_ids(ids, lengths)
    assert got.dtype == want.dtype == torch.float32
    assert torch.equal(got, want)
    assert _same_parts(fused.last_parts, each.last_parts)
    # and the module call, which is score_ids
    assert torch.equal(fused(ids, lengths) if not masked else fused(ids, attention_mask=mask), want)


def test_token_path_through_the_op_equals_each_part(qwen, monkeypatch):
    """Where the direct CPU scanner is not taken (CUDA ids, torch.compile), the ``dfa_scan`` op
    gives each part its row means; the fused scan reads them the same way."""
    from twinkle.reward.format import _DfaReward

    parts = [_built(('tags',), True), _built(('fmt', 0), True), _built(('tags2',), True)]
    fused, each = _pair(parts, [1.0, 0.5, 2.0], 'propagate')
    monkeypatch.setattr(_DfaReward, '_scan_ids_direct', lambda self, *a, **k: None)
    texts = ['<think>a</think><answer>1</answer>', '<answer>Wait 你', 'none', '']
    ids, lengths = _ids(qwen, texts)
    assert torch.equal(fused.score_ids(ids, lengths), each.score_ids(ids, lengths))
    assert _same_parts(fused.last_parts, each.last_parts)


def test_bad_ids_raise_naming_the_combined_reward_and_the_field(qwen):
    parts = [_built(('tags',), True), _built(('fmt', 0), True)]
    c = CombinedReward([(p, 1.0) for p in parts], name='fmt_total')
    ids = torch.tensor([[1, 2, 10**7]])
    with pytest.raises(ValueError, match=r'input_ids\[0, 2\] is out of range'):
        c.score_ids(ids)
    with pytest.raises(ValueError, match=r"CombinedReward 'fmt_total' \(format parts .*\).*lengths"):
        c.score_ids(torch.tensor([[1, 2]]), torch.tensor([5]))
    with pytest.raises(TypeError, match=r'CombinedReward.*input_ids'):
        c.score_ids(torch.tensor([[1.0, 2.0]]))


def test_parts_without_a_tokenizer_keep_their_own_error_on_ids():
    c = CombinedReward([(_built(('tags',)), 1.0), (_built(('boxed', 2)), 1.0)])
    assert len(c.fused_scans) == 1  # the string path still goes through one scan
    with pytest.raises(TokenizerRequired, match='TagCountReward'):
        c.score_ids(torch.tensor([[1, 2]]))


def test_only_parts_that_share_a_prefix_tokenizer_and_check_ids_go_together(qwen):
    a, b = _built(('tags',)), _built(('fmt', 0))
    pa, pb = _built(('tags',), False, '<think>'), _built(('fmt', 2), False, '<think>')
    ta = _built(('fmt', 1), True)
    unchecked = FormatReward(PATTERNS[3][0], mode='search', check_ids=False)
    c = CombinedReward([(a, 1.0), (pa, 1.0), (b, 1.0), (ta, 1.0), (pb, 1.0), (unchecked, 1.0)])
    assert [sorted(g) for g in c._fused_parts] == [[0, 2], [1, 4]]
    texts = ['<think>x</think><answer>1</answer>', '</think><answer>-3</answer> wait', 'hmm 2 * 3 = 6']
    assert _same(c(texts), CombinedReward([(p, 1.0) for p in c.parts], fuse=False)(texts))


def test_a_subclass_that_scores_its_own_way_is_called_on_its_own():
    class Doubled(FormatReward):
        def score_trajectories(self, trajectories, ground_truths=None):
            return [2 * v for v in super().score_trajectories(trajectories, ground_truths)]

    c = CombinedReward(
        [(Doubled(r'\d'), 1.0), (FormatReward(r'x', mode='search'), 1.0), (TagCountReward(), 1.0)]
    )
    assert [sorted(g) for g in c._fused_parts] == [[1, 2]]
    assert c(['1', 'x<think>']) == [2.0, 1.25]


def test_fuse_must_be_a_bool():
    with pytest.raises(TypeError, match='CombinedReward.fuse must be a bool'):
        CombinedReward([(TagCountReward(), 1.0)], fuse='yes')


def test_fused_checks_reject_what_cannot_scan_together():
    with pytest.raises(ValueError, match='two or more'):
        _FusedChecks([TagCountReward()])
    with pytest.raises(TypeError, match=r'rewards\[1\] is a FunctionReward'):
        from twinkle.reward.base import FunctionReward

        _FusedChecks([TagCountReward(), FunctionReward(_length)])
    with pytest.raises(ValueError, match=r'rewards\[1\] has another prefix'):
        _FusedChecks([TagCountReward(), TagCountReward(prefix='<think>')])


def test_pickled_combined_reward_scores_the_same():
    """Ray and multiprocessing ship rewards by pickle: the scan's compiled program is rebuilt."""
    c = CombinedReward([(_built(('tags',)), 1.0), (_built(('strict',)), 0.5), (_length, 0.01)])
    texts = ['<think>a</think><answer>1</answer>', '<think>']
    want = c(texts)
    c2 = pickle.loads(pickle.dumps(c))
    assert c2(texts) == want and c2.last_parts == c.last_parts


def test_many_patterns_past_the_filter_limit():
    """More than 64 patterns in one scan (the literal filter's limit): still each part's scores."""
    parts = [(TagCountReward([f'<t{i}>', f'</t{i}>', 'x']), 1.0) for i in range(25)]
    fused, each = CombinedReward(parts), CombinedReward(parts, fuse=False)
    texts = ['<t3></t3>x', '<t3><t3>', 'x' * 5, ''.join(f'<t{i}>' for i in range(25))]
    assert fused(texts) == each(texts) and _same_parts(fused.last_parts, each.last_parts)
    assert len(fused.fused_scans[0].specs) == 75


def test_values_are_the_part_floats_not_rounded():
    c = CombinedReward(
        [(TagCountReward(['a', 'b', 'c']), 1.0), (TagCountReward(['d', 'e', 'f', 'g', 'h', 'i', 'j']), 1.0)]
    )
    c(['ab', 'defg'])
    assert c.last_parts['TagCountReward'] == [2 / 3, 0.0]
    assert c.last_parts['TagCountReward_1'] == [0.0, 4 / 7]
    values, listed = c.fused_scans[0].part_values(['ab'])[0]
    assert values.dtype == np.float64 and values.tolist() == listed == [2 / 3]


@FEWER
@given(
    specs=st.lists(PART, min_size=2, max_size=4),
    texts=st.lists(TEXT, min_size=1, max_size=10),
    with_tokenizer=st.booleans(),
    token_path=st.sampled_from([None, True, False]),
)
def test_integration_scoring_of_fused_parts_equals_each_part(qwen, specs, texts, with_tokenizer, token_path):
    """twinkle.integrations' score (what the trainer adapters call) on a CombinedReward: its
    fused format parts score as each part alone would, on texts and on completion ids."""
    from twinkle.integrations.scoring import score, score_values

    parts = [_built(s, with_tokenizer) for s in specs] + [_length]
    fused, each = _pair(parts, [1.0, -0.5, 2.0, 0.25, 0.001][: len(parts)], 'propagate')
    if token_path and not with_tokenizer:
        token_path = None  # the format parts have no tokenizer: True would be refused for each
    ids = qwen(texts, add_special_tokens=False)['input_ids']
    for fn in (score, score_values):
        got = fn(fused, texts, completion_ids=ids, token_path=token_path)
        want = fn(each, texts, completion_ids=ids, token_path=token_path)
        assert torch.equal(torch.as_tensor(got), torch.as_tensor(want))
        assert _same_parts(fused.last_parts, each.last_parts)
    if with_tokenizer:  # ids alone: the format parts read them, the function part decodes them
        fused_ids = CombinedReward([(p, 1.0) for p in parts[:-1]])
        each_ids = CombinedReward([(p, 1.0) for p in parts[:-1]], fuse=False)
        assert torch.equal(score(fused_ids, completion_ids=ids), score(each_ids, completion_ids=ids))
