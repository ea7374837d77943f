"""Finding the final committed answer in a completion (the "parser" stage).

Invariant: the answer is what the response commits to *last*, after the last
``</think>``. In order of preference:

1. the last ``\\boxed{...}`` / ``\\fbox{...}`` (several boxes joined only by commas or
   "and" at the very end form one list answer);
2. the last explicit marker: ``#### x``, "The (final) answer is x", ``Answer: x`` (also
   bold), a ``# Answer`` heading followed by the answer;
3. an unambiguous concluding sentence ("Therefore, the total is $42$.") when the
   response ends cleanly.

There is no "last number anywhere" fallback. A truncated response (an open ``<think>``,
an unclosed box or code fence), a hedge ("8 or 9?", "maybe 8"), a refusal or a
code-only answer gives no answer. Work is linear in the completion length; markers are
looked for only in the last ``TAIL_CHARS`` characters.
"""
from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

from twinkle.math.normalize import match_brace

__all__ = ['Extraction', 'extract_answer', 'extract_gold', 'TAIL_CHARS']

TAIL_CHARS = 50_000

_FENCE = re.compile(r'```.*?```', re.S)
_BOX_SEP = re.compile(
    r'^(?:\s|\$|\\\]|\\\[|\\\(|\\\)|,|;|and|\\text\{\s*(?:and|,)\s*\}|\\quad|\\,)*$')
_HEDGE = re.compile(r'\?|\b(?:maybe|perhaps|probably|possibly|not sure|unsure|i guess|i think|'
                    r'either|might be|could be)\b', re.I)
_OR = re.compile(r'\bor\b', re.I)
_GSM = re.compile(r'####\s*([^\n]+)')
# Markdown bold may wrap the marker ("**Answer:** 12", "**Final Answer**: 12").
_MARKER = re.compile(
    r'answer(?:\*\*|__)?\s*(?:to\s+the\s+(?:problem|question)\s*)?'
    r'(?:is|:|=|would\s+be|will\s+be|should\s+be)\s*(?:\*\*|__)?\s*:?[ \t]*(?:\*\*|__)?[ \t]*',
    re.I)
_HEADING = re.compile(
    r'\s*#+\s*(?:\*\*|__)?(?:final\s+)?answer\s*:?\s*(?:\*\*|__)?\s*:?\s*$', re.I)
_NUMBER = re.compile(r'(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w.])')
_SENTENCE_END = re.compile(r'\.(?:\s|$)|\n')
_DOLLARS = re.compile(r'\$.*?\$')
_CONDITIONAL = re.compile(r'\b(?:if|whether|suppose|assume|assuming|unless|check|verify|that)\s+'
                          r'(?:the\s+)?(?:final\s+)?$', re.I)
_CONCLUDE = re.compile(
    r'^(?:therefore|thus|so|hence|in conclusion|in total|finally|altogether|overall|'
    r'consequently|this means|which means|in summary)\b[,:]?\s*(.*)$', re.I | re.S)
_VERB = re.compile(r'\s(?:is|are|was|equals|=|gets|has|had|needs|costs|makes|earns|will have|'
                   r'will be|would be|remains?|comes to|totals?)(?=\s)', re.I)
_CLAUSE_END = re.compile(
    r'\.(?:\s|$)|\s(?:because|since|as|which|so|and\s+(?:the|this|that|we))\s')
_MATH_SPAN = re.compile(r'\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]', re.S)
_REFUSAL = re.compile(r"\b(?:i cannot|i can't|i am unable|i'm unable|i'm sorry|"
                      r"cannot be determined)\b",
                      re.I)


class Extraction(NamedTuple):
    """The result of looking for an answer.

    Attributes:
        answer: the answer text (raw LaTeX, not yet normalized), or None.
        how: 'boxed', 'gsm8k', 'marker', 'heading', 'conclusion', or why there is no
            answer: 'no_text', 'truncated', 'hedged', 'no_answer'.
    """

    answer: Optional[str]
    how: str


def _box_content(s: str, at: int) -> Optional[tuple]:
    """``(content, end)`` of the box whose command starts at ``at``; None if unclosed."""
    j = at + (6 if s.startswith('\\boxed', at) else 5)
    while j < len(s) and s[j] in ' \t':
        j += 1
    if j < len(s) and s[j] == '{':
        close = match_brace(s, j)
        if close < 0:
            return None
        return s[j + 1:close], close + 1
    m = re.match(r'[^\s$]+', s[j:])
    if not m:
        return None
    return m.group(0), j + m.end()


