"""Configuration of the math checker, as a frozen (hashable, picklable) dataclass; it is part
of every cache key, so rewards with different settings never share verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['MathConfig']


@dataclass(frozen=True)
class MathConfig:
    """How answers are extracted and compared.

    Args:
        rel_tol: relative tolerance for two floating evaluations to count as the same
            number (irrational constants, the random-point identity test); exact numbers
            compare as ``fractions.Fraction``.
        approx_min_sig_digits: a decimal with at least this many significant digits is an
            approximation and matches an exact value that rounds to it (``0.333`` matches
            ``1/3``, ``3.14`` matches ``\\pi``); shorter ones must be exact.
        percent_equivalence: ``10\\%`` also matches ``10`` and ``0.1``.
        sympy_deadline_s: seconds one sample may spend in sympy workers, shared by all its
            comparisons; past it the worker is replaced and the sample scores 0.0, method
            'timeout'. Waiting for a worker and its start-up do not count.
        extraction: 'prose' (default) reads boxes, answer tags, markers and a final
            sentence that states the value; 'strict' reads boxes, answer tags and
            markers only.
        num_workers: sympy worker processes (started lazily, on first need).
        max_answer_chars: longer extracted answers are not compared (0.0).
        cache_size: entries in the verdict LRU cache.
        span_slack_tokens: token path: tokens of context decoded before the first marker
            of a row's answer span (at least 4).
        span_gap_tokens: marker tokens at most this far apart form one cluster.
        span_tail_tokens: tokens decoded from the end of a row with no marker. Spans too
            short to decide are decoded again in full: the span settings trade speed only.
        span_slots: flagged tokens kept per row on the device; a row with more of them
            after its last ``</think>`` (or with no ``</think>``) is decoded whole.

    >>> MathConfig().sympy_deadline_s
    5.0
    >>> hash(MathConfig()) == hash(MathConfig())
    True
    """

    rel_tol: float = 1e-9
    approx_min_sig_digits: int = 3
    percent_equivalence: bool = True
    sympy_deadline_s: float = 5.0
    extraction: str = 'prose'
    num_workers: int = 1
    max_answer_chars: int = 2000
    cache_size: int = 65536
    span_slack_tokens: int = 16
    span_gap_tokens: int = 32
    span_tail_tokens: int = 160
    span_slots: int = 64

    def __post_init__(self):
        if self.extraction not in ('prose', 'strict'):
            raise ValueError(f"MathConfig.extraction must be 'prose' or 'strict', got {self.extraction!r}")

    @property
    def strict(self) -> bool:
        return self.extraction == 'strict'
