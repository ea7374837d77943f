"""Comparing two scored files: matching rows, counting differing verdicts."""

import pytest

from twinkle.offline.compare import compare_rows, format_comparison
from twinkle.offline.io import DataError


def _row(i, text, math_r, method='exact', answer='1', fmt=1.0):
    return {
        'input_row': i,
        'completion': text,
        'solution': '1',
        'problem_id': f'p{i // 2}',
        'reward': None if math_r is None else math_r + 0.5 * fmt,
        'rewards': {'math': math_r, 'format': fmt},
        'explanation': {'math': {'outcome': 'x', 'method': method, 'answer': answer}, 'format': {}},
    }


def test_differences_by_part_in_input_order():
    ours = [
        _row(0, 'a', 1.0),
        _row(1, 'b', 0.0),
        _row(2, 'c', None, 'unparsable_gold'),
        _row(3, 'd', 1.0, fmt=0.0),
    ]
    theirs = [
        _row(3, 'd', 1.0, fmt=1.0),
        _row(2, 'c', None),
        _row(1, 'b', 1.0, 'symbolic'),
        _row(0, 'a', 1.0, 'numeric'),
    ]
    r = compare_rows(ours, theirs)
    assert r['matched'] == 4 and r['differ'] == {'math': 1, 'format': 1}
    assert [(d['input_row'], d['part']) for d in r['differences']] == [(1, 'math'), (3, 'format')]
    d = r['differences'][0]
    assert d['ours'] == {'reward': 0.0, 'outcome': 'x', 'method': 'exact', 'answer': '1'}
    assert d['theirs']['method'] == 'symbolic'
    text = format_comparison(r, 'old.jsonl')
    assert 'verdicts differ on 2 (math: 1, format: 1)' in text and 'symbolic' in text


def test_rows_without_input_row_match_by_text_and_totals_are_compared():
    ours = [_row(0, 'a', 1.0), _row(1, 'b', 0.0)]
    theirs = [
        {'completion': 'b', 'solution': '1', 'reward': 1.5},
        {'completion': 'a', 'solution': '1', 'reward': 1.5},
        {'completion': 'z', 'solution': '1', 'reward': 0.0},
    ]
    r = compare_rows(ours, theirs)
    assert r['parts'] == ['reward'] and r['differ'] == {'reward': 1}
    assert (r['matched'], r['only_ours'], r['only_theirs']) == (2, 0, 1)
    assert 'unmatched rows: 0 only here, 1 only in x' in format_comparison(r, 'x')


def test_files_of_different_inputs_are_refused():
    with pytest.raises(DataError, match='different completions'):
        compare_rows([_row(0, 'a', 1.0)], [_row(0, 'b', 1.0)])
    with pytest.raises(DataError, match='share no reward'):
        compare_rows([_row(0, 'a', 1.0)], [{'input_row': 0, 'completion': 'a', 'score': 1}])
