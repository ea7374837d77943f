"""Regex to minimal byte DFA: the host-side compiler behind the format rewards.

``compile_regex(pattern, flags, mode)`` turns a Python regex into a :class:`ByteDFA` that accepts
the UTF-8 bytes of a text exactly when ``re.<mode>`` matches the text (invalid UTF-8 is decoded
with U+FFFD replacement, as ``bytes.decode(errors='replace')`` does). DFAs support union,
intersection, complement and difference, which the strict think/answer format uses to say "each
tag exactly once". Every construction is bounded: ``max_states`` per automaton and ``max_work``
(counted work units) per compilation, past which :class:`StateLimitError` names the pattern and
the limit.
"""

from .automaton import DEFAULT_MAX_STATES, DEFAULT_MAX_WORK, Budget, ByteDFA, StateLimitError
from .combinators import (
    THINK_ANSWER_PATTERN,
    THINK_ANSWER_TAGS,
    contains_count,
    exactly_once,
    intersect_all,
    literal_search,
    think_answer_format,
)
from .compile import compile_regex
from .regex import RegexSyntaxError, UnsupportedRegexError

__all__ = [
    'Budget',
    'ByteDFA',
    'DEFAULT_MAX_STATES',
    'DEFAULT_MAX_WORK',
    'RegexSyntaxError',
    'StateLimitError',
    'THINK_ANSWER_PATTERN',
    'THINK_ANSWER_TAGS',
    'UnsupportedRegexError',
    'compile_regex',
    'contains_count',
    'exactly_once',
    'intersect_all',
    'literal_search',
    'think_answer_format',
]