def _box_before(s: str, hi: int, lo: int = 0) -> int:
    """Start of the last ``\\boxed``/``\\fbox`` command starting in ``[lo, hi)``, or -1.

    One ``str.rfind`` for 'box' per candidate; no regex scan over the completion.
    """
    while True:
        i = s.rfind('box', lo, hi)
        if i < 0:
            return -1
        if i >= 1 and s.startswith('\\boxed', i - 1):
            st, j = i - 1, i + 5
        elif i >= 2 and s.startswith('\\fbox', i - 2):
            st, j = i - 2, i + 3
        else:
            hi = i
            continue
        if j >= len(s) or not s[j].isalpha():  # not \boxedfoo
            return st
        hi = i


def _last_boxes(s: str) -> Optional[Extraction]:
    start = _box_before(s, len(s))
    if start < 0:
        return None
    last = _box_content(s, start)
    if last is None:
        return Extraction(None, 'truncated')
    contents: List[str] = [last[0]]
    # Boxes joined only by separators at the end form one answer: \boxed{1}, \boxed{2}.
    nxt = start
    for _ in range(9):
        st = _box_before(s, nxt, max(0, nxt - 4000))
        if st < 0:
            break
        got = _box_content(s, st)
        if got is None or got[1] > nxt or not _BOX_SEP.match(s[got[1]:nxt]):
            break
        contents.insert(0, got[0])
        nxt = st
    if any('?' in c for c in contents):
        return Extraction(None, 'hedged')
    if len(contents) == 1:
        return Extraction(contents[0], 'boxed')
    return Extraction(', '.join(contents), 'boxed')


def _span(rest: str) -> str:
    """The answer following a marker: a leading math span, else the clause."""
    rest = rest.lstrip()
    m = _MATH_SPAN.match(rest)
    if m:
        return next(g for g in m.groups() if g is not None)
    line = rest.split('\n', 1)[0]
    cut = _CLAUSE_END.search(line)
    if cut:
        line = line[:cut.start()]
    line = line.replace('**', '') if '*' in line else line
    return line.strip().rstrip('.!').strip()


def _checked(answer: str, context: str, how: str) -> Extraction:
    if not answer or not answer.strip():
        return Extraction(None, 'no_answer')
    # "8 or 9", "$5$ or $6$": two candidates are no answer. (Inside one math span, "or"
    # joins a solution list and is parsed as one.)
    if _HEDGE.search(context) or _OR.search(_DOLLARS.sub(' ', context)):
        return Extraction(None, 'hedged')
    return Extraction(answer.strip(), how)


def _find_marker(tail: str):
    """``(plain, best)``: the window without bold marks, and the last marker in it as
    ``(position, answer, context, how)`` or None."""
    plain = tail  # bold marks are allowed for by the regexes (a replace here costs more)
    best = None  # (position, answer, context, how)
    g = plain.rfind('####')
    if g >= 0:
        m = _GSM.match(plain, g)
        if m:
            best = (g, m.group(1).strip(), m.group(1), 'gsm8k')
    # The last 'answer' that is a marker or a heading (str.rfind finds candidates; the
    # regexes run only there, which keeps long completions linear and cheap).
    lower = plain.lower()
    hi = len(lower)
    for _ in range(64):
        p = lower.rfind('answer', 0, hi)
        if p < 0 or (best is not None and p < best[0]):
            break
        hi = p
        if p > 0 and lower[p - 1].isalnum():
            continue
        ls = plain.rfind('\n', 0, p) + 1
        le = plain.find('\n', p)
        le = len(plain) if le < 0 else le
        if _HEADING.match(plain[ls:le]):
            rest = plain[le:].strip()
            if rest:
                line = rest.split('\n', 1)[0]
                best = (p, _span(line), line, 'heading')
                break
            continue
        m = _MARKER.match(plain, p)
        if not m or _CONDITIONAL.search(plain[max(0, p - 25):p]):
            continue
        rest = plain[m.end():]
        sentence_end = _SENTENCE_END.search(rest)
        context = rest[:sentence_end.start() if sentence_end else len(rest)]
        best = (p, _span(rest), context, 'marker')
        break
    return plain, best


