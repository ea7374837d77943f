"""Reading rows (with errors that name the file, line and field) and writing results."""

import json

import pytest

from twinkle.offline.io import (
    DataError,
    Fields,
    JsonlWriter,
    file_format,
    read_done,
    read_rows,
    row_sample,
    write_parquet,
)


def test_jsonl_rows_are_numbered_in_order_skipping_blank_lines(tmp_path):
    p = tmp_path / 'a.jsonl'
    p.write_text('{"completion": "x"}\n\n{"completion": "y"}\n')
    assert [(i, r['completion'], w) for i, r, w in read_rows(str(p))] == [
        (0, 'x', f'{p} line 1'),
        (1, 'y', f'{p} line 3'),
    ]


# (file content, words the error must contain)
BAD_FILES = [
    ('{"completion": "x"}\n{"completion": \n', ['line 2', 'not valid JSON']),
    ('{"completion": "x"}\n[1, 2]\n', ['line 2', 'JSON object per line', 'list']),
    (b'{"completion": "\xff"}\n', ['line 1', 'not UTF-8']),
]


@pytest.mark.parametrize('content,words', BAD_FILES)
def test_bad_jsonl_names_the_line(tmp_path, content, words):
    p = tmp_path / 'bad.jsonl'
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError) as e:
        list(read_rows(str(p)))
    for w in words:
        assert w in str(e.value)


def test_missing_file_unknown_extension_and_bad_parquet(tmp_path):
    with pytest.raises(DataError, match='no such file'):
        list(read_rows(str(tmp_path / 'none.jsonl')))
    with pytest.raises(DataError, match="extension '.csv'"):
        file_format('rows.csv')
    bad = tmp_path / 'bad.parquet'
    bad.write_text('not parquet')
    with pytest.raises(DataError, match='not a readable Parquet file'):
        list(read_rows(str(bad)))


# (row, words the error must contain); Fields() defaults
BAD_ROWS = [
    ({'text': 'x'}, ["no field 'completion'", 'the row has: text', '--completion-field']),
    ({'completion': None}, ["field 'completion' must be a string", 'NoneType']),
    ({'completion': ['x']}, ["field 'completion' must be a string", 'list']),
    ({'completion': 'x', 'solution': {'a': 1}}, ["field 'solution' must be a string, a number or null"]),
    ({'completion': 'x', 'solution': True}, ["field 'solution'"]),
    ({'completion': 'x', 'prompt': 3}, ["field 'prompt' must be a string or null"]),
    ({'completion': 'x', 'problem_id': [1]}, ["field 'problem_id' must be a string or a number"]),
]


@pytest.mark.parametrize('row,words', BAD_ROWS)
def test_bad_rows_name_the_field(row, words):
    with pytest.raises(DataError) as e:
        row_sample(row, Fields(), 'f.jsonl line 7')
    assert str(e.value).startswith('f.jsonl line 7: ')
    for w in words:
        assert w in str(e.value)


def test_renamed_fields():
    s = row_sample(
        {'response': 'x', 'answer': 5, 'uid': 'p1', 'question': 'q'},
        Fields('response', 'answer', 'uid', 'question'),
        'w',
    )
    assert s == ('x', 5, 'p1', 'q')


def _scored(i, text='x'):
    return {
        'completion': text,
        'input_row': i,
        'reward': 1.0,
        'rewards': {'math': 1.0},
        'explanation': {'math': {'outcome': 'correct'}},
    }


def test_read_done_cuts_a_partial_last_line(tmp_path):
    p = tmp_path / 'out.jsonl'
    with JsonlWriter(str(p)) as w:
        w.write([_scored(0), _scored(1)])
    whole = p.read_bytes()
    p.write_bytes(whole + json.dumps(_scored(2)).encode()[:25])  # killed mid-line
    done, parts = read_done(str(p), 'completion')
    assert sorted(done) == [0, 1] and parts == ['math']
    assert p.read_bytes() == whole


def test_read_done_refuses_a_file_it_did_not_write(tmp_path):
    p = tmp_path / 'other.jsonl'
    p.write_text('{"completion": "x"}\n')
    with pytest.raises(DataError, match='not a row written by twinkle score'):
        read_done(str(p), 'completion')
    p.write_text(
        json.dumps(_scored(0)) + '\n' + json.dumps({**_scored(1), 'rewards': {'format': 1.0}}) + '\n'
    )
    with pytest.raises(DataError, match="scored with rewards \\['format'\\]"):
        read_done(str(p), 'completion')
    p.write_text('{not json}\n')
    with pytest.raises(DataError, match='line 1: not valid JSON'):
        read_done(str(p), 'completion')


def test_write_parquet_orders_rows_and_reads_back(tmp_path):
    pytest.importorskip('pyarrow')
    src = tmp_path / 'rows.jsonl'
    with JsonlWriter(str(src)) as w:
        w.write([_scored(2, 'c'), _scored(0, 'a'), _scored(1, 'b')])
    out = str(tmp_path / 'rows.parquet')
    assert write_parquet(str(src), out) == 3
    rows = [r for _, r, _ in read_rows(out)]
    assert [r['completion'] for r in rows] == ['a', 'b', 'c']
    assert rows[0]['rewards'] == {'math': 1.0}
