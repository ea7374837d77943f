"""Where two scored files disagree: the re-scoring users do when they change a verifier.

Rows are matched by ``input_row`` when both files have it (two runs of ``twinkle score``
on the same input), else by the completion text and reference. A verdict differs when a
reward part's value differs (None, an abstention, equals only None); parts are compared
by name, or the totals (``reward``) when the other file has no parts of the same name.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from twinkle.offline.io import DataError, Fields, iter_output

__all__ = ['Difference', 'compare_rows', 'compare_files', 'format_comparison']


class Difference(dict):
    """One differing verdict: input_row, problem_id, part, ours and theirs (each a dict of
    reward, method, answer), and the end of the completion."""


def _key(row: Mapping[str, Any], fields: Fields, by_row: bool) -> Any:
    if by_row:
        return row.get('input_row')
    return (row.get(fields.completion), _text(row.get(fields.solution)))


def _text(x: Any) -> Any:
    return repr(x) if isinstance(x, float) else x


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _side(row: Mapping[str, Any], part: Optional[str]) -> Dict[str, Any]:
    if part is None:
        return {'reward': row.get('reward')}
    ex = (row.get('explanation') or {}).get(part) or {}
    side = {'reward': (row.get('rewards') or {}).get(part)}
    for k in ('outcome', 'method', 'answer'):
        if k in ex:
            side[k] = ex[k]
    return side


def compare_rows(
    ours: Iterable[Mapping[str, Any]], theirs: Iterable[Mapping[str, Any]], fields: Fields = Fields()
) -> Dict[str, Any]:
    """Compares two lists of scored rows.

    Returns:
        ``{'matched', 'only_ours', 'only_theirs', 'parts', 'differ' (count per part),
        'differences' (list of :class:`Difference`, in input order)}``.

    >>> a = [{'input_row': 0, 'completion': 'x', 'rewards': {'math': 1.0}, 'reward': 1.0}]
    >>> b = [{'input_row': 0, 'completion': 'x', 'rewards': {'math': 0.0}, 'reward': 0.0}]
    >>> r = compare_rows(a, b)
    >>> r['matched'], r['differ'], r['differences'][0]['theirs']
    (1, {'math': 1}, {'reward': 0.0})
    """
    ours, theirs = list(ours), list(theirs)
    by_row = all('input_row' in r for r in ours) and all('input_row' in r for r in theirs)
    index: Dict[Any, Mapping[str, Any]] = {}
    for r in theirs:
        index.setdefault(_key(r, fields, by_row), r)
    parts = _common_parts(ours, theirs)
    differ = {p or 'reward': 0 for p in parts}
    diffs: List[Difference] = []
    matched = 0
    for row in ours:
        other = index.pop(_key(row, fields, by_row), None)
        if other is None:
            continue
        if by_row and row.get(fields.completion) != other.get(fields.completion):
            raise DataError(
                f'input_row {row.get("input_row")}: the two files hold different completions; '
                'they were not scored from the same input'
            )
        matched += 1
        for part in parts:
            a, b = _side(row, part), _side(other, part)
            if not _same(a['reward'], b['reward']):
                differ[part or 'reward'] += 1
                diffs.append(
                    Difference(
                        input_row=row.get('input_row'),
                        problem_id=row.get(fields.problem_id),
                        part=part or 'reward',
                        ours=a,
                        theirs=b,
                        completion_end=_tail(row.get(fields.completion)),
                    )
                )
    return {
        'matched': matched,
        'only_ours': len(ours) - matched,
        'only_theirs': len(index),
        'parts': [p or 'reward' for p in parts],
        'differ': differ,
        'differences': diffs,
    }


def _common_parts(
    ours: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]
) -> List[Optional[str]]:
    def names(rows):
        for r in rows:
            if isinstance(r.get('rewards'), dict):
                return list(r['rewards'])
        return []

    common = [p for p in names(ours) if p in names(theirs)]
    if common:
        return common
    if any('reward' in r for r in theirs[:1]) and any('reward' in r for r in ours[:1]):
        return [None]  # no shared parts: compare the totals
    raise DataError(
        'the files share no reward to compare: neither a part of the same name under "rewards" '
        'nor a "reward" field'
    )


def _tail(text: Any, n: int = 60) -> Optional[str]:
    if not isinstance(text, str):
        return None
    text = ' '.join(text.split())
    return text if len(text) <= n else '...' + text[-n:]


def compare_files(ours: str, theirs: str, fields: Fields = Fields()) -> Dict[str, Any]:
    """:func:`compare_rows` on two files (JSONL or Parquet)."""
    return compare_rows(iter_output(ours), iter_output(theirs), fields)


def format_comparison(report: Mapping[str, Any], other: str, limit: int = 20) -> str:
    """The comparison as the text ``twinkle score --compare`` prints."""
    total = sum(report['differ'].values())
    per = ', '.join(f'{p}: {n}' for p, n in report['differ'].items())
    lines = [f'compared with {other}: {report["matched"]} rows matched, verdicts differ on {total} ({per})']
    if report['only_ours'] or report['only_theirs']:
        lines.append(
            f'  unmatched rows: {report["only_ours"]} only here, {report["only_theirs"]} only in {other}'
        )
    rows: List[Tuple[str, ...]] = [('input_row', 'problem_id', 'part', 'here', 'there', 'completion ends')]
    for d in report['differences'][:limit]:
        rows.append(
            (
                str(d['input_row']),
                str(d['problem_id']),
                d['part'],
                _verdict(d['ours']),
                _verdict(d['theirs']),
                d['completion_end'] or '',
            )
        )
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += ['  ' + '  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if len(report['differences']) > limit:
        lines.append(f'  ... {len(report["differences"]) - limit} more (all of them with --compare-out)')
    return '\n'.join(lines)


def _verdict(side: Mapping[str, Any]) -> str:
    r = side.get('reward')
    text = 'null' if r is None else f'{r:g}'
    if side.get('method'):
        text += f' {side["method"]}'
    if side.get('answer') is not None:
        answer = str(side['answer'])
        text += f' [{answer if len(answer) <= 24 else answer[:21] + "..."}]'
    return text
