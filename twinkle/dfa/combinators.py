"""Small DFA builders for format checks: "contains ``<think>`` exactly once" and friends.

Occurrences are counted at every start position (``b"aa"`` occurs twice in ``b"aaa"``,
unlike ``str.count``); for tags that cannot overlap themselves, such as ``<think>``, both agree.
"""

from __future__ import annotations

import numpy as np

from .automaton import ByteDFA

__all__ = [
    'literal_search',
    'contains_count',
    'exactly_once',
    'intersect_all',
    'think_answer_format',
    'THINK_ANSWER_PATTERN',
    'THINK_ANSWER_TAGS',
]


def _kmp_table(lit: bytes) -> np.ndarray:
    """Automaton of the longest prefix of ``lit`` that is a suffix of the input (states 0..n, n: a match)."""
    n = len(lit)
    t = np.zeros((n + 1, 256), dtype=np.int64)
    if n == 0:
        return t
    t[0, lit[0]] = 1
    border = 0
    for i in range(1, n + 1):
        t[i] = t[border]
        if i < n:
            t[i, lit[i]] = i + 1
            border = int(t[border, lit[i]])
    return t


def literal_search(lit: bytes) -> ByteDFA:
    """Strings that contain ``lit`` as a substring.

    >>> literal_search(b"</answer>").accepts(b"x</answer> ")
    True
    """
    return contains_count(lit, 1, at_least=True)


def contains_count(lit: bytes, n: int, *, at_least: bool = False) -> ByteDFA:
    """Strings in which ``lit`` occurs exactly ``n`` times (or at least ``n`` with ``at_least``).

    Args:
        lit: the literal, non-empty.
        n: the count, >= 0.
        at_least: count ``>= n`` instead of ``== n``.

    >>> d = contains_count(b"<think>", 1)
    >>> d.accepts(b"<think>a</think>"), d.accepts(b"<think><think>"), d.accepts(b"")
    (True, False, False)
    """
    if not lit:
        raise ValueError('the literal must be non-empty')
    if n < 0:
        raise ValueError('n must be >= 0')
    kmp = _kmp_table(lit)
    m = len(lit) + 1
    # State (count, kmp) with count saturating at n + 1 ("too many").
    cap = n + 1
    counts = np.arange(cap + 1)
    trans = np.empty(((cap + 1) * m, 256), dtype=np.int64)
    for c in counts.tolist():
        for k in range(m):
            nxt = kmp[k]
            hit = nxt == len(lit)
            c2 = np.minimum(c + hit, cap)
            trans[c * m + k] = c2 * m + nxt
    cnt = np.repeat(counts, m)
    accept = cnt >= n if at_least else cnt == n
    return ByteDFA.from_tables(trans, accept)


def exactly_once(lit: bytes | str) -> ByteDFA:
    """Strings in which ``lit`` (bytes, or str encoded as UTF-8) occurs exactly once.

    >>> exactly_once("<answer>").accepts(b"<answer>1</answer>")
    True
    """
    if isinstance(lit, str):
        lit = lit.encode('utf-8')
    return contains_count(lit, 1)


def intersect_all(dfas) -> ByteDFA:
    """Intersection of several DFAs (``any_string()`` for none).

    >>> intersect_all([exactly_once("<a>"), exactly_once("<b>")]).accepts(b"<b><a>")
    True
    """
    out = ByteDFA.any_string()
    for d in dfas:
        out = out.intersect(d)
    return out


THINK_ANSWER_PATTERN = r'<think>.*?</think>\s*<answer>.*?</answer>\s*'
THINK_ANSWER_TAGS = ('<think>', '</think>', '<answer>', '</answer>')


def think_answer_format() -> ByteDFA:
    """The strict think/answer format: ``<think>``, text, ``</think>``, optional whitespace,
    ``<answer>``, text, ``</answer>``, optional whitespace, each of the four tags exactly once
    (the regex alone would let the texts hold more tags).

    >>> d = think_answer_format()
    >>> d.accepts(b"<think>a</think> <answer>1</answer>\\n")
    True
    >>> d.accepts(b"<think><think>a</think><answer>1</answer>")
    False
    """
    import re

    from .compile import compile_regex

    base = compile_regex(THINK_ANSWER_PATTERN, re.DOTALL, 'fullmatch')
    return intersect_all([base] + [exactly_once(t) for t in THINK_ANSWER_TAGS])
