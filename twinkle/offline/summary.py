"""What a scored file says: per reward counts and means, and pass@k / maj@k per problem.

pass@k is the unbiased estimator of Chen et al. (2021): ``1 - C(n-c, k) / C(n, k)`` for ``n``
samples of which ``c`` are correct (a correct verdict, or a reward above 0 without
verdicts), averaged over problems with ``n >= k``.

maj@k is the chance that ``k`` samples drawn without replacement elect a correct answer.
Each sample with an answer votes for it: all correct answers are one candidate, wrong ones
are told apart by normalised text, a tie goes to the earliest first vote, and a draw with no
votes fails. Exact over all draws up to ``MAJ_EXACT_DRAWS``, else estimated from that many
seeded draws (the same file always gives the same figure).
"""

from __future__ import annotations

import collections
import itertools
import math
import random
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from twinkle.serve.scorer import OUTCOMES, solved

__all__ = [
    'pass_at_k',
    'majority_correct',
    'majority_at_k',
    'default_ks',
    'Summary',
    'summarize',
    'format_summary',
]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: ``1 - C(n-c, k) / C(n, k)``, as a product exact in floats.

    >>> pass_at_k(10, 0, 1), pass_at_k(10, 10, 1), round(pass_at_k(10, 3, 1), 6)
    (0.0, 1.0, 0.3)
    >>> round(pass_at_k(4, 1, 2), 6)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    0.5
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f'pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}')
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def majority_correct(votes: Sequence[Tuple[Optional[str], bool]]) -> bool:
    """Whether the majority of ``votes`` (``(answer key or None, correct)``, in sample order) is correct.

    >>> majority_correct([('7', False), (None, False), ('5', True), ('5/1', True)])
    True
    >>> majority_correct([('7', False), ('5', True)])  # a tie: the first vote wins
    False
    """
    counts: Dict[Any, int] = collections.Counter()
    first: Dict[Any, int] = {}
    for i, (key, correct) in enumerate(votes):
        if key is None:
            continue
        cand = True if correct else ('wrong', key)
        counts[cand] += 1
        first.setdefault(cand, i)
    if not counts:
        return False
    best = min(counts, key=lambda c: (-counts[c], first[c]))
    return best is True


#: Up to this many k-subsets maj@k is exact; beyond, it averages this many seeded draws.
MAJ_EXACT_DRAWS = 256


def majority_at_k(votes: Sequence[Tuple[Optional[str], bool]], k: int, seed: int = 0) -> float:
    """maj@k of one problem: the chance that ``k`` of its samples elect a correct answer.

    >>> votes = [('5', True), ('7', False), ('7', False), (None, False)]
    >>> majority_at_k(votes, 1), majority_at_k(votes, 4)
    (0.25, 0.0)
    >>> round(majority_at_k(votes, 2), 4)  # {5,7} x2 ties (5 first), {5,None}: 3 of 6 draws
    0.5
    """
    n = len(votes)
    if not 1 <= k <= n:
        raise ValueError(f'majority_at_k needs 1 <= k <= n={n}, got k={k}')
    if math.comb(n, k) <= MAJ_EXACT_DRAWS:
        draws = list(itertools.combinations(range(n), k))
    else:
        rng = random.Random(seed)
        draws = [rng.sample(range(n), k) for _ in range(MAJ_EXACT_DRAWS)]
    return sum(majority_correct([votes[i] for i in d]) for d in draws) / len(draws)


def default_ks(max_n: int) -> List[int]:
    """Powers of two up to ``max_n``, and ``max_n`` itself.

    >>> default_ks(8), default_ks(5), default_ks(1)
    ([1, 2, 4, 8], [1, 2, 4, 5], [1])
    """
    ks, k = [], 1
    while k <= max_n:
        ks.append(k)
        k *= 2
    if max_n >= 1 and ks[-1] != max_n:
        ks.append(max_n)
    return ks


class _Part:
    __slots__ = ('rows', 'total', 'valid', 'outcomes', 'explains')  # valid: rows with a number

    def __init__(self):
        self.rows = 0
        self.total = 0.0
        self.valid = 0
        self.outcomes = {o: 0 for o in OUTCOMES}
        self.explains = False


class Summary(dict):
    """The summary as a JSON-ready dict: 'rows', 'rewards' (per part: rows, mean over the
    rows with a number, outcome counts), 'total' (mean of the weighted reward) and, with problem ids,
    'problems', 'samples_per_problem', 'pass_at_k' and 'maj_at_k' per part."""


