"""Scoring files of saved completions: ``python -m twinkle score INPUT --out OUTPUT``.

:func:`score_file` (resumable, JSONL or Parquet), :func:`summarize` (means, pass@k, maj@k),
:func:`compare_files` (where two scored files disagree) and :func:`ray_backend` (the same
scoring on Ray Data; needs ray[data]).
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
