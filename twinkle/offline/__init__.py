"""Scoring files of saved completions: ``python -m twinkle score INPUT --out OUTPUT``.

* :func:`score_file` (:mod:`twinkle.offline.run`): check every row, skip the rows an
  earlier run finished, score the rest in chunks and append them (JSONL or Parquet).
* :func:`summarize` (:mod:`twinkle.offline.summary`): per reward counts and means, and
  pass@k (unbiased) and maj@k per problem.
* :func:`compare_files` (:mod:`twinkle.offline.compare`): where two scored files disagree.
* :func:`ray_backend` (:mod:`twinkle.offline.ray_data`, needs ray[data]): the same
  scoring as a Ray Data pipeline over scorer actors.
"""

from twinkle._lazy import lazy_getattr

__all__ = ['score_file', 'summarize', 'pass_at_k', 'compare_files', 'ray_backend', 'Fields', 'DataError']

_LAZY = {
    'score_file': 'twinkle.offline.run',
    'summarize': 'twinkle.offline.summary',
    'pass_at_k': 'twinkle.offline.summary',
    'compare_files': 'twinkle.offline.compare',
    'ray_backend': 'twinkle.offline.ray_data',
    'Fields': 'twinkle.offline.io',
    'DataError': 'twinkle.offline.io',
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
