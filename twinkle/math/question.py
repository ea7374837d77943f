"""What the question asks, when the prompt is known: the checks that need it.

Some final statements answer only certain questions: "at least one" is the answer to "at
least how many", not to "how many"; "there are no such pairs" is 0 only when pairs are
counted; "t = 1" does not answer "how many sequences" when the question never names t;
"For odd k, the sum is 0" answers only a question about odd k; an incomplete factorisation
equals the polynomial but is not the factorisation. The reward reads the prompt (the last
user message) for these cases only; without one, bounds, negations and cases score 0.0.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple, Optional

__all__ = ['Question', 'read_question', 'accepts', 'auxiliary_name', 'factor_count']

_AT_LEAST = re.compile(r'\bat\s+least\b|\bminimum\s+number\b|\bfewest\b', re.I)
_AT_MOST = re.compile(r'\bat\s+most\b|\bmaximum\s+number\b|\bgreatest\s+number\b', re.I)
_COUNT = re.compile(r'\bhow\s+many\b|\bnumber\s+of\b|\bhow\s+often\b|\bcount\s+the\b', re.I)
_WORD = re.compile(r"[A-Za-z][\w'-]*")
# Words that name nothing counted.
_STOP = frozenset(
    'the a an of or and such that which with any no not are is do does can be '
    'there in on to for by as its their this these those all'.split()
)
# "Factorize x^4+4", "Factor the polynomial", "the factorization of": not "the factor 2
# occurs" or "n+2 is a factor of".
_FACTORISE = re.compile(r'\bfactori[sz](?:e|es|ed|ing|ation)\b|(?:^|[.!?:]\s+)factor\s+(?!of\b)', re.I)
# An answer naming one unknown: "t=1", "x = -2", "\theta=\frac{\pi}{3}" (normalized text).
_NAMED = re.compile(r'\s*(\\?[A-Za-z]+)(?:_\{?\w+\}?)?\s*=\s*[^=<>]+')


class Question(NamedTuple):
    """The facts about a question that the answer checks use.

    Attributes:
        at_least: it asks for a lower bound ("At least how many ...?").
        at_most: it asks for an upper bound ("At most how many ...?").
        count: it asks for a count ("How many ...?", "the number of ...").
        factorise: it asks for a factorisation ("Factorize x^8+x^4+1 ...").
        text: the question itself.
        counted: the word stems that follow "how many" / "number of" (what is counted).
    """

    at_least: bool
    at_most: bool
    count: bool
    factorise: bool
    text: str
    counted: frozenset = frozenset()


@lru_cache(maxsize=4096)
def _read(text: str) -> Question:
    counted = set()
    for m in _COUNT.finditer(text):
        counted |= _stems(text[m.end() : m.end() + 80], 6)
    return Question(
        bool(_AT_LEAST.search(text)),
        bool(_AT_MOST.search(text)),
        bool(_COUNT.search(text)),
        bool(_FACTORISE.search(text)),
        text,
        frozenset(counted),
    )


def _stems(text: str, limit: int) -> set:
    """Lower-case word stems (plural 's' dropped) of the first ``limit`` words, less the empty words."""
    out = set()
    for w in _WORD.findall(text)[:limit]:
        w = w.lower()
        if w not in _STOP and len(w) > 1:
            out.add(w[:-1] if w.endswith('s') and len(w) > 3 else w)
    return out


def read_question(text: object) -> Optional[Question]:
    """The :class:`Question` in a prompt, or None when there is no prompt text.

    >>> q = read_question('At least how many of x, y, z must be even?')
    >>> q.at_least, q.count
    (True, True)
    >>> read_question(None) is None
    True
    """
    if not isinstance(text, str) or not text.strip():
        return None
    return _read(text[-4000:])  # the question ends the prompt; bound the regex work


def accepts(question: Optional[Question], needs: str, about: str = '') -> bool:
    """Whether an answer that needs ``needs`` (``Extraction.needs``) gives the asked value.

    An answer that needs nothing is always accepted; a negated count ("no pairs",
    ``about='pairs'``) needs a question that counts those things.

    >>> accepts(read_question('At most how many can be true?'), 'at_most')
    True
    >>> accepts(read_question('How many are true?'), 'at_most'), accepts(None, 'count')
    (False, False)
    >>> q = read_question('How many real zeros does x^2+1 have?')
    >>> accepts(q, 'count', 'real zeros'), accepts(q, 'count', 'integer coefficients')
    (True, False)
    >>> q = read_question('Find 2(1^k+2^k+...+n^k) mod n(n+1) for odd k.')
    >>> accepts(q, 'case', 'odd k'), accepts(q, 'case', 'even n')
    (True, False)
    """
    if not needs:
        return True
    if question is None:
        return False
    if needs == 'at_least':
        return question.at_least
    if needs == 'at_most':
        return question.at_most
    if needs == 'case':  # every word of the condition is the question's: "odd k"
        words = set(re.findall(r'[a-z]+|\d+', question.text.lower()))
        return set(re.findall(r'[a-z]+|\d+', about.lower())) <= words
    return question.count and (not about or bool(_stems(about, 5) & question.counted))


def auxiliary_name(question: Optional[Question], answer: str, gold: str) -> Optional[str]:
    """The unknown an equation answer names when it cannot be the asked count (a "how many"
    question that never names it, and a gold that is no equation), else None.

    >>> q = read_question('How many sequences a_0, a_1, ... satisfy a_0 = 1?')
    >>> auxiliary_name(q, 't=1', '1'), auxiliary_name(q, 'a_0 = 1', '1')
    ('t', None)
    """
    if question is None or not question.count or '=' in gold:
        return None
    m = _NAMED.fullmatch(answer)
    if not m:
        return None
    name = m.group(1)
    bare = name.lstrip('\\')
    if name.startswith('\\') or len(bare) == 1:
        pattern = r'(?<![A-Za-z\\\'])\\?' + re.escape(bare) + r'(?![A-Za-z])'
        if re.search(pattern, question.text):
            return None
        return name
    return None  # a word ("answer = 3") names no unknown


def factor_count(tree: tuple) -> int:
    """How many non-constant factors a parsed answer is written as (with multiplicity:
    ``(x+1)^2`` counts 2); 1 for anything that is not a product.

    >>> from twinkle.math.latex import parse_answer
    >>> factor_count(parse_answer('(x^2+x+1)(x^2-x+1)')), factor_count(parse_answer('2(x+1)^2'))
    (2, 2)
    """
    if tree[0] == 'expr':
        tree = tree[1]
    return max(1, _factors(tree))


def _factors(node: tuple) -> int:
    tag = node[0]
    if tag == 'neg':
        return _factors(node[1])
    if tag == 'mul':
        return sum(_factors(f) for f in node[1])
    if tag == 'div':
        return _factors(node[1]) if _constant(node[2]) else 1
    if tag == 'pow' and node[2][0] == 'num' and node[2][1].denominator == 1 and 1 <= node[2][1] <= 64:
        return int(node[2][1]) * _factors(node[1])
    return 0 if _constant(node) else 1


def _constant(node) -> bool:
    """No symbol anywhere in ``node`` (a tree node, or a tuple of nodes)."""
    if not isinstance(node, tuple) or not node:
        return True
    if node[0] == 'sym':
        return False
    items = node[1:] if isinstance(node[0], str) else node
    return all(_constant(x) for x in items)
