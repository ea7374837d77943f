"""Regex to minimal byte DFA: the host-side compiler behind the format rewards.

``compile_regex(pattern, flags, mode)`` gives a :class:`ByteDFA` that accepts a text's UTF-8
bytes exactly when ``re.<mode>`` matches the text (invalid UTF-8 read with U+FFFD, as
``decode(errors='replace')``). DFAs support union, intersection, complement and difference;
every construction is bounded by ``max_states`` and ``max_work``, past which
:class:`StateLimitError` names the pattern and the limit.
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
