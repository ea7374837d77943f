"""The span pieces of the tensor path: named columns and bits, and the two halves that
``MathReward.score_ids`` joins (finding spans, decoding them)."""

import numpy as np
import pytest
import torch

from tests.math.test_math_reward import CharTokenizer
from twinkle.math import MathConfig
from twinkle.math.spans import (
    BOX,
    EARLIER_BOX,
    EARLIER_MARKER,
    MARK,
    MarkerTable,
    Slots,
    Spans,
    decode_answer_spans,
    find_answer_spans,
    marker_slots,
    spans_from_slots,
)
from twinkle.reward.math import MathReward


def _codes(text, width):
    return [ord(c) for c in text] + [0] * (width - len(text))


def test_slots_pack_and_unpack_name_the_same_columns():
    flags = torch.zeros(17, dtype=torch.uint8)
    flags[3] = BOX
    packed = marker_slots(torch.tensor([[5, 3, 5, 3, 0]]), torch.tensor([4]), flags, 3)
    slots = Slots.unpack(packed)
    assert slots.length.tolist() == [4]
    assert slots.at.tolist() == [[3, 1, -1]]
    assert slots.kinds.tolist()[0][:2] == [BOX, BOX]
    assert torch.equal(slots.pack(torch.cat), packed)
    assert (Slots.unpack(packed.numpy()).pack(np.concatenate) == packed.numpy()).all()


@pytest.mark.parametrize(
    'kinds,more',
    [
        # Markers in an earlier cluster: the span starts at the last cluster.
        ((MARK, MARK), EARLIER_MARKER),
        # Boxes in an earlier cluster count as markers too.
        ((BOX, BOX), EARLIER_MARKER | EARLIER_BOX),
    ],
)
def test_spans_name_what_lies_before_them(kinds, more):
    slots = np.array([[100, 80, 10, -1, *kinds, 0, 0, 0, 0]])
    spans = spans_from_slots(slots, slack=4, gap=32)
    assert isinstance(spans, Spans)
    assert [c.tolist() for c in spans] == [[76], [100], [0], [more], [100]]
    whole = spans.whole_rows()
    assert [c.tolist() for c in whole] == [[0], [100], [0], [more], [100]]


def test_no_slots_give_empty_spans():
    spans = spans_from_slots(np.array([[7], [0]]))
    assert spans.end.tolist() == [0, 0] and spans.length.tolist() == [7, 0]


def test_find_answer_spans_reads_full_rows_without_lengths():
    tok = CharTokenizer()
    texts = ['so the answer is 4', 'x']
    ids = torch.tensor([_codes(t, 18) for t in texts])
    table = MarkerTable.of(tok)
    spans, rows = find_answer_spans(ids, None, table, MathConfig())
    full, _ = find_answer_spans(ids, torch.tensor([18, 18]), table, MathConfig())
    assert [c.tolist() for c in spans] == [c.tolist() for c in full]
    assert rows.tolist() == ids.tolist()


def test_decode_answer_spans_reads_earlier_text_when_the_span_cannot_decide():
    # A span that starts at its box (scope 'prefix') is decoded again from its fallback;
    # one that the text before it cannot change is kept.
    texts = [r'x \boxed{3}', r'We compute it. So \boxed{3}']
    rows = np.array([_codes(t, 30) for t in texts])
    n = np.array([len(t) for t in texts])
    spans = Spans(np.array([2, 0]), n, np.zeros(2, np.int64), np.zeros(2, np.int64), n)
    calls = []

    def decode(lists):
        calls.append(len(lists))
        return [''.join(map(chr, ids)) for ids in lists]

    got, extractions = decode_answer_spans(rows, spans, decode)
    assert got == texts and calls == [2, 1]
    assert [e.answer for e in extractions] == ['3', '3']


def test_forward_takes_lengths_as_a_list_or_floats():
    tok = CharTokenizer()
    ids = torch.tensor([_codes('x #### 4', 8), _codes('so 5.', 8)])
    reward = MathReward(tokenizer=tok)
    want = reward.forward(ids, torch.tensor([8, 5]), ['4', '4']).tolist()
    assert reward.forward(ids, [8, 5], ['4', '4']).tolist() == want == [1.0, 0.0]
    assert reward.forward(ids, torch.tensor([8.0, 5.0]), ['4', '4']).tolist() == want
    # Lengths past L are clamped, as the span finder always did.
    assert reward.forward(ids, [9, 5], ['4', '4']).tolist() == want


def test_forward_errors_name_the_field():
    reward = MathReward(tokenizer=CharTokenizer())
    with pytest.raises(TypeError, match='input_ids'):
        reward.forward([[1, 2]], [2], ['1'])
    with pytest.raises(ValueError, match='lengths must be'):
        reward.forward(torch.zeros(2, 3, dtype=torch.long), [1], ['1', '2'])
    with pytest.raises(TypeError, match='input_ids must hold integer'):
        reward.forward(torch.zeros(1, 3), [1], ['1'])
