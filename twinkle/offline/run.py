"""Scoring a file: check every row, skip the rows a previous run finished, score the rest
in chunks, append them to the output.

Phases, one function each: :func:`check_input` stops at the first bad row before anything
is scored; :func:`resume_state` reads what the output holds and refuses one of another
input or set of rewards; :func:`score_file` scores the remaining rows chunk by chunk
(locally or on Ray), each written and flushed before the next, so an interruption loses
at most one chunk.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from twinkle.offline.io import (
    DataError,
    Fields,
    JsonlWriter,
    Sample,
    file_format,
    fingerprint,
    iter_output,
    partial_path,
    read_done,
    read_rows,
    row_sample,
    write_parquet,
)
from twinkle.serve.scorer import SampleScore, Scorer, as_trajectory, sample_record

__all__ = ['InputCheck', 'check_input', 'resume_state', 'ScoreRun', 'score_file', 'score_chunk']

# Rewards that read the reference: a file none of whose rows has it is a naming mistake.
_NEED_SOLUTION = ('math', 'gsm8k')

Chunk = List[Tuple[int, Dict[str, Any], Sample]]
#: A backend scores chunks: it gets an iterator of chunks and yields (chunk, results).
Backend = Callable[[Iterator[Chunk]], Iterator[Tuple[Chunk, List[SampleScore]]]]


class InputCheck(NamedTuple):
    """What the check of an input found."""

    rows: int
    fingerprints: Dict[int, int]
    with_solution: int


def check_input(path: str, fields: Fields, fmt: Optional[str] = None) -> InputCheck:
    """Reads every row of ``path`` and checks its fields (:func:`twinkle.offline.io.row_sample`).

    Raises:
        DataError: naming the first bad row and field.
    """
    fingerprints: Dict[int, int] = {}
    with_solution = 0
    for i, row, where in read_rows(path, fmt):
        sample = row_sample(row, fields, where)
        fingerprints[i] = fingerprint(sample.completion)
        with_solution += sample.ground_truth is not None
    if not fingerprints:
        raise DataError(f'{path}: no rows')
    return InputCheck(len(fingerprints), fingerprints, with_solution)


def resume_state(out: str, check: InputCheck, fields: Fields, names: Sequence[str]) -> Dict[int, int]:
    """The rows of ``out`` a previous run finished, checked against the input.

    Raises:
        DataError: the output holds rows of another input or other rewards.
    """
    done, parts = read_done(out, fields.completion)
    if parts is not None and list(parts) != list(names):
        raise DataError(
            f'{out}: scored with rewards {parts}, this run uses {list(names)}; choose another --out '
            'or pass --restart'
        )
    for i, fp in done.items():
        if check.fingerprints.get(i) != fp:
            raise DataError(
                f"{out}: its row for input_row {i} does not hold that input row's completion; it "
                'was written from another input (choose another --out or pass --restart)'
            )
    return done


def score_chunk(scorer: Scorer, chunk: Chunk) -> List[SampleScore]:
    """Scores one chunk of rows in one batched call per reward."""
    trajectories = [as_trajectory(s.completion, s.prompt) for _, _, s in chunk]
    return scorer.score(trajectories, [s.ground_truth for _, _, s in chunk])


def local_backend(scorer: Scorer) -> Backend:
    """Scores chunks in this process, one after the other."""

    def run(chunks: Iterator[Chunk]) -> Iterator[Tuple[Chunk, List[SampleScore]]]:
        for chunk in chunks:
            yield chunk, score_chunk(scorer, chunk)

    return run


def _pending_chunks(
    path: str, fmt: Optional[str], fields: Fields, done: Dict[int, int], size: int
) -> Iterator[Chunk]:
    chunk: Chunk = []
    for i, row, where in read_rows(path, fmt):
        if i in done:
            continue
        chunk.append((i, row, row_sample(row, fields, where)))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def output_row(i: int, row: Dict[str, Any], result: SampleScore) -> Dict[str, Any]:
    """The input row with the result fields (they replace input fields of those names)."""
    return {**row, 'input_row': i, **sample_record(result)}


class ScoreRun(NamedTuple):
    """What :func:`score_file` did."""

    rows: int  # rows in the input
    scored: int  # scored by this run
    resumed: int  # finished by an earlier run
    output: str


def score_file(
    input_path: str,
    out: str,
    scorer: Scorer,
    *,
    fields: Fields = Fields(),
    batch_size: int = 1024,
    input_format: Optional[str] = None,
    restart: bool = False,
    progress: Optional[bool] = None,
    backend: Optional[Backend] = None,
) -> ScoreRun:
    """Scores every row of ``input_path`` not already in ``out`` and appends it there.

    Args:
        input_path: a JSONL or Parquet file of rows.
        out: the output, ``.jsonl`` or ``.parquet``; rows a previous run wrote are kept
            and not scored again.
        scorer: the rewards.
        fields: the input's field names.
        batch_size: rows per chunk (one scoring call per reward, one write).
        input_format: 'jsonl' or 'parquet' when the extension does not tell.
        restart: discard ``out`` and score everything.
        progress: show a progress bar (default: when stderr is a terminal).
        backend: how chunks are scored (default: here, one by one).

    Returns:
        A :class:`ScoreRun`.

    >>> import json, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, 'in.jsonl'), 'w') as f:
    ...     _ = f.write(json.dumps({'completion': 'The answer is 4.', 'solution': '4'}) + '\\n')
    >>> run = score_file(os.path.join(d, 'in.jsonl'), os.path.join(d, 'out.jsonl'), Scorer(['math']))
    >>> run.scored, json.loads(open(run.output).readline())['reward']
    (1, 1.0)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size must be an int >= 1, got {batch_size!r}')
    check = check_input(input_path, fields, input_format)
    if not check.with_solution and any(s.source in _NEED_SOLUTION for s in scorer.specs):
        raise DataError(
            f'{input_path}: no row has the field {fields.solution!r} (the reference answer); name it '
            'with --solution-field'
        )
    parquet = file_format(out) == 'parquet'
    work = partial_path(out) if parquet else out
    if restart:
        for p in (out, work):
            if os.path.exists(p):
                os.remove(p)
    if parquet and os.path.exists(out) and not os.path.exists(work):
        _reopen_parquet(out, work)
    done = resume_state(work, check, fields, scorer.names)
    todo = check.rows - len([i for i in done if i in check.fingerprints])
    backend = backend or local_backend(scorer)
    bar = _progress(todo, progress)
    scored = 0
    try:
        with JsonlWriter(work) as writer:
            for chunk, results in backend(
                _pending_chunks(input_path, input_format, fields, done, batch_size)
            ):
                writer.write([output_row(i, row, r) for (i, row, _), r in zip(chunk, results)])
                scored += len(chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
    if parquet:
        write_parquet(work, out)
        os.remove(work)
    return ScoreRun(check.rows, scored, check.rows - todo, out)


def _reopen_parquet(out: str, work: str) -> None:
    # A finished Parquet output gets more rows only through its JSONL twin.
    with JsonlWriter(work, restart=True) as w:
        w.write(list(iter_output(out)))


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: Optional[bool]) -> Any:
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit='row', desc='scoring', file=sys.stderr, dynamic_ncols=True)
