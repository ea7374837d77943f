"""The tensor path against the string path on the whole decoded completion.

``MathReward.score_ids`` decodes only each row's answer span (found from a per-token marker
table). Oracle: ``MathReward.explain`` on the full decoded row. Completions are labelled
cases wrapped in filler reasoning before and after, with traps for the span logic: other
markers, "answer" mentions, boxes, code fences, ``<think>`` blocks, answer tags, '<'
signs and multi-byte text; tokenized with the real Qwen3 tokenizer; span settings are
drawn too, down to sizes that force every fallback. Seeded (derandomized) hypothesis.
"""

import os

import pytest
import torch

from tests.math.labelled_cases import load_cases
from tests.math.test_math_reward import _qwen_tokenizer
from twinkle.math.spans import MarkerTable, Spans, _marker_slots_numpy, _marker_slots_torch, spans_from_slots
from twinkle.reward.math import MathReward

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CASES = load_cases()
BATCH = 8
EXAMPLES = int(os.environ.get('TWINKLE_DIFF_EXAMPLES', 300))  # x BATCH rows
pytestmark = pytest.mark.slow  # the fuzz suite: TWINKLE_DIFF_EXAMPLES sets its budget

# Reasoning placed before the completion: plain text, and traps for the span finder.
BEFORE = [
    'We start from the given data and set up the equation. ',
    'Let $a = 3$ and $b = 4$, so $a^2 + b^2 = 25$ and $\\sqrt{25} = 5$. ',
    'Next we check the constraint $2x + 1 > 0$, and 2 < 3 < 5 holds. ',
    '1234567890' * 4 + ' digits. ',
    'Ünïcödé → ✓ 数学 é. ',
    'I need to find the answer first. ',
    'Let me check if the answer is 5 by substitution. ',
    'The answer is 17. ',
    '#### 3\n',
    '## Step 2: simplify\n',
    '# Answer\n\n4\n\n',
    'Earlier I wrote \\boxed{3} but kept going. ',
    '\\boxed{1}, \\boxed{2}, ',
    '```python\nprint(2)\n```\n',
    '```\nunclosed code ',
    '<answer>9</answer> ',
    '<answer>',
    '</answer> ',
    '</think>\n',
    '\n\n',
    'Therefore, the total is $42$. ',
    'x' * 300 + '. ',
]
# Text placed after the completion.
AFTER = [
    '',
    ' ',
    '\n',
    'I double-checked the arithmetic.',
    ' Let me double-check the answer.',
    ' The answer is 3.',
    '\n\nThus we are done.',
    ' \\boxed{2}',
    '<|im_end|>',
    '</answer>',
    ' and \\boxed{7}',
    '\n```',
    ' <answer>',
    'So the answer is 8 or 9?',
]
THINK = ['', '', '<think>\n', '<think>Maybe 5.</think>\n', '<think>\\boxed{1} is wrong</think>']


@pytest.fixture(scope='module')
def tok():
    return _qwen_tokenizer()


@pytest.fixture(scope='module')
def rewards(tok):
    """One reward per span setting (reused across examples, as training would)."""
    out = {}
    for slack in (0, 2, 16):
        for gap in (0, 32):
            for tail in (4, 160):
                for slots in (2, 64):
                    out[slack, gap, tail, slots] = MathReward(
                        tokenizer=tok,
                        span_slack_tokens=slack,
                        span_gap_tokens=gap,
                        span_tail_tokens=tail,
                        span_slots=slots,
                    )
    return out


row = st.tuples(
    st.integers(0, len(CASES) - 1),
    st.sampled_from(THINK),
    st.lists(st.sampled_from(BEFORE), max_size=6),
    st.integers(0, 6),
    st.sampled_from(AFTER),
)


def _text(case, think, before, repeat, after):
    filler = ''.join(before) + BEFORE[0] * repeat
    return think + filler + case['completion'] + after


def _batch(tok, texts, pad_ragged):
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    width = max(len(e) for e in enc) + pad_ragged
    ids = torch.full((len(enc), width), tok.pad_token_id, dtype=torch.long)
    for i, e in enumerate(enc):
        ids[i, : len(e)] = torch.tensor(e, dtype=torch.long)
    return ids, torch.tensor([len(e) for e in enc])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    rows=st.lists(row, min_size=BATCH, max_size=BATCH),
    setting=st.tuples(
        st.sampled_from((0, 2, 16)),
        st.sampled_from((0, 32)),
        st.sampled_from((4, 160)),
        st.sampled_from((2, 64)),
    ),
    pad=st.integers(0, 5),
)
def test_forward_equals_the_string_path_on_the_whole_row(tok, rewards, rows, setting, pad):
    reward = rewards[setting]
    cases = [CASES[i] for i, *_ in rows]
    texts = [_text(CASES[i], th, be, rep, af) for i, th, be, rep, af in rows]
    _assert_forward_equals_strings(tok, reward, texts, [c['gold'] for c in cases], pad)


