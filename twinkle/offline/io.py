"""Rows in and out of JSONL and Parquet files, with errors that name the file, row and field.

Input rows (``.jsonl``/``.json`` lines or a ``.parquet`` table, streamed) are numbered from 0;
that ``input_row`` is the key resuming and comparing go by. Output rows are the input plus
``input_row``, ``reward``, ``rewards``, ``explanation``. JSONL is appended and flushed per
chunk, so an interrupted run leaves complete lines (a partial last one is cut by
:func:`read_done`); Parquet, which cannot be appended to, is written at the end from
``OUTPUT.partial.jsonl``.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

__all__ = [
    'DataError',
    'Fields',
    'Sample',
    'RESULT_FIELDS',
    'file_format',
    'read_rows',
    'row_sample',
    'fingerprint',
    'read_done',
    'JsonlWriter',
    'iter_output',
    'write_parquet',
    'partial_path',
]

#: Fields the scorer adds to every output row.
RESULT_FIELDS = ('input_row', 'reward', 'rewards', 'explanation')


class DataError(ValueError):
    """A file or a row the scorer cannot use; the message names where and what."""


class Fields(NamedTuple):
    """Which input fields hold what (renamed with ``--completion-field`` and the like).

    Attributes:
        completion: the text to score.
        solution: the reference (ground truth); a missing or null one makes the math
            rewards abstain on that row.
        problem_id: rows with the same value are samples of one problem (pass@k, maj@k).
        prompt: the prompt, given to rewards as the user turn.
    """

    completion: str = 'completion'
    solution: str = 'solution'
    problem_id: str = 'problem_id'
    prompt: str = 'prompt'


class Sample(NamedTuple):
    """What the scorer needs from one row."""

    completion: str
    ground_truth: Any
    problem_id: Any
    prompt: Optional[str]


def file_format(path: str, given: Optional[str] = None) -> str:
    """'jsonl' or 'parquet', from ``given`` or the file's extension.

    >>> file_format('runs/a.jsonl'), file_format('b.parquet'), file_format('c.txt', 'jsonl')
    ('jsonl', 'parquet', 'jsonl')
    """
    if given:
        if given not in ('jsonl', 'parquet'):
            raise DataError(f"format must be 'jsonl' or 'parquet', got {given!r}")
        return given
    ext = os.path.splitext(path)[1].lower()
    if ext in ('.jsonl', '.json', '.ndjson'):
        return 'jsonl'
    if ext in ('.parquet', '.pq'):
        return 'parquet'
    raise DataError(
        f'{path}: cannot tell the format from the extension {ext!r}; use .jsonl or .parquet '
        '(or --input-format)'
    )


def read_rows(path: str, fmt: Optional[str] = None) -> Iterator[Tuple[int, Dict[str, Any], str]]:
    """Yields ``(input_row, row, where)`` in file order; ``where`` names the row in errors
    ('data.jsonl line 12', 'data.parquet row 11').

    Raises:
        DataError: the file is missing or unreadable, or a line is not a JSON object.
    """
    if not os.path.isfile(path):
        raise DataError(f'{path}: no such file')
    if file_format(path, fmt) == 'parquet':
        yield from _read_parquet(path)
        return
    index = 0
    with open(path, 'rb') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f'{path} line {lineno}'
            try:
                row = json.loads(line)
            except UnicodeDecodeError as e:
                raise DataError(f'{where}: not UTF-8 text ({e.reason} at byte {e.start})') from None
            except json.JSONDecodeError as e:
                raise DataError(f'{where}: not valid JSON ({e.msg} at column {e.colno})') from None
            if not isinstance(row, dict):
                raise DataError(f'{where}: expected a JSON object per line, got a {type(row).__name__}')
            yield index, row, where
            index += 1


def _read_parquet(path: str) -> Iterator[Tuple[int, Dict[str, Any], str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f'{path}: reading Parquet needs pyarrow (pip install pyarrow)') from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise DataError(f'{path}: not a readable Parquet file ({type(e).__name__}: {e})') from None
    index = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            yield index, row, f'{path} row {index}'
            index += 1


def row_sample(row: Dict[str, Any], fields: Fields, where: str) -> Sample:
    """The fields of one row the scorer needs, checked.

    >>> row_sample({'completion': 'x', 'solution': 4}, Fields(), 'a.jsonl line 1')
    Sample(completion='x', ground_truth=4, problem_id=None, prompt=None)
    >>> try:
    ...     row_sample({'text': 'x'}, Fields(), 'a.jsonl line 3')
    ... except DataError as e:
    ...     print(e)
    a.jsonl line 3: no field 'completion' (the row has: text); name the completion field with --completion-field
    """
    if fields.completion not in row:
        keys = ', '.join(sorted(row)) or 'no fields'
        raise DataError(
            f'{where}: no field {fields.completion!r} (the row has: {keys}); name the completion '
            'field with --completion-field'
        )
    completion = row[fields.completion]
    if not isinstance(completion, str):
        raise DataError(
            f'{where}: field {fields.completion!r} must be a string, got '
            f'{type(completion).__name__} {_short(completion)}'
        )
    gold = row.get(fields.solution)
    if not (gold is None or isinstance(gold, (str, int, float)) and not isinstance(gold, bool)):
        raise DataError(
            f'{where}: field {fields.solution!r} must be a string, a number or null, got '
            f'{type(gold).__name__} {_short(gold)}'
        )
    prompt = row.get(fields.prompt)
    if prompt is not None and not isinstance(prompt, str):
        raise DataError(
            f'{where}: field {fields.prompt!r} must be a string or null, got '
            f'{type(prompt).__name__} {_short(prompt)}'
        )
    problem_id = row.get(fields.problem_id)
    if isinstance(problem_id, (list, dict)):
        raise DataError(
            f'{where}: field {fields.problem_id!r} must be a string or a number, got '
            f'{type(problem_id).__name__}'
        )
    return Sample(completion, gold, problem_id, prompt)


def _short(x: Any) -> str:
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + '...'


def fingerprint(text: str) -> int:
    """A checksum of a completion, to tell that a resumed output belongs to its input.

    >>> fingerprint('abc') == fingerprint('abc') != fingerprint('abd')
    True
    """
    return zlib.crc32(text.encode('utf-8', 'surrogatepass'))


def partial_path(out: str) -> str:
    """Where a Parquet output's rows are kept while the run is in progress."""
    return out + '.partial.jsonl'


