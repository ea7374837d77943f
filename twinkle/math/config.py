"""Configuration of the math checker, as a frozen (hashable, picklable) dataclass.

The config is part of every cache key, so two rewards with different settings never
share verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ['MathConfig']


@dataclass(frozen=True)
class MathConfig:
    """How answers are extracted and compared.

    Args:
        rel_tol: relative tolerance for two floating evaluations to count as the same
            number (used for irrational constants and the random-point identity test).
            Exact numbers never use it: they compare as ``fractions.Fraction``.
        approx_min_sig_digits: a decimal literal with at least this many significant
            digits is treated as an approximation: it matches an exact value that
            rounds to it at the decimal's precision (``0.333`` matches ``1/3``,
            ``3.14`` matches ``\\pi``). Shorter decimals must be exact (``0.3`` is not
            ``1/3``).
        percent_equivalence: ``10\\%`` also matches ``10`` and ``0.1``.
        sympy_deadline_s: seconds one sample may spend in sympy workers, shared by
            every symbolic comparison its answer needs (a tuple's or a set's parts);
            the worker is killed and replaced when it overruns and the sample scores
            0.0 with method 'timeout'. Waiting for a free worker and a worker's
            start-up do not count.
        extraction: 'prose' (default) reads boxes, answer tags, markers and a final
            sentence that states the value; 'strict' reads boxes, answer tags and
            markers only.
        num_workers: sympy worker processes (started lazily, on first need).
        max_answer_chars: longer extracted answers are not compared (0.0).
        cache_size: entries in the verdict LRU cache.
        span_slack_tokens: on the token path, tokens of context decoded before the
            first marker of a row's answer span (at least 4: a marker's first pieces).
        span_gap_tokens: marker tokens at most this far apart form one cluster, decoded
            together (a list of boxes, a marker and a later mention of "answer").
        span_tail_tokens: tokens decoded from the end of a row with no marker, where a
            concluding sentence may hold the answer. Spans too short to decide are
            decoded again in full, so these trade speed only, never the verdict.
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