def _assert_forward_equals_strings(tok, reward, texts, golds, pad):
    """The token path gives the verdicts of ``explain`` on the decoded rows."""
    ids, lengths = _batch(tok, texts, pad)
    details = reward.explain_ids(ids, lengths, golds)
    got = reward.score_ids(ids, lengths, golds)
    full = [tok.decode(ids[i, :n].tolist(), skip_special_tokens=True) for i, n in enumerate(lengths.tolist())]
    want = reward.explain(full, golds)
    assert [v[:5] for v in details] == [v[:5] for v in want]
    assert got.tolist() == pytest.approx([v.reward for v in want], nan_ok=True)


def test_labelled_completions_through_forward(tok):
    # Every labelled completion as a row: forward agrees with the labels as the string
    # path does (a completion that ends in a special token included).
    reward = MathReward(tokenizer=tok)
    texts, golds = [c['completion'] for c in CASES], [c['gold'] for c in CASES]
    ids, lengths = _batch(tok, texts, 3)
    got = reward.forward(ids, lengths, golds).tolist()
    full = [tok.decode(ids[i, :n].tolist(), skip_special_tokens=True) for i, n in enumerate(lengths.tolist())]
    assert got == reward.score_texts(full, golds)


def test_the_qwen3_table_is_reliable(tok):
    table = MarkerTable.of(tok)
    assert table.reliable and MarkerTable.of(tok) is table
    assert table.flags.shape == (len(tok) + 1,)


@pytest.mark.parametrize('slots', [1, 3, 64])
def test_torch_and_numpy_slots_agree(tok, device, slots):
    # The device half in torch (used on accelerators) and in numpy (used on CPU) give the
    # same spans; ids outside the vocabulary and lengths past L are tolerated.
    gen = torch.Generator().manual_seed(slots)
    texts = [
        _text(
            CASES[int(torch.randint(len(CASES), (1,), generator=gen))],
            th,
            BEFORE[j : j + 3],
            1,
            AFTER[j % len(AFTER)],
        )
        for j, th in zip(range(0, 40, 2), THINK * 4)
    ]
    ids, lengths = _batch(tok, texts, 4)
    ids[0, 0] = len(tok) + 50
    ids[1, 1] = -1
    lengths[2] = ids.shape[1] + 9
    flags = MarkerTable.of(tok).flags
    clamped = lengths.clamp(0, ids.shape[1])
    k = min(slots, ids.shape[1])
    ref = spans_from_slots(_marker_slots_numpy(ids.numpy(), clamped.numpy(), flags.numpy(), k))
    dev = _marker_slots_torch(ids.to(device), clamped.to(device), flags.to(device), k)
    got = spans_from_slots(dev.cpu().numpy())
    for name in Spans._fields:
        assert (getattr(got, name) == getattr(ref, name)).all(), name


@pytest.fixture(scope='module')
def champ_cases():
    champ = pytest.importorskip('tests.math.champ')
    try:
        return [c for name in champ.SETS for c in champ.load_champ(labels=name)]
    except champ.ChampDatasetMissing as e:
        pytest.skip(str(e))


@settings(
    max_examples=max(EXAMPLES // 10, 10),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    data=st.data(),
    setting=st.tuples(
        st.sampled_from((0, 16)),
        st.sampled_from((0, 32)),
        st.sampled_from((4, 160)),
        st.sampled_from((2, 64)),
    ),
)
def test_forward_equals_the_string_path_on_real_prose(tok, rewards, champ_cases, data, setting):
    """Real model text (CHAMP, every labelled set: full responses ending in a one-sentence
    summary, and the summaries alone), whose answers are mostly plain declarative sentences."""
    idx = data.draw(st.lists(st.integers(0, len(champ_cases) - 1), min_size=BATCH, max_size=BATCH))
    _assert_forward_equals_strings(
        tok,
        rewards[setting],
        [champ_cases[i]['completion'] for i in idx],
        [champ_cases[i]['gold'] for i in idx],
        2,
    )