def iter_output(path: str) -> Iterator[Dict[str, Any]]:
    """The rows of a finished output (JSONL or Parquet), or of any scored file to compare."""
    for _, row, _ in read_rows(path):
        yield row


def read_done(path: str, completion_field: str) -> Tuple[Dict[int, int], Optional[List[str]]]:
    """Rows already in an output: ``{input_row: completion fingerprint}`` and the reward part
    names (None for an empty file); a partial last line is cut off the file.
    """
    if not os.path.isfile(path):
        return {}, None
    done: Dict[int, int] = {}
    parts: Optional[List[str]] = None
    if file_format(path) == 'parquet':
        rows = ((row, where) for _, row, where in read_rows(path))
    else:
        rows = _complete_lines(path)
    for row, where in rows:
        i = row.get('input_row')
        if not isinstance(i, int) or not isinstance(row.get('rewards'), dict):
            raise DataError(
                f'{where}: not a row written by twinkle score (no input_row and rewards); '
                'choose another --out or pass --restart to overwrite it'
            )
        names = list(row['rewards'])
        if parts is None:
            parts = names
        elif names != parts:
            raise DataError(f'{where}: scored with rewards {names}, earlier rows with {parts}')
        text = row.get(completion_field)
        done[i] = fingerprint(text) if isinstance(text, str) else -1
    return done, parts


def _complete_lines(path: str) -> Iterator[Tuple[Dict[str, Any], str]]:
    good_end = 0
    with open(path, 'rb+') as f:
        lineno = 0
        for line in f:
            lineno += 1
            if not line.endswith(b'\n'):
                break  # the partial last line of an interrupted write
            try:
                row = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise DataError(
                    f'{path} line {lineno}: not valid JSON; the output is damaged '
                    '(pass --restart to score it again from the start)'
                ) from None
            good_end += len(line)
            yield row, f'{path} line {lineno}'
        if f.seek(0, os.SEEK_END) != good_end:
            f.truncate(good_end)


class JsonlWriter:
    """Appends rows to a JSONL file, one write and one fsync per chunk."""

    def __init__(self, path: str, restart: bool = False):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self.path = path
        # Unbuffered: a chunk goes to the file in one write call, not in buffer-sized
        # pieces, so a kill leaves whole chunks plus at most one partial line (which
        # the next run cuts off).
        self._f = open(path, 'wb' if restart else 'ab', buffering=0)

    def write(self, rows: List[Dict[str, Any]]) -> None:
        data = ''.join(json.dumps(r, ensure_ascii=False, default=str) + '\n' for r in rows).encode('utf-8')
        view = memoryview(data)
        while view:  # a regular file takes it all at once; the loop covers a short write
            view = view[self._f.write(view) :]
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_parquet(jsonl_path: str, parquet_path: str) -> int:
    """Writes the rows of ``jsonl_path`` to ``parquet_path`` in ``input_row`` order; returns the count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted((r for _, r, _ in read_rows(jsonl_path, 'jsonl')), key=lambda r: r['input_row'])
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise DataError(
            f'{parquet_path}: the rows do not fit one Parquet schema ({e}); the results are in {jsonl_path}'
        ) from None
    tmp = parquet_path + '.tmp'
    pq.write_table(table, tmp)
    os.replace(tmp, parquet_path)  # never a half-written Parquet file under the real name
    return len(rows)
