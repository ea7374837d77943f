"""``python -m twinkle score`` on real files: a full run, a killed run that resumes, bad
files, Parquet, and --compare."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.offline.conftest import read_jsonl, write_jsonl
from tests.serve.helpers import ROOT
from twinkle.offline.cli import main


def twinkle_score(*args, **kwargs):
    return subprocess.run(
        [sys.executable, '-m', 'twinkle', 'score', *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, 'PYTHONPATH': ROOT},
        **kwargs,
    )


def test_score_a_file_then_resume_after_a_kill(champ_file, tmp_path):
    out = tmp_path / 'out.jsonl'
    args = [champ_file, '--out', str(out), '--reward', 'math', '--reward', 'format=0.5', '--batch-size', '40']
    proc = subprocess.Popen(
        [sys.executable, '-m', 'twinkle', 'score', *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    # Kill the run once two chunks are written (SIGKILL: no chance to clean up).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b'\n') >= 80:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = out.read_text(encoding='utf-8').splitlines()
    if len(rows) >= 880:  # the machine was too quick: make it look interrupted
        out.write_text('\n'.join(rows[:300]) + '\n' + rows[300][:40], encoding='utf-8')
    kept = out.read_bytes().count(b'\n')
    assert 80 <= kept < 880
    done = twinkle_score(*args)
    assert done.returncode == 0, done.stderr
    assert f'880 rows in {champ_file}: {880 - kept} scored now, {kept} already in' in done.stdout
    rows = read_jsonl(out)
    assert sorted(r['input_row'] for r in rows) == list(range(880))  # none lost, none twice
    # The summary: per reward, and pass@k / maj@k since rows share problem ids.
    assert 'math pass@k' in done.stdout and 'math maj@k' in done.stdout and 'format pass@k' in done.stdout
    # A fresh run gives the same verdicts.
    fresh = tmp_path / 'fresh.jsonl'
    assert (
        main([champ_file, '--out', str(fresh), '--reward', 'math', '--reward', 'format=0.5', '--no-progress'])
        == 0
    )
    assert sorted(read_jsonl(out), key=lambda r: r['input_row']) == read_jsonl(fresh)


def test_compare_reports_changed_verdicts(champ_file, tmp_path, capsys):
    out = str(tmp_path / 'new.jsonl')
    assert main([champ_file, '--out', out, '--no-progress', '--summary-json', str(tmp_path / 's.json')]) == 0
    old = read_jsonl(out)
    flipped = {5, 17, 300}
    for r in old:
        if r['input_row'] in flipped:  # another verifier's verdict on these rows
            r['rewards']['math'] = 1.0 - (r['rewards']['math'] or 0.0)
            r['explanation']['math']['method'] = 'other'
    other = write_jsonl(tmp_path / 'old.jsonl', old)
    capsys.readouterr()
    assert (
        main(
            [
                champ_file,
                '--out',
                out,
                '--no-progress',
                '--compare',
                other,
                '--compare-out',
                str(tmp_path / 'diff.jsonl'),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert 'compared with' in text and '880 rows matched, verdicts differ on 3 (math: 3)' in text
    diffs = read_jsonl(tmp_path / 'diff.jsonl')
    assert [d['input_row'] for d in diffs] == sorted(flipped)
    summary = json.load(open(tmp_path / 's.json'))
    assert summary['rows'] == 880 and summary['problems'] > 100 and '1' in summary['pass_at_k']['math']


def test_parquet_input_and_output(champ_file, tmp_path):
    pa = pytest.importorskip('pyarrow')
    import pyarrow.parquet as pq

    src = tmp_path / 'in.parquet'
    pq.write_table(pa.Table.from_pylist(read_jsonl(champ_file)[:200]), str(src))
    assert main([str(src), '--out', str(tmp_path / 'out.parquet'), '--no-progress']) == 0
    assert pq.read_table(str(tmp_path / 'out.parquet')).num_rows == 200
    assert not (tmp_path / 'out.parquet.partial.jsonl').exists()


# (file content, extra arguments, words the error must contain)
BAD = [
    ('{"completion": "x", "solution": "1"}\n{"completion": "y"\n', [], ['line 2', 'not valid JSON']),
    ('{"text": "x", "solution": "1"}\n', [], ["no field 'completion'", '--completion-field']),
    ('{"completion": "x", "answer": "1"}\n', [], ["no row has the field 'solution'", '--solution-field']),
    ('{"completion": "x", "solution": "1"}\n', ['--reward', 'mathh'], ["'mathh'"]),
    ('{"completion": "x", "solution": "1"}\n', ['--k', '0'], ['--k values must be >= 1']),
    ('', [], ['no rows']),
]


@pytest.mark.parametrize('content,extra,words', BAD)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, content, extra, words):
    src = tmp_path / 'in.jsonl'
    src.write_text(content)
    assert main([str(src), '--out', str(tmp_path / 'o.jsonl'), '--no-progress', *extra]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not (tmp_path / 'o.jsonl').exists()


def test_renamed_fields_and_progress_bar(tmp_path, capsys):
    pytest.importorskip('tqdm')
    src = write_jsonl(
        tmp_path / 'in.jsonl',
        [{'response': f'The answer is {i % 3}.', 'ref': '1', 'uid': i // 4} for i in range(12)],
    )
    assert (
        main(
            [
                src,
                '--out',
                str(tmp_path / 'o.jsonl'),
                '--completion-field',
                'response',
                '--solution-field',
                'ref',
                '--problem-id-field',
                'uid',
                '--k',
                '1,2,4',
                '--progress',
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert '12/12' in captured.err  # tqdm's bar
    assert '3 problems, 4 samples each' in captured.out
    assert 'k=4 (3)' in captured.out