def summarize(
    rows: Iterable[Mapping[str, Any]],
    names: Sequence[str],
    problem_field: str = 'problem_id',
    ks: Optional[Sequence[int]] = None,
) -> Summary:
    """Summarises scored rows (the output of ``twinkle score``).

    >>> rows = [{'problem_id': p, 'reward': float(ok), 'rewards': {'math': float(ok)},
    ...          'explanation': {'math': {'outcome': 'correct' if ok else 'incorrect', 'answer': a}}}
    ...         for p, ok, a in [(1, True, '2'), (1, False, '3'), (2, False, '0'), (2, False, '0')]]
    >>> s = summarize(rows, ['math'])
    >>> s['rewards']['math']['mean'], s['pass_at_k']['math'], s['maj_at_k']['math']
    (0.25, {'1': 0.25, '2': 0.5}, {'1': 0.25, '2': 0.5})
    """
    from twinkle.math import normalize

    parts = {n: _Part() for n in names}
    total, total_valid, count = 0.0, 0, 0
    groups: Dict[Any, List[Dict[str, Tuple[Optional[str], bool]]]] = collections.defaultdict(list)
    for row in rows:
        count += 1
        r = row.get('reward')
        if isinstance(r, (int, float)) and not math.isnan(r):
            total += r
            total_valid += 1
        votes = {}
        for name in names:
            value = (row.get('rewards') or {}).get(name)
            ex = (row.get('explanation') or {}).get(name) or {}
            p = parts[name]
            p.rows += 1
            if isinstance(value, (int, float)) and not math.isnan(value):
                p.total += value
                p.valid += 1
            outcome = ex.get('outcome', 'abstain')
            p.outcomes[outcome] = p.outcomes.get(outcome, 0) + 1
            p.explains = p.explains or 'answer' in ex
            answer = ex.get('answer')
            votes[name] = (
                normalize(answer) if isinstance(answer, str) else None,
                solved(outcome, value if isinstance(value, (int, float)) else math.nan),
            )
        pid = row.get(problem_field)
        if pid is not None:
            groups[pid].append(votes)
    out = Summary(
        rows=count, total={'mean': total / total_valid if total_valid else None, 'rows': total_valid}
    )
    out['rewards'] = {
        n: {'rows': p.rows, 'mean': p.total / p.valid if p.valid else None, **p.outcomes}
        for n, p in parts.items()
    }
    if groups:
        _add_problem_metrics(out, groups, parts, ks)
    return out


def _add_problem_metrics(
    out: Summary, groups, parts: Mapping[str, _Part], ks: Optional[Sequence[int]]
) -> None:
    sizes = [len(g) for g in groups.values()]
    ks = list(ks) if ks else default_ks(max(sizes))
    out['problems'] = len(groups)
    out['samples_per_problem'] = {'min': min(sizes), 'max': max(sizes)}
    out['pass_at_k'], out['maj_at_k'], out['problems_at_k'] = {}, {}, {}
    for k in ks:
        out['problems_at_k'][str(k)] = sum(1 for n in sizes if n >= k)
    for name, part in parts.items():
        passes, majs = {}, {}
        for k in ks:
            eligible = [g for g in groups.values() if len(g) >= k]
            if not eligible:
                continue
            passes[str(k)] = sum(pass_at_k(len(g), sum(v[name][1] for v in g), k) for g in eligible) / len(
                eligible
            )
            if part.explains:
                majs[str(k)] = sum(majority_at_k([v[name] for v in g], k) for g in eligible) / len(eligible)
        out['pass_at_k'][name] = passes
        if part.explains:
            out['maj_at_k'][name] = majs


def format_summary(s: Mapping[str, Any], weights: Optional[Mapping[str, float]] = None) -> str:
    """The summary as the text table ``twinkle score`` prints."""
    head = ['reward', 'weight', 'rows', 'mean', *OUTCOMES]
    table = [head]
    for name, r in s['rewards'].items():
        w = '' if weights is None else f'{weights.get(name, 1.0):g}'
        table.append([name, w, str(r['rows']), _num(r['mean']), *(str(r.get(o, 0)) for o in OUTCOMES)])
    if len(s['rewards']) > 1:
        table.append(['total', '', str(s['rows']), _num(s['total']['mean'])] + [''] * len(OUTCOMES))
    lines = [f'{s["rows"]} rows'] + _columns(table)
    if 'problems' in s:
        spp = s['samples_per_problem']
        n = f'{spp["min"]}' if spp['min'] == spp['max'] else f'{spp["min"]}-{spp["max"]}'
        lines.append(f'{s["problems"]} problems, {n} samples each (k: problems with at least k samples)')
        ks = list(s['problems_at_k'])
        table = [['', *(f'k={k} ({s["problems_at_k"][k]})' for k in ks)]]
        for name, passes in s['pass_at_k'].items():
            table.append([f'{name} pass@k', *(_num(passes.get(k)) for k in ks)])
            if name in s['maj_at_k']:
                table.append([f'{name} maj@k', *(_num(s['maj_at_k'][name].get(k)) for k in ks)])
        lines += _columns(table)
    return '\n'.join(lines)


def _num(x: Optional[float]) -> str:
    return '-' if x is None else f'{x:.4f}'


def _columns(table: List[List[str]]) -> List[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
