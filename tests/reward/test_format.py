"""FormatReward, TagCountReward, BoxedReward and the length-shaping functions."""

import math
import pickle
import re

import pytest
import torch

from tests.dfa.test_tokens import mistral_tokenizer, qwen_tokenizer
from twinkle.reward import BoxedReward, FormatReward, Reward, TagCountReward, TokenizerRequired
from twinkle.reward.format import _DfaReward, boxed_pattern, has_think_and_answer, pad_texts
from twinkle.reward.shaping import cosine_length_scaling, soft_overlong_penalty


def _msg(text):
    return {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': text}]}


# (completion, strict default format, the lenient think/answer searches)
STRICT_CASES = [
    # well-formed
    ('<think>a</think><answer>1</answer>', 1.0, 1.0),
    ('<think>\nlong\nthought\n</think>\n\n<answer>\n42\n</answer>\n', 1.0, 1.0),
    ('<think></think><answer></answer>', 1.0, 1.0),
    ('<think>é 你好 😀</think> <answer>x</answer>  \t\n', 1.0, 1.0),
    # text outside the tags
    ('hi <think>a</think><answer>1</answer>', 0.0, 1.0),
    ('<think>a</think>text<answer>1</answer>', 0.0, 1.0),
    ('<think>a</think><answer>1</answer> done', 0.0, 1.0),
    # repeated, nested or out-of-order tags: the searches accept, strict rejects
    ('<think>a</think><think>b</think><answer>1</answer>', 0.0, 1.0),
    ('<think><think>a</think></think><answer>1</answer>', 0.0, 1.0),
    ('<think>a</think><answer>1</answer><answer>2</answer>', 0.0, 1.0),
    ('<answer>1</answer><think>a</think>', 0.0, 1.0),
    ('<think>a <answer>x</answer></think><answer>1</answer>', 0.0, 1.0),
    # missing or unclosed parts: both reject
    ('<think>a</think>', 0.0, 0.0),
    ('<answer>1</answer>', 0.0, 0.0),
    ('<think>a<answer>1</answer>', 0.0, 0.0),
    ('<think>a</think><answer>1', 0.0, 0.0),
    ('', 0.0, 0.0),
    ('<THINK>a</THINK><answer>1</answer>', 0.0, 0.0),
]


@pytest.fixture(scope='module')
def strict():
    return FormatReward()


def test_strict_default_vs_think_answer_searches(strict):
    texts = [c for c, _, _ in STRICT_CASES]
    assert strict([_msg(t) for t in texts]) == [s for _, s, _ in STRICT_CASES]
    assert has_think_and_answer([_msg(t) for t in texts]) == [s for _, _, s in STRICT_CASES]


def test_is_a_module_and_a_reward(strict):
    assert isinstance(strict, Reward) and isinstance(strict, torch.nn.Module)
    assert strict.reward_name() == 'FormatReward'
    assert FormatReward(name='fmt').reward_name() == 'fmt'
    assert strict([]) == []


def test_non_text_content_abstains(strict):
    trajs = [
        {'messages': [{'role': 'assistant', 'content': None}]},
        {'messages': [{'role': 'assistant', 'content': [{'type': 'image'}]}]},
        {'messages': []},  # no assistant message: the empty completion
        '<think>a</think><answer>1</answer>',
    ]  # a bare string is the completion
    out = strict(trajs)
    assert math.isnan(out[0]) and out[1:] == [0.0, 0.0, 1.0]


class _Text(str):
    pass


def test_bare_string_batches(strict):
    texts = ['<think>a</think><answer>1</answer>', 'no tags', '']
    want = [1.0, 0.0, 0.0]
    assert strict(texts) == want
    assert strict(tuple(texts)) == want
    assert strict([_Text(t) for t in texts]) == want  # str subclasses are text too
    # One message among bare strings: the batch takes the per-trajectory path, same values.
    mixed = [texts[0], {'messages': [{'role': 'assistant', 'content': texts[1]}]}, texts[2]]
    assert strict(mixed) == want
    out = strict(mixed + [{'messages': [{'role': 'assistant', 'content': 7}]}])
    assert out[:3] == want and math.isnan(out[3])
    both = FormatReward([r'\d', r'[a-z]'], mode='search')  # both must match
    assert both(['1a', '1', 'a', '-']) == [1.0, 0.0, 0.0, 0.0]
    each = _DfaReward([('regex', r'\d', 0, 'search'), ('regex', r'[a-z]', 0, 'search')])
    assert each(['1a', '1', 'a', '-']) == [1.0, 0.5, 0.5, 0.0]  # the fraction matched
    assert all(type(v) is float for v in each(['1a', '-']) + strict(texts))


@pytest.mark.parametrize(
    'pattern,flags',
    [
        (r'\d+', 0),
        (r'<answer>.*?</answer>', re.DOTALL),
        (r'(?i)THINK', 0),
        (r'^\s*$', re.MULTILINE),
        (r'a.c', 0),
        (r'[^\W\d]+', 0),
        (r'.', re.DOTALL),
    ],
)
@pytest.mark.parametrize('mode', ['search', 'match', 'fullmatch'])
def test_modes_mean_what_re_means(pattern, flags, mode):
    texts = [
        '',
        'abc',
        'a\nc',
        '42',
        'x 42 y',
        '<answer>1</answer>',
        'THINK think',
        '\n\n',
        'é',
        '你',
        ' \t',
        'abc\n',
        '\n',
        '<answer>\n2</answer>tail',
    ]
    got = FormatReward(pattern, mode=mode, flags=flags)(texts)
    want = [1.0 if getattr(re, mode)(pattern, t, flags) else 0.0 for t in texts]
    assert got == want


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        FormatReward('a', mode='findall')
    with pytest.raises(ValueError, match='flags'):
        FormatReward('a', flags=re.VERBOSE)
    with pytest.raises(ValueError, match='default'):
        FormatReward(mode='search')
    with pytest.raises(ValueError):
        FormatReward(r'(a)\1')  # backreference: not regular
    with pytest.raises(TokenizerRequired, match='score_ids needs a tokenizer'):
        FormatReward()(torch.zeros((1, 2), dtype=torch.long))


def test_prefix_prefilled_think():
    r = FormatReward(prefix='<think>')
    assert r(['a</think><answer>1</answer>', '<think>a</think><answer>1</answer>']) == [1.0, 0.0]
    assert r.first_invalid_position(['a</think><answer>1</answer>', '<think>']) == [-1, 6]


def test_first_invalid_position(strict):
    texts = [
        '<think>ok</think>',
        'x',
        '<think>a</think> junk',
        '你<think>',
        '<think>a</think><answer>1</answer>',
    ]
    assert strict.first_invalid_position(texts) == [-1, 0, 17, 0, -1]


def test_pad_texts():
    data, lengths = pad_texts(['', 'ab', '你'])
    assert data.dtype == torch.uint8 and data.shape == (3, 3)
    assert lengths.tolist() == [0, 2, 3] and data[2].tolist() == list('你'.encode())
    data, lengths = pad_texts([])
    assert data.shape == (0, 0) and lengths.shape == (0,)


# ---- the token path ----------------------------------------------------------------------


def _encode(tok, texts, side):
    tok.padding_side = side
    enc = tok(texts, padding=True, return_tensors='pt', add_special_tokens=False)
    return enc['input_ids'], enc['attention_mask']


@pytest.mark.parametrize('side', ['right', 'left'])
@pytest.mark.parametrize('which', ['qwen', 'mistral'])
def test_token_path_equals_string_path(which, side):
    tok = qwen_tokenizer() if which == 'qwen' else mistral_tokenizer()
    r = FormatReward(tokenizer=tok)
    texts = [c for c, _, _ in STRICT_CASES]
    ids, mask = _encode(tok, texts, side)
    got = r(ids, attention_mask=mask)
    assert got.dtype == torch.float32 and got.shape == (len(texts),)
    decoded = tok.batch_decode([i[m.bool()].tolist() for i, m in zip(ids, mask)], skip_special_tokens=True)
    assert got.tolist() == r(decoded) == [s for _, s, _ in STRICT_CASES]
    if side == 'right':
        assert torch.equal(r.forward(ids, lengths=mask.sum(1)), got)


def test_dead_positions_are_the_first_unrecoverable_token():
    tok = qwen_tokenizer()
    r = FormatReward(tokenizer=tok)
    texts = [
        '<think>a</think> junk <answer>1</answer>',
        'oops<think>',
        '<think>ok</think><answer>1</answer>',
        '<think>a</think><answer>1</answer><think>',
    ]
    ids, mask = _encode(tok, texts, 'right')
    pos = r.dead_positions(ids, attention_mask=mask).tolist()
    assert pos[2] == -1
    from twinkle.dfa import think_answer_format

    dfa = think_answer_format()
    for row, m, p in zip(ids.tolist(), mask.tolist(), pos):
        row = [i for i, k in zip(row, m) if k]
        prefixes = [tok.decode(row[: t + 1], skip_special_tokens=True).encode() for t in range(len(row))]
        dead = [dfa.run(x) == dfa.dead for x in prefixes]
        assert p == (dead.index(True) if True in dead else -1)


def test_special_and_padding_tokens_are_skipped():
    tok = qwen_tokenizer()
    r = FormatReward(tokenizer=tok)
    body = tok.encode('<think>a</think><answer>1</answer>', add_special_tokens=False)
    im_end = tok.convert_tokens_to_ids('<|im_end|>')
    ids = torch.tensor([body + [im_end, im_end], [im_end] + body + [im_end]])
    assert r(ids).tolist() == [1.0, 1.0]


def test_out_of_range_ids_raise_or_nan():
    tok = qwen_tokenizer()
    r = FormatReward(tokenizer=tok)
    ids = torch.tensor([[1, 2, 10**7], [1, 2, 3]])
    with pytest.raises(ValueError, match='out of range'):
        r(ids)
    quiet = FormatReward(tokenizer=tok, check_ids=False)
    out = quiet(ids)
    assert math.isnan(out[0]) and out[1] == 0.0
    # ids past the tokenizer but inside the model's embedding decode to nothing
    wide = FormatReward(tokenizer=tok, vocab_size=151936)
    body = tok.encode('<think>a</think><answer>1</answer>', add_special_tokens=False)
    assert wide(torch.tensor([body + [151900]])).tolist() == [1.0]


def test_torch_compile_forward_and_to_device():
    tok = qwen_tokenizer()
    r = FormatReward(tokenizer=tok)
    ids, mask = _encode(tok, [c for c, _, _ in STRICT_CASES], 'left')
    eager = r(ids, attention_mask=mask)
    compiled = torch.compile(r.forward, fullgraph=True)(ids, attention_mask=mask)
    assert torch.equal(eager, compiled)
    assert torch.equal(torch.compile(r, fullgraph=True)(ids, attention_mask=mask), eager)  # the module itself
    moved = r.to('cpu')
    assert moved.token_tables.device.type == 'cpu'
    assert {n for n, _ in r.named_buffers()} >= {'token_class_ids', 'token_tables', 'byte_tables'}
    assert r.state_dict() == {}  # derived tables are not checkpointed


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
def test_cuda_forward_matches_cpu():
    tok = qwen_tokenizer()
    r = FormatReward(tokenizer=tok)
    ids, mask = _encode(tok, [c for c, _, _ in STRICT_CASES], 'right')
    want = r(ids, attention_mask=mask)
    got = r.to('cuda')(ids.cuda(), attention_mask=mask.cuda())
    assert got.device.type == 'cuda' and torch.equal(got.cpu(), want)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
def test_cuda_score_ids_has_no_host_sync_without_check_ids():
    """On CUDA ids a format reward never waits for the device unless check_ids asks it to:
    with the mask, with lengths and with neither, one pattern and several."""
    tok = qwen_tokenizer()
    ids, mask = _encode(tok, [c for c, _, _ in STRICT_CASES], 'right')
    lengths = mask.sum(dim=1)
    rewards = [cls(tokenizer=tok, check_ids=False) for cls in (FormatReward, TagCountReward, BoxedReward)]
    calls = [dict(attention_mask=mask), dict(lengths=lengths), {}]
    want = [[r(ids, **kw) for kw in calls] for r in rewards]
    rewards = [r.to('cuda') for r in rewards]
    x = ids.cuda()
    on = [{k: v.cuda() for k, v in kw.items()} for kw in calls]
    for r in rewards:  # warm up: library load
        r(x, **on[0])
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        got = [[r(x, **kw) for kw in on] for r in rewards]
    finally:
        torch.cuda.set_sync_debug_mode('default')
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            assert a.device.type == 'cuda' and torch.equal(a.cpu(), b)


def test_pickles():
    r = FormatReward(r'\d+', mode='search')
    r2 = pickle.loads(pickle.dumps(r))
    assert r2(['a1', 'b']) == [1.0, 0.0]


# ---- backtracking killers run in linear time (a DFA step per byte) ----------------------


def test_pathological_inputs():
    r = FormatReward(r'(a+)+$', mode='match')
    assert r(['a' * 100_000 + 'b', 'a' * 100_000]) == [0.0, 1.0]
    unclosed = '<think>' * 5000 + '<answer>' * 5000
    assert FormatReward()([unclosed]) == [0.0]
    assert FormatReward(r'(?:<think>.*?</think>)+', mode='fullmatch', flags=re.DOTALL)([unclosed]) == [0.0]
    assert TagCountReward()([unclosed]) == [0.0]


# ---- tag count, boxed --------------------------------------------------------------------

# (completion, tag-count reward)
TAG_CASES = [
    ('<think>a</think><answer>1</answer>', 1.0),
    ('<think>a</think>', 0.5),
    ('<think><think></think>', 0.25),
    ('</answer>', 0.25),
    ('nothing', 0.0),
    ('<think>a</think><answer>1</answer><answer>', 0.75),
]


def test_tag_count():
    r = TagCountReward()
    assert r([c for c, _ in TAG_CASES]) == [v for _, v in TAG_CASES]
    # A per-string reference: str.count per tag.
    tags = ('<think>', '</think>', '<answer>', '</answer>')
    assert [0.25 * sum(c.count(t) == 1 for t in tags) for c, _ in TAG_CASES] == [v for _, v in TAG_CASES]


def test_tag_count_token_path():
    tok = qwen_tokenizer()
    r = TagCountReward(tokenizer=tok)
    ids, mask = _encode(tok, [c for c, _ in TAG_CASES], 'right')
    assert r(ids, attention_mask=mask).tolist() == [v for _, v in TAG_CASES]


# (completion, boxed reward with the default depth 8)
BOXED_CASES = [
    (r'\boxed{1}', 1.0),
    (r'so the answer is \boxed{\frac{1}{2}}.', 1.0),
    ('\\boxed' + '{' * 8 + 'x' + '}' * 8, 1.0),  # depth 8, counting the box's own braces
    ('\\boxed' + '{' * 9 + 'x' + '}' * 9, 0.0),  # depth 9: beyond the documented bound
    (r'\boxed{1', 0.0),
    (r'\boxed{\frac{1}{2}', 0.0),
    (r'\boxed 1', 0.0),
    (r'\boxed {2}', 1.0),
    ('no box', 0.0),
    (r'\boxed{} and \boxed{x', 1.0),
]


def test_boxed():
    r = BoxedReward()
    assert r([c for c, _ in BOXED_CASES]) == [v for _, v in BOXED_CASES]
    for c, v in BOXED_CASES:
        assert bool(re.search(boxed_pattern(8), c)) == (v == 1.0)
    assert BoxedReward(max_depth=2)([r'\boxed{\frac{1}{2}}', r'\boxed{{{x}}}']) == [1.0, 0.0]


def test_boxed_token_path():
    tok = qwen_tokenizer()
    r = BoxedReward(tokenizer=tok)
    ids, mask = _encode(tok, [c for c, _ in BOXED_CASES], 'left')
    assert r(ids, attention_mask=mask).tolist() == [v for _, v in BOXED_CASES]


# ---- length shaping --------------------------------------------------------------------


def test_soft_overlong_penalty():
    lengths = torch.tensor([0, 80, 85, 90, 99, 100, 101, 1000])
    got = soft_overlong_penalty(lengths, max_length=100, cache_length=20)
    want = [0.0 if n <= 80 else (-1.0 if n > 100 else (80 - n) / 20) for n in lengths.tolist()]
    torch.testing.assert_close(got, torch.tensor(want))
    with pytest.raises(ValueError):
        soft_overlong_penalty(lengths, 10, 20)


def test_cosine_length_scaling():
    lengths = torch.tensor([0, 50, 100, 200, 0, 50, 100])
    correct = torch.tensor([1, 1, 1, 1, 0, 0, float('nan')])
    got = cosine_length_scaling(lengths, correct, max_length=100)
    torch.testing.assert_close(got[:6], torch.tensor([1.0, 0.75, 0.5, 0.5, -1.0, -0.75]))
    assert math.isnan(got[6])


def test_list_of_patterns_is_the_think_answer_searches():
    searches = FormatReward([r'<think>.*?</think>', r'<answer>.*?</answer>'], mode='search', flags=re.DOTALL)
    texts = [c for c, _, _ in STRICT_CASES] + ['<think>\n</think>', '<answer>\n</answer><think>x</think>']
    assert searches(texts) == has_think_and_answer(texts)
    with pytest.raises(ValueError, match='empty'):
        FormatReward([])


@pytest.mark.parametrize('which', ['qwen', 'mistral'])
def test_prefix_on_the_token_path(which):
    tok = qwen_tokenizer() if which == 'qwen' else mistral_tokenizer()
    r = FormatReward(tokenizer=tok, prefix='<think>')
    texts = [
        'a</think><answer>1</answer>',
        ' a</think> <answer>1</answer>',
        '<think>a</think><answer>1</answer>',
        'a</think>',
    ]
    ids, mask = _encode(tok, texts, 'right')
    decoded = tok.batch_decode([i[m.bool()].tolist() for i, m in zip(ids, mask)], skip_special_tokens=True)
    assert r(ids, attention_mask=mask).tolist() == r(decoded) == [1.0, 1.0, 0.0, 0.0]
