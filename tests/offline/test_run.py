"""score_file: verdicts, resuming, refusing outputs of other inputs, Parquet."""

import math

import pytest

from tests.offline.conftest import read_jsonl, write_jsonl
from twinkle.offline.io import DataError, Fields
from twinkle.offline.run import score_file
from twinkle.reward import MathReward
from twinkle.serve.scorer import Scorer


@pytest.fixture(scope='module')
def scorer():
    return Scorer(['math', 'format=0.5'])


@pytest.fixture(scope='module')
def small(champ_file, tmp_path_factory):
    rows = read_jsonl(champ_file)[:120]
    return write_jsonl(tmp_path_factory.mktemp('small') / 'small.jsonl', rows)


def test_rows_get_the_verdicts_of_a_direct_call(small, scorer, tmp_path):
    out = str(tmp_path / 'out.jsonl')
    run = score_file(small, out, scorer, batch_size=50, progress=False)
    assert (run.rows, run.scored, run.resumed) == (120, 120, 0)
    rows = read_jsonl(out)
    inputs = read_jsonl(small)
    assert [r['input_row'] for r in rows] == list(range(120))
    verdicts = MathReward().explain([r['completion'] for r in inputs], [r['solution'] for r in inputs])
    for row, src, v in zip(rows, inputs, verdicts):
        assert {k: row[k] for k in src} == src  # the input fields are kept
        ex = row['explanation']['math']
        assert (ex['method'], ex['answer'], ex['rule']) == (v.method, v.answer, v.rule)
        assert row['rewards']['math'] == (None if math.isnan(v.reward) else v.reward)


def test_resume_scores_only_the_missing_rows(small, scorer, tmp_path):
    full = str(tmp_path / 'full.jsonl')
    score_file(small, full, scorer, batch_size=40, progress=False)
    part = str(tmp_path / 'part.jsonl')
    lines = open(full, encoding='utf-8').read().splitlines(keepends=True)
    with open(part, 'w', encoding='utf-8') as f:  # 70 rows done, then a kill mid-line
        f.write(''.join(lines[:70]) + lines[70][:30])
    run = score_file(small, part, scorer, batch_size=40, progress=False)
    assert (run.scored, run.resumed) == (50, 70)
    assert open(part, encoding='utf-8').read() == open(full, encoding='utf-8').read()
    again = score_file(small, part, scorer, progress=False)
    assert (again.scored, again.resumed) == (0, 120)


def test_an_interrupted_run_resumes(small, scorer, tmp_path):
    out = str(tmp_path / 'out.jsonl')
    calls = []

    class Interrupting(Scorer):
        def score(self, trajectories, ground_truths=None):
            calls.append(len(trajectories))
            if len(calls) == 3:
                raise KeyboardInterrupt
            return super().score(trajectories, ground_truths)

    with pytest.raises(KeyboardInterrupt):
        score_file(small, out, Interrupting(['math', 'format=0.5']), batch_size=25, progress=False)
    assert len(read_jsonl(out)) == 50
    run = score_file(small, out, scorer, batch_size=25, progress=False)
    assert (run.scored, run.resumed) == (70, 50)
    assert [r['input_row'] for r in read_jsonl(out)] == list(range(120))


def test_an_output_of_another_input_or_other_rewards_is_refused(small, scorer, tmp_path):
    out = str(tmp_path / 'out.jsonl')
    score_file(small, out, scorer, progress=False)
    other = write_jsonl(
        tmp_path / 'other.jsonl', [{'completion': f'The answer is {i}.', 'solution': '1'} for i in range(5)]
    )
    with pytest.raises(DataError, match='written from another input'):
        score_file(other, out, scorer, progress=False)
    with pytest.raises(
        DataError, match="scored with rewards \\['math', 'format'\\], this run uses \\['math'\\]"
    ):
        score_file(small, out, Scorer(['math']), progress=False)
    run = score_file(other, out, Scorer(['math']), progress=False, restart=True)
    assert run.scored == 5 and len(read_jsonl(out)) == 5


def test_a_file_without_the_solution_field_is_refused(tmp_path, scorer):
    p = write_jsonl(tmp_path / 'a.jsonl', [{'completion': 'x', 'answer': '1'}])
    with pytest.raises(DataError, match="no row has the field 'solution'"):
        score_file(p, str(tmp_path / 'o.jsonl'), scorer, progress=False)
    run = score_file(p, str(tmp_path / 'o.jsonl'), scorer, fields=Fields(solution='answer'), progress=False)
    assert run.scored == 1
    # A format-only run needs no reference.
    assert score_file(p, str(tmp_path / 'f.jsonl'), Scorer(['format']), progress=False).scored == 1


def test_a_bad_row_stops_the_run_before_anything_is_written(tmp_path, scorer):
    p = tmp_path / 'a.jsonl'
    p.write_text('{"completion": "The answer is 1.", "solution": "1"}\n{"completion": 5, "solution": "1"}\n')
    out = tmp_path / 'o.jsonl'
    with pytest.raises(DataError, match="line 2: field 'completion' must be a string, got int 5"):
        score_file(str(p), str(out), scorer, progress=False)
    assert not out.exists()


def test_parquet_in_and_out_and_resume(small, scorer, tmp_path):
    pa = pytest.importorskip('pyarrow')
    import pyarrow.parquet as pq

    src = str(tmp_path / 'in.parquet')
    pq.write_table(pa.Table.from_pylist(read_jsonl(small)), src)
    out = str(tmp_path / 'out.parquet')
    run = score_file(src, out, scorer, batch_size=50, progress=False)
    table = pq.read_table(out)
    assert run.scored == 120 and table.num_rows == 120
    assert table.column('input_row').to_pylist() == list(range(120))
    jsonl = str(tmp_path / 'ref.jsonl')
    score_file(small, jsonl, scorer, progress=False)
    assert table.column('reward').to_pylist() == [r['reward'] for r in read_jsonl(jsonl)]
    assert score_file(src, out, scorer, progress=False).scored == 0