def extract_answer(text: object) -> Extraction:
    """Finds the final committed answer of a completion.

    Args:
        text: the completion.

    Returns:
        An :class:`Extraction`; ``answer`` is None when the response commits to none.

    >>> extract_answer(r'<think>maybe 7</think> So $x=\\boxed{\\frac{1}{2}}$.').answer
    '\\\\frac{1}{2}'
    >>> extract_answer('Natalia sold 48+24 = 72 clips.\\n#### 72').answer
    '72'
    >>> extract_answer('The answer is 8 or 9?').how
    'hedged'
    >>> extract_answer('We get 5 then 6 then 7').answer is None
    True
    """
    if not isinstance(text, str):
        return Extraction(None, 'no_text')
    k = text.rfind('</think>')
    if k >= 0:
        text = text[k + len('</think>'):]
    elif text.find('<think>') >= 0:
        return Extraction(None, 'truncated')
    if '`' in text and '```' in text:
        if text.count('```') % 2 == 1:
            text = text[:text.rfind('```')]  # an unclosed code block: cut it off
        text = _FENCE.sub(' ', text)
    if not text or text.isspace():
        return Extraction(None, 'no_answer')

    boxed = _last_boxes(text)
    if boxed is not None:
        return boxed

    # Search a short window first: the last marker found there is the last overall.
    plain, best = _find_marker(text[-1500:])
    if best is None and len(text) > 1500:
        plain, best = _find_marker(text[-TAIL_CHARS:])
    if best is not None:
        return _checked(best[1], best[2], best[3])

    # A concluding sentence, only when the response ends cleanly.
    body = plain.rstrip()
    if not body or body[-1] not in '.!$]' or _REFUSAL.search(body[-300:]):
        return Extraction(None, 'no_answer')
    para = body[body.rfind('\n\n') + 1:].strip().replace('**', '')
    sentences = re.split(r'(?<=[.!])\s+(?=[A-Z$\\])', para)
    last = sentences[-1].strip()
    if len(last) > 600:  # a concluding sentence is short; also bounds the span regexes
        return Extraction(None, 'no_answer')
    m = _CONCLUDE.match(last)
    if not m:
        return Extraction(None, 'no_answer')
    clause = m.group(1).rstrip('.!').strip()
    spans = list(_MATH_SPAN.finditer(clause))
    verbs = list(_VERB.finditer(' ' + clause + ' '))
    if spans and (not verbs or spans[-1].start() >= verbs[-1].start() - 1):
        inner = next(g for g in spans[-1].groups() if g is not None)
        if clause[spans[-1].end():].strip(' .!'):
            trailing = clause[spans[-1].end():].strip(' .!')
            if re.search(r'[a-zA-Z]{2,}', trailing) and not re.fullmatch(r'[a-zA-Z ]+', trailing):
                return Extraction(None, 'no_answer')
        if '=' in inner:
            inner = inner.rsplit('=', 1)[1]
        return _checked(inner, clause, 'conclusion')
    if verbs:
        ans = (' ' + clause + ' ')[verbs[-1].end():].strip()
        if ans and len(ans) <= 60 and re.search(r'\d', ans):
            return _checked(ans, clause, 'conclusion')
    # "Therefore, James runs 540 meters a week.": one number and words is unambiguous.
    numbers = _NUMBER.findall(clause)
    if len(numbers) == 1 and '$' not in clause.replace('$' + numbers[0], ''):
        return _checked(numbers[0], clause, 'conclusion')
    return Extraction(None, 'no_answer')


def extract_gold(text: object) -> Optional[str]:
    """The answer held by a ground truth: a full solution, a GSM8K answer or a bare value.

    The last ``\\boxed{}`` of a solution, the text after ``####``, else the whole text.

    >>> extract_gold('She has 3 + 4 = 7 apples.\\n#### 7')
    '7'
    >>> extract_gold(r'so the area is $\\boxed{12\\pi}$.')
    '12\\\\pi'
    >>> extract_gold(' 0.5 ')
    '0.5'
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        return None
    if '\\boxed' in text or '\\fbox' in text:
        got = _last_boxes(text)
        if got is not None and got.answer is not None:
            return got.answer
    m = None
    for m in _GSM.finditer(text):
        pass
    if m is not None:
        return m.group(1).strip()
    return text.strip()
