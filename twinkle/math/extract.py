"""Finding the final committed answer in a completion (the "parser" stage).

The answer is what the response commits to last, after the last ``</think>``:

1. the last ``\\boxed{...}``/``\\fbox{...}`` (boxes joined only by commas or "and" at the
   end form one list answer) or the last closed ``<answer>...</answer>`` block, whichever
   comes later; inside a block a box or marker wins, else its whole content;
2. else the last marker: ``#### x``, "The (final) answer is x", ``Answer: x``, a
   ``# Answer`` heading;
3. else an unambiguous concluding sentence ("Therefore, the total is $42$.") when the
   response ends cleanly.

There is no "last number anywhere" fallback: a truncated response (an open ``<think>``,
box, code fence or ``<answer>``), a hedge ("8 or 9?"), a refusal or code alone gives no
answer. Markers are looked for in the last ``TAIL_CHARS`` characters; work is linear.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional, Tuple

from twinkle.math.normalize import QUALIFIER, match_brace

__all__ = [
    'Extraction',
    'extract_answer',
    'extract_scoped',
    'extract_gold',
    'TAIL_CHARS',
    'ANCHORED',
    'MARKED',
    'TAIL',
    'PREFIX',
]

TAIL_CHARS = 50_000

#: Scopes of a decision (see :func:`extract_scoped`).
ANCHORED, MARKED, TAIL, PREFIX = 'anchored', 'marked', 'tail', 'prefix'
# A marker this close to the start of a span may read context (the 25-character
# conditional window, the heading's line start) that lies before the span.
_MARGIN = 32

_FENCE = re.compile(r'```.*?```', re.S)
# Between boxes that form one answer: "\\boxed{1}, \\boxed{2}", "$x = \\boxed{2}$ or
# $x = \\boxed{-2}$" (a list of solutions; "\\boxed{8} or \\boxed{9}" joins too, and a
# two-item list equals no single gold, so a hedge between boxes still scores 0).
_SEP = (
    r'(?:\s|\$|\\\]|\\\[|\\\(|\\\)|,|;|and|or|\\text\{\s*(?:and|or|,)\s*\}|\\quad|\\,|'
    r'[A-Za-z](?:_\{?\w+\}?)?\s*=)'
)
_BOX_SEP = re.compile('^' + _SEP + '*$')
_SPACE = re.compile(r'\s')
# What is left of a box whose command the span cut: 'xed{...}...', 'ed 5'.
_BOX_REST = re.compile(r'\s*[a-z]{0,5}\s*(?:\{|[^\s$]+\Z)')
# The same separators, as a suffix (run on at most 200 characters: see _could_join).
_SEP_TAIL = re.compile(_SEP + r'+\Z')
_HEDGE = re.compile(
    r'\?|\b(?:maybe|perhaps|probably|possibly|not sure|unsure|i guess|i think|'
    r'either|(?:might|could)\s+(?:also\s+|well\s+|instead\s+)?be)\b',
    re.I,
)
_OR = re.compile(r'\bor\b', re.I)
_GSM = re.compile(r'####\s*([^\n]+)')
# Markdown bold may wrap the marker ("**Answer:** 12", "**Final Answer**: 12").
_MARKER = re.compile(
    r'answer(?:\*\*|__)?\s*(?:to\s+the\s+(?:problem|question)\s*)?'
    r'(?:is|:|=|would\s+be|will\s+be|should\s+be)\s*(?:\*\*|__)?\s*:?[ \t]*(?:\*\*|__)?[ \t]*',
    re.I,
)
_HEADING = re.compile(r'\s*#+\s*(?:\*\*|__)?(?:final\s+)?answer\s*:?\s*(?:\*\*|__)?\s*:?\s*$', re.I)
_NUMBER = re.compile(r'(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w.])')
_SENTENCE_END = re.compile(r'(?<!\.\.)\.(?:\s|$)|\n')  # an ellipsis ends no sentence
_DOLLARS = re.compile(r'\$.*?\$')
_CONDITIONAL = re.compile(
    r'\b(?:if|whether|suppose|assume|assuming|unless|check|verify|that)\s+'
    r'(?:the\s+)?(?:final\s+)?$',
    re.I,
)
# A hedge just before a marker, in its sentence: "Maybe the answer is 2", "I think the final
# answer is 2", "I'm not sure, but the answer is 2".
_HEDGED_MARKER = re.compile(
    r'\b(?:maybe|perhaps|probably|possibly|i\s+(?:guess|think|believe)(?:\s+that)?),?\s+'
    r'(?:the\s+)?(?:final\s+|correct\s+)?$|\b(?:not\s+sure|unsure|uncertain)\b[^.!?\n]*$',
    re.I,
)
_CONCLUDE = re.compile(
    r'^(?:therefore|thus|so|hence|in conclusion|in total|finally|altogether|overall|'
    r'consequently|this means|which means|in summary)\b[,:]?\s*(.*)$',
    re.I | re.S,
)
_VERB = re.compile(
    r'\s(?:is|are|was|equals|=|gets|has|had|needs|costs|makes|earns|will have|'
    r'will be|would be|remains?|comes to|totals?)(?=\s)',
    re.I,
)
_CLAUSE_END = re.compile(
    r'(?<!\.\.)\.(?:\s|$)|\s(?:because|since|as|which|so|and\s+(?:the|this|that|we))\s|'
    r'\s+\((?=[a-z]{3,}\b)|,\s+not\s|,\s+where\s'
)  # "36 (because 4 x 9 = 36)", "12, not 10", "7, where n is 5"
_MATH_SPAN = re.compile(r'\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]', re.S)
_REFUSAL = re.compile(
    r"\b(?:i cannot|i can't|i am unable|i'm unable|i'm sorry|"
    r'cannot be determined)\b',
    re.I,
)
# XML-like tags and chat special tokens end a marker's text: '</answer>', '<think>',
# '<|im_end|>'. An opening tag needs a two-letter name so that 'a<b>c' stays math.
_TAG = re.compile(r'</[A-Za-z][\w-]*\s*>|<[A-Za-z][\w-]+\s*>|<\|[^<>|\n]{1,40}\|>')
_SPECIAL_END = re.compile(r'(?:<\|[^<>|\n]{1,40}\|>|</s>|<eos>|<end_of_turn>)\s*\Z')
_ANS_OPEN = re.compile(r'<answer\s*>', re.I)
_ANS_CLOSE = re.compile(r'</answer\s*>', re.I)
# Delimiters wrapping a whole answer-block content.
_WRAPPED = re.compile(
    r'\$\$([^$]*)\$\$|\$([^$]*)\$|\\\(((?:(?!\\\)).)*)\\\)|'
    r'\\\[((?:(?!\\\]).)*)\\\]',
    re.S,
)


class Extraction(NamedTuple):
    """The result of looking for an answer.

    Attributes:
        answer: the answer text (raw LaTeX, not yet normalized), or None.
        how: where it came from ('boxed', 'answer_tag', 'gsm8k', 'marker', 'heading',
            'conclusion', 'sentence'), or why there is none ('no_text', 'truncated',
            'hedged', 'no_answer').
        needs: '' or what the question must ask for the answer to be its value:
            'at_least'/'at_most' for a bound, 'count' for a negated count ("There are no
            such pairs" answers "how many ...?" with 0), 'case' for a value stated for
            one case ("For odd k, the sum is 0" answers "... for odd k?"). See
            :mod:`twinkle.math.question`.
        about: for a negated count, the words naming what it counts; for a case, its
            condition.
    """

    answer: Optional[str]
    how: str
    needs: str = ''
    about: str = ''


def _one_span(text: str, pos: int = 0) -> Optional[re.Match[str]]:
    """The math span that makes up all of ``text[pos:]``, or None (also for several spans:
    ``\\(a = 3\\), \\(b = 4\\)`` is two)."""
    m = _MATH_SPAN.match(text, pos)
    return m if m is not None and m.end() == len(text) else None


def _inside(m: re.Match[str]) -> str:
    """The text inside a match of ``_MATH_SPAN`` or ``_WRAPPED`` (its one non-empty group)."""
    return next(g for g in m.groups() if g is not None)


def _cut_tag(s: str) -> str:
    """``s`` up to its first XML-like tag or special token (a marker's text ends there)."""
    if '<' not in s:
        return s
    m = _TAG.search(s)
    return s[: m.start()] if m else s


def _box_content(s: str, at: int) -> Optional[tuple]:
    """``(content, end)`` of the box whose command starts at ``at``; None if unclosed."""
    j = at + (6 if s.startswith('\\boxed', at) else 5)
    while j < len(s) and s[j] in ' \t':
        j += 1
    if j < len(s) and s[j] == '{':
        close = match_brace(s, j)
        if close < 0:
            return None
        return s[j + 1 : close], close + 1
    m = re.match(r'[^\s$]+', s[j:])
    if not m:
        return None
    word = _cut_tag(m.group(0))  # '\boxed 4</answer>' holds 4
    if not word:
        return None
    return word, j + len(word)


def _box_before(s: str, hi: int, lo: int = 0) -> int:
    """Start of the last ``\\boxed``/``\\fbox`` command starting in ``[lo, hi)``, or -1."""
    # One str.rfind per candidate: no regex scan over the completion.
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


class _Boxes(NamedTuple):
    extraction: Extraction
    last: int  # start of the last box command
    first: int  # start of the first box joined to it
    open_end: bool  # no earlier box was found before ``first`` (the text may hold one)


def _boxes(s: str) -> Optional[_Boxes]:
    start = _box_before(s, len(s))
    if start < 0:
        return None
    last = _box_content(s, start)
    if last is None:
        return _Boxes(Extraction(None, 'truncated'), start, start, False)
    contents: List[str] = [last[0]]
    # Boxes joined only by separators at the end form one answer: \boxed{1}, \boxed{2}.
    nxt = start
    open_end = True
    for _ in range(9):
        st = _box_before(s, nxt, max(0, nxt - 4000))
        if st < 0:
            break
        open_end = False
        got = _box_content(s, st)
        if got is None or got[1] > nxt or not _BOX_SEP.match(s[got[1] : nxt]):
            break
        contents.insert(0, got[0])
        nxt = st
        open_end = True
    else:
        open_end = False
    if any('?' in c for c in contents):
        ext = Extraction(None, 'hedged')
    elif len(contents) == 1:
        ext = _box_text(contents[0]) or Extraction(contents[0], 'boxed')
    else:
        ext = Extraction(', '.join(contents), 'boxed')
    return _Boxes(ext, start, nxt, open_end)


def _box_text(content: str) -> Optional[Extraction]:
    """The value stated by a box holding a sentence, ``\\boxed{\\text{The total is } 9}``."""
    if not content.startswith('\\text') or len(content) > 300:
        return None
    plain = re.sub(r'\\(?:text|textbf|mathrm)\s*\{([^{}]*)\}', r'\1', content)
    plain = _strip_end(re.sub(r'\s+', ' ', plain))
    if len(_WORDY.findall(plain)) < 2:
        return None
    return _clause_value(plain, 'boxed')


def _last_boxes(s: str) -> Optional[Extraction]:
    got = _boxes(s)
    return None if got is None else got.extraction


def _could_join(pre: str) -> bool:
    """Whether ``pre`` (a span's text before its first joined box) may end an earlier box."""
    # Such an end is a brace-form content tail (its closing brace drives the brace count
    # negative), a brace-less one (no whitespace) or a cut command ('xed{1}', 'ed 5'), then
    # separators.
    m = _SEP_TAIL.search(pre[-200:])
    body = pre[: len(pre) - len(m.group(0))] if m else pre
    if not body.strip() or (m and len(m.group(0)) >= 200):
        return True
    if not _SPACE.search(body) or _BOX_REST.match(body):
        return True
    depth = 0
    for c in re.findall(r'[{}]', body):
        depth += 1 if c == '{' else -1
        if depth < 0:
            return True
    return False


def _span(rest: str) -> str:
    """The answer following a marker: a leading math span, else the clause."""
    rest = rest.lstrip()
    m = _MATH_SPAN.match(rest)
    if m:
        return _inside(m)
    line = rest.split('\n', 1)[0]
    cut = _CLAUSE_END.search(line)
    if cut:  # a full stop stays for _strip_end: "n!." is a factorial
        line = line[: cut.start() + cut.group(0).startswith('.')]
    line = line.replace('**', '') if '*' in line else line
    return _strip_end(line)


def _strip_end(s: str) -> str:
    """``s`` without the marks that close its sentence; a ``!`` before the full stop
    (``n!.``) is a factorial and stays."""
    s = s.strip()
    if s.endswith('!.') and len(s) > 2 and (s[-3].isalnum() or s[-3] in ')}'):
        return s[:-1]
    return s.rstrip('.!').strip()


# "x = 2 or x = -2": the solutions of an equation in one unknown, not a hedge.
_SOLUTION = re.compile(r'\s*([A-Za-z])\s*=\s*([^=,]+?)\s*')
_OR_SPLIT = re.compile(r',?\s*\bor\b\s*|,\s*')


def _solutions(answer: str) -> Optional[str]:
    """``'x = 2, x = -2'`` for "x = 2 or x = -2" (one unknown, two or more values)."""
    if not _OR.search(answer):
        return None
    parts = [
        _SOLUTION.fullmatch(p)
        for p in _OR_SPLIT.split(_DOLLARS.sub(lambda m: m.group(0)[1:-1], answer.strip()))
    ]
    if len(parts) < 2 or not all(parts) or len({m.group(1) for m in parts}) != 1:
        return None
    return ', '.join(f'{m.group(1)} = {m.group(2)}' for m in parts)


def _checked(answer: str, context: str, how: str) -> Extraction:
    if not answer or not answer.strip():
        return Extraction(None, 'no_answer')
    if _HEDGE.search(context):
        return Extraction(None, 'hedged')
    # "8 or 9", "$5$ or $6$": two candidates are no answer. (Inside one math span, "or"
    # joins a solution list and is parsed as one; so do equations in one unknown.)
    if _OR.search(_DOLLARS.sub(' ', context)):
        listed = _solutions(answer)
        if listed is None or _OR.search(_DOLLARS.sub(' ', context.replace(answer, ''))):
            return Extraction(None, 'hedged')
        return Extraction(listed, how)
    return Extraction(answer.strip(), how)


def _find_marker(tail: str, at_start: bool = False):
    """The last marker in ``tail``: ``(tail, best or None, near_start)``."""
    # near_start: the window starts the text (at_start) and a candidate lay within _MARGIN
    # of that start, so the verdict may depend on text before the window.
    plain = tail  # bold marks are allowed for by the regexes (a replace here costs more)
    best = None  # (position, answer, context, how)
    near = False
    g = plain.rfind('####')
    if g >= 0:
        m = _GSM.match(plain, g)
        if m:
            ans = _cut_tag(m.group(1))
            best = (g, ans.strip(), ans, 'gsm8k')
    # The last 'answer' that is a marker or a heading (str.rfind finds candidates; the
    # regexes run only there, which keeps long completions linear and cheap).
    lower = plain.lower()
    hi = len(lower)
    for _ in range(64):
        p = lower.rfind('answer', 0, hi)
        if p < 0 or (best is not None and p < best[0]):
            break
        hi = p
        near = near or (at_start and p < _MARGIN)
        if p > 0 and lower[p - 1].isalnum():
            continue
        ls = plain.rfind('\n', 0, p) + 1
        le = plain.find('\n', p)
        le = len(plain) if le < 0 else le
        if _HEADING.match(plain[ls:le]):
            near = near or (at_start and ls == 0)
            rest = plain[le:].strip()
            if rest:
                line = _cut_tag(rest.split('\n', 1)[0])
                best = (p, _span(line), line, 'heading')
                break
            continue
        m = _MARKER.match(plain, p)
        if not m or _CONDITIONAL.search(plain[max(0, p - 25) : p]):
            continue
        rest = _cut_tag(plain[m.end() :])
        sentence_end = _SENTENCE_END.search(rest)
        context = rest[: sentence_end.start() if sentence_end else len(rest)]
        hedged = _HEDGED_MARKER.search(plain[max(0, p - 25) : p])
        best = (p, _span(rest), context, 'hedged' if hedged else 'marker')
        break
    return plain, best, near


def _marked(best: tuple) -> Extraction:
    """The answer after a marker; for a clause ("The largest value is 2/5"), the value it states."""
    if best[3] == 'hedged':
        return Extraction(None, 'hedged')
    ext = _checked(best[1], best[2], best[3])
    if ext.answer is None or not _WORDY.search(_MATH_SPAN.sub(' ', ext.answer)):
        return ext
    return _clause_value(ext.answer, best[3]) or ext


def _clause_value(text: str, how: str) -> Optional[Extraction]:
    """The value of an answer in words: a statement, a number in words, or "3^(n-1) ways to ..."."""
    got = _statement(re.sub(r'^that\s+', '', text, flags=re.I))
    if got.answer is not None:
        return got._replace(how=how)
    words = words_to_number(text)
    if words is not None:
        return Extraction(words, how)
    # "V <words>": each word after whitespace (words that may also run together, as in
    # "(?:[A-Za-z][\w-]*\s*)+", backtrack exponentially on a text that fails at its end).
    m = re.match(r'(\S+)\s+[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)*\s*$', text)
    if (
        m
        and re.search(r'[\d\\]', m.group(1))
        and _PLAIN_VALUE.fullmatch(m.group(1))
        and not re.search(r'\d', text[m.end(1) :])
        and not QUALIFIER.search(text[m.end(1) :])  # "0 if n is even", "5 or more"
    ):
        return Extraction(m.group(1).rstrip(',;:'), how)
    return None


def _unwrap(content: str) -> str:
    """A block's content without a wrapping ``$...$``/``\\(...\\)`` or a final period."""
    ans = content.strip().rstrip('.').strip()
    m = _WRAPPED.fullmatch(ans)
    if m:
        ans = _inside(m).strip().rstrip('.').strip()
    return ans


def _answer_block(text: str):
    """``(extraction, close_end)`` of the last ``<answer>`` block, else ``(None, stray_close_tag)``."""
    lower = text.lower()
    hi = len(lower)
    while True:
        i = lower.rfind('<answer', 0, hi)
        if i < 0:
            break
        m = _ANS_OPEN.match(text, i)
        if m:
            break
        hi = i
    if i < 0:
        return None, '</answer' in lower and _ANS_CLOSE.search(text) is not None
    close = _ANS_CLOSE.search(text, m.end())
    if close is None:  # opened, never closed: the response was cut off
        return Extraction(None, 'truncated'), len(text)
    content = text[m.end() : close.start()]
    got = _boxes(content)
    if got is not None:
        ext = got.extraction
    else:
        best = _find_marker(content)[1]
        if best is not None:
            ext = _marked(best)
        else:
            ans = _unwrap(content)
            ext = _checked(ans, ans, 'answer_tag')
    if ext.answer is not None:
        ext = Extraction(ext.answer, 'answer_tag')
    return ext, close.end()


def extract_scoped(text: object, strict: bool = False) -> Tuple[Extraction, str]:
    """Finds the final committed answer, and says how much of the text decided it.

    The scope says whether the verdict holds for any longer text ending with ``text``
    (the token path decodes only a suffix of each completion):

    - ``ANCHORED``: yes, when the extra part holds no code fence;
    - ``MARKED``: yes, when it also holds no box and no ``<answer>`` tag;
    - ``TAIL``: yes, when it holds no marker of any kind;
    - ``PREFIX``: not known; the whole completion must be read.

    Args:
        text: the completion, or a suffix of it.
        strict: only boxes, ``<answer>`` blocks and markers; no sentence rules.

    Returns:
        ``(extraction, scope)``; ``extraction`` is what :func:`extract_answer` returns.

    >>> extract_scoped(r'so the sum is $\\boxed{12}$.')
    (Extraction(answer='12', how='boxed', needs='', about=''), 'anchored')
    >>> extract_scoped('Adding up, we get 12 apples.')[1]
    'prefix'
    """
    return _extract(text, True, strict)


def _extract(text: object, want_scope: bool, strict: bool = False) -> Tuple[Extraction, str]:
    """:func:`extract_scoped`; without ``want_scope`` the scope-only checks are skipped."""
    if not isinstance(text, str):
        return Extraction(None, 'no_text'), ANCHORED
    if text[-1:] == '>' or text[-1:].isspace():
        # Special tokens left at the end ('<|im_end|>', '</s>') are not text.
        while True:
            m = _SPECIAL_END.search(text[-60:])
            if not m:
                break
            text = text[: len(text) - len(m.group(0))].rstrip()
    k = text.rfind('</think>')
    if k >= 0:
        # Everything that decides is after the last </think>, which this text holds.
        return _extract_response(text[k + len('</think>') :], False, strict)[0], ANCHORED
    if text.find('<think>') >= 0:
        return Extraction(None, 'truncated'), ANCHORED
    return _extract_response(text, want_scope, strict)


def _extract_response(text: str, want_scope: bool, strict: bool = False) -> Tuple[Extraction, str]:
    """:func:`_extract` for the response after the last ``</think>``."""
    if '`' in text and '```' in text:
        # A fence's pair may lie before this text: only the whole completion tells.
        scope = PREFIX
        if text.count('```') % 2 == 1:
            text = text[: text.rfind('```')]  # an unclosed code block: cut it off
        text = _FENCE.sub(' ', text)
    else:
        scope = ''
    if not text or text.isspace():
        return Extraction(None, 'no_answer'), scope or TAIL

    block, close_end, stray = None, -1, False
    if '<' in text:
        block, extra = _answer_block(text)
        if block is None:
            stray = extra  # its opening tag may lie before this text
        else:
            close_end = extra
    boxed = _boxes(text)
    if block is not None and (boxed is None or boxed.last < close_end or block.how == 'truncated'):
        return block, scope or ANCHORED
    if boxed is not None:
        if stray and boxed.last < text.lower().rfind('</answer'):
            return boxed.extraction, PREFIX
        joinable = want_scope and boxed.open_end and _could_join(text[: boxed.first])
        scope = scope or (PREFIX if joinable else ANCHORED)
        if not strict and boxed.extraction.answer is not None:
            return _restated(text, boxed.last) or boxed.extraction, scope
        return boxed.extraction, scope
    if stray:
        scope = PREFIX

    # Search a short window first: the last marker found there is the last overall.
    plain, best, near = _find_marker(text[-1500:], len(text) <= 1500)
    if best is None and len(text) > 1500:
        plain, best, near = _find_marker(text[-TAIL_CHARS:], len(text) <= TAIL_CHARS)
    if near:
        scope = PREFIX
    if best is not None:
        got = _marked(best)
        if not strict and got.answer is not None:
            got = _restated(plain, best[0]) or got
        return got, scope or MARKED

    # A concluding sentence, only when the response ends cleanly.
    if strict:  # boxes, answer tags and markers only
        return Extraction(None, 'no_answer'), scope or TAIL
    got, early = _final_statement(plain)
    return got, scope or (PREFIX if early else TAIL)


def _final_statement(plain: str) -> Tuple[Extraction, bool]:
    """The value the last sentence states, and whether that sentence may begin before ``plain``."""
    # This reads the last sentence and the last 300 characters: a text holding both decides.
    body = plain.rstrip()
    if not body or body[-1] not in '.!$]' or _REFUSAL.search(body[-300:]):
        return Extraction(None, 'no_answer'), False
    early = len(body) < 300
    brk = body.rfind('\n\n')
    para = body[brk + 1 :].strip().replace('**', '')
    sentences = re.split(r'(?<=[.!])\s+(?=[A-Z$\\])', para)
    early = early or (brk < 0 and len(sentences) < 2)
    last = sentences[-1].strip()
    if len(last) > 600:  # a concluding sentence is short; also bounds the span regexes
        return Extraction(None, 'no_answer'), early
    m = _CONCLUDE.match(last)
    if not m:
        got = _statement(_strip_end(last))
        then = list(_THEN.finditer(last))
        if got.how == 'no_answer' and then:  # "..., so there are 100 values of n"
            hedged = _SUBJECT_HEDGE.search(last[: then[-1].start()])
            got = Extraction(None, 'hedged') if hedged else _statement(_strip_end(last[then[-1].end() :]))
        return got, early
    clause = _strip_end(m.group(1))
    got = _statement(clause)
    if got.answer is not None:
        return got._replace(how='conclusion'), early
    if got.how == 'no_answer':
        got = _conclusion(clause)
    return got, early


# A conclusion after a comma: "It holds for all n in {1, ..., 100}, so there are 100 values".
_THEN = re.compile(r',\s+(?:and\s+)?(?:so|hence|thus|therefore),?\s+(?=\w)', re.I)


def _restated(text: str, at: int) -> Optional[Extraction]:
    """A final statement in a paragraph after the box or marker at ``at``: the last commitment."""
    brk = text.find('\n\n', at)
    if brk < 0 or not text[brk:].strip():
        return None
    got, _ = _final_statement(text[brk:])
    # A bound or a negation does not override: its value depends on the question.
    if got.answer is None or got.needs:
        return None
    return got


def _conclusion(clause: str) -> Extraction:
    """The value in a sentence opened by "Therefore", "Thus", "So"..."""
    # The last math span after the verb, else a short text with a digit after the verb,
    # else the clause's only number.
    spans = list(_MATH_SPAN.finditer(clause))
    verbs = list(_VERB.finditer(' ' + clause + ' '))
    if spans and (not verbs or spans[-1].start() >= verbs[-1].start() - 1):
        inner = _inside(spans[-1])
        if clause[spans[-1].end() :].strip(' .!'):
            trailing = clause[spans[-1].end() :].strip(' .!')
            if re.search(r'[a-zA-Z]{2,}', trailing) and not re.fullmatch(r'[a-zA-Z ]+', trailing):
                return Extraction(None, 'no_answer')
        if '=' in inner:
            inner = inner.rsplit('=', 1)[1]
        return _checked(inner, clause, 'conclusion')
    if verbs:
        ans = (' ' + clause + ' ')[verbs[-1].end() :].strip()
        if ans and len(ans) <= 60 and re.search(r'\d', ans):
            return _checked(ans, clause, 'conclusion')
    # "Therefore, James runs 540 meters a week.": one number and words is unambiguous.
    numbers = _NUMBER.findall(clause)
    if len(numbers) == 1 and '$' not in clause.replace('$' + numbers[0], ''):
        return _checked(numbers[0], clause, 'conclusion')
    return Extraction(None, 'no_answer')


# --- the final statement: "The minimum value of the expression is 6." ---------------------

# The main verb of a statement, longest forms first (alternation order decides).
_STATE_VERB = re.compile(
    r'\s(?:is equal to|are equal to|is given by|are given by|can be (?:written|expressed|'
    r'factori[sz]ed|factored|simplified) as|factors as|factors into|factori[sz]es (?:as|to|into)|'
    r'simplifies to|reduces to|evaluates to|converges to|tends to|is congruent to|'
    r'are all congruent to|are all equal to|'
    r'is|are|equals|was|were|will be|would be|must be|should be|comes to|totals)\s',
    re.I,
)
_WHERE = re.compile(r'[,\s]where\s', re.I)
_SUBJECT_HEDGE = re.compile(
    r'^\s*(?:maybe|perhaps|probably|possibly)\b|\?|\b(?:not sure|unsure|unclear|uncertain|i guess|i think|'
    r'i believe)\b',
    re.I,
)
# A count stated as "There are V <things>" or "<subject> has V <things>".
_THERE = re.compile(
    r'^there\s+(?:are|is|will be|would be|exist|exists)\s+(?:exactly\s+|only\s+|just\s+|a total of\s+)?'
    r'(.+)$',
    re.I | re.S,
)
_HAS = re.compile(
    r'\s(?:has|have|had|will have|contains?|gets?|needs?|makes?|(?:will\s+)?results?\s+in|yields?|'
    r'gives?|produces?|holds?\s+(?:true\s+)?for)\s+'
    r'(?:exactly\s+|only\s+|just\s+|a total of\s+)?(.+)$',
    re.I | re.S,
)
# A bound instead of a value: "At least one of x, y, z is even", "... is at most 2".
_BOUND = re.compile(
    r'^(?:(at\s+least|no\s+fewer\s+than|not\s+fewer\s+than)|'
    r'(at\s+most|no\s+more\s+than|not\s+more\s+than)),?\s+(?:only\s+|just\s+)?(.+)$',
    re.I | re.S,
)
# "In any solution of ..., at least one of x, y, z is even", "For m in {k+3, ..., 2k}, at
# least ...": the opening phrase of a bound.
_UNIVERSAL_OPENING = re.compile(
    r'^(?:(?:in|among|across)\s+(?:any|all|every|each)\b|for\s)(?:[^,{}]|\{[^{}]*\}){0,150},\s*', re.I
)
# A count said as a negation: "There are no such pairs", "f has no real zeros", "f does
# not have any double roots", "For no value of n can f be factored".
_NO_THINGS = re.compile(r'^(?:no|not\s+any)\s+(?:such\s+)?(?=[a-z(])', re.I)
_HAS_NONE = re.compile(
    r'\s(?:has|have|had|contains?)\s+no\s+(?=[a-z(])|'
    r"\s(?:does|do|did)(?:\s+not|n't)\s+have\s+any\s+",
    re.I,
)
_FOR_NONE = re.compile(
    r'^for\s+no\s+(?=(?:values?|choices?|integers?|positive|real|natural|'
    r'[a-z]\b))',
    re.I,
)
# A contrast or concession ends the main clause: "... at most 6 roots, but it may have
# no roots" states no negated count.
_CONTRAST = re.compile(
    r',?\s+(?:but|although|though|while|whereas|yet|except|which|where|when|'
    r'if|because|since|unless)\b',
    re.I,
)
# "The factor 2 occurs n times in P(n)": a multiplicity.
_TIMES = re.compile(r'\s(?:occurs|appears)\s+(?:exactly\s+)?(\S+)\s+times\b', re.I)
# Where a subordinate clause starts after the value: ", which occurs when x = 0".
_SUBCLAUSE = re.compile(
    r',?\s+(?:which|where|when|whenever|occurring|achieved|attained|obtained|with|because|'
    r'since|as|so|for\s+all|for\s+any|for\s+every|for\s+each|if|and\s+(?:this|that|it|the)|given|'
    r'meaning)\b|,\s+i\.e\.|\s*;|\s+\((?=[a-z]{3,}\b)'
)  # a remark in brackets: "(because ...)"
# A value written in plain text: numbers, letters of variables, operators, brackets.
_PLAIN_VALUE = re.compile(r'[-+−]?[\w.,/^*()\[\]{}!√π·×+\-−′\'= ]{1,60}')
# What a value without a digit needs to be one: an operator or a function (``n!``,
# ``sqrt(a)``, ``a+b``), or to be one letter, a variable ("is n.", not the article in
# "is a." or the pronoun "I"); not a word.
_OPERATION = re.compile(r'[+\-−*/^!√π·×]|\b(?:sqrt|pi|ln|log|sin|cos|tan|exp)\b', re.I)
_VARIABLE = re.compile(r'(?![aAI])[A-Za-z]')
# The noun a value may follow: "is the interval [-1, 1]", "is given by the expression n(n-3)/2".
_NAMED = re.compile(
    r'^(?:the\s+|an?\s+)?(?:(?:closed|open|half-open)\s+)?'
    r'(?:interval|expression|formula|value|number|set|ordered\s+pairs?|pairs?|triples?|limit|'
    r'(?:binomial\s+)?coefficient|polynomial|function|sum|product|fraction|ratio|quantity|integer)\s+(?=\S)',
    re.I,
)
# A value after a noun phrase and a comma: "is the zero polynomial, $f(x) = 0$".
_APPOSITIVE = re.compile(r'(?:the|an?)\s+[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*){0,3},\s+(?=\$|\\[(\[])', re.I)
# "(x, y) = (1, 1) and (x, y) = (3, 2)": solutions as tuples, each after the unknowns.
_TUPLE_LHS = re.compile(r'\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])+\s*\)\s*=\s*')
# A value restated in brackets after its name: "n factorial (n!)" (after a space: "C(5, 2)"
# is a function's arguments; not after a negation).
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|cannot)\b|n't\b", re.I)
_RESTATED = re.compile(r'([^()]*?)\s+\(([^()]*(?:\([^()]*\)[^()]*)*)\)')
_WORDY = re.compile(r'[A-Za-z]{2,}')
_VALUE_WORDS = frozenset(
    {'sqrt', 'pi', 'and', 'mod', 'ln', 'log', 'sin', 'cos', 'tan', 'exp', 'infinity', 'inf'}
)


_SHORT_WORDS = frozenset(
    'the and for are not but all any its per one two six ten has was can may yes no of to in '
    'is at on by as or if be an we it so'.split()
)


def _value_word(word: str, plain: str) -> bool:
    """Whether a run of letters is part of a value: a function name or variables (``xy``)."""
    w = word.lower()
    if w in _VALUE_WORDS:
        return True
    return len(w) <= 3 and w not in _SHORT_WORDS and bool(re.search(r'[+\-*/^=()]', plain))


def _statement(clause: str) -> Extraction:
    """The value a final declarative sentence states, or no answer."""
    # "<subject> is V", "There are V <things>", "<subject> has V <things>", V ending the
    # main clause; anything else after the verb ("is achieved when...") is no answer.
    if not clause or len(clause) > 600:
        return Extraction(None, 'no_answer')
    # "At least one of the three numbers must be divisible by 5", also after "In any
    # solution, " (a bound is decided with the question: only an "at least how many" one).
    m = _BOUND.match(clause) or _BOUND.match(_UNIVERSAL_OPENING.sub('', clause, count=1))
    if m:
        got = _bound(m)
        return _in_case(got, clause) if got.answer is not None else got
    m = _THERE.match(clause)
    if m:
        none = _NO_THINGS.match(m.group(1))
        if none:
            return _none(m.group(1)[none.end() :])
        return _count(m.group(1), clause)
    m = _FOR_NONE.match(clause)
    if m:
        return _none(clause[m.end() :])
    congruence = _congruence(clause)
    if congruence is not None:
        return _checked(congruence, clause, 'sentence')
    # The last verb whose rest is a value: "is 0, which is achieved when a = b = c" is
    # decided by the first "is" once the second one's rest ("achieved") is no value.
    padded = ' ' + clause + ' '
    verbs = list(_STATE_VERB.finditer(padded))
    for verb in verbs[::-1][:3]:
        # An "or" or a hedge word in the subject names what is stated ("strings with
        # increasing or decreasing digits", "a (possibly degenerate) triangle"); one that
        # opens the sentence or speaks of the writer ("Maybe the sum is", "I think") hedges.
        rest = padded[verb.end() :]
        subject = padded[: verb.start()]
        hedged = _SUBJECT_HEDGE.search(subject)
        got = _value(rest, clause if hedged else rest)
        # a lone letter only after the main verb: "is 0, which holds when a equals b"; no
        # value from a definition after it ("is 7, where n is 5"; one closed by a comma
        # before the verb is the subject's: "The remainder, where p(x) = ..., is 7")
        if (
            verb is not verbs[0]
            and got.answer is not None
            and (
                _VARIABLE.fullmatch(got.answer)
                or (
                    _WHERE.search(padded, verbs[0].end(), verb.start())
                    and not padded[: verb.start()].rstrip().endswith(',')
                )
            )
        ):
            continue
        got = _in_case(got, subject)
        if got.answer is not None or got.how == 'hedged':
            return _not_restated(_named_side(got, subject), subject)
    cut = _CONTRAST.search(clause)
    main = clause[: cut.start()] if cut else clause
    m = _HAS_NONE.search(main)
    if m:
        return _none(main[m.end() :])
    m = _HAS.search(clause)
    if m:
        got = _in_case(_count(m.group(1), clause), clause[: m.start()])
        return _not_restated(got, clause[: m.start()])
    m = _TIMES.search(clause)
    if m:  # a single letter is a value here ("n times"), unlike after "is"
        v = m.group(1)
        if re.fullmatch(r'[A-Za-z]', v):
            return _checked(v, v, 'sentence')
        return _value(v, v)
    return Extraction(None, 'no_answer')


def _named_side(got: Extraction, subject: str) -> Extraction:
    """The right side of an equation whose left side the subject names: "The expression
    for x^2 + y^2 is x^2 + y^2 = (a^3 + 2b)/(3a)"."""
    if got.answer is None or got.answer.count('=') != 1:
        return got
    lhs, rhs = (re.sub(r'\s', '', side) for side in got.answer.split('='))
    if len(lhs) > 1 and rhs and lhs in re.sub(r'\s', '', subject):
        return got._replace(answer=got.answer.split('=')[1].strip())
    return got


def _not_restated(got: Extraction, subject: str) -> Extraction:
    """No answer when the number ends a range in the subject ("{1, ..., 100} has 100 elements")."""
    if (
        got.answer is not None
        and got.answer.isdigit()
        and re.search(r'(?:\.\.\.|…|\\ldots|\\dots|\\cdots)\s*,?\s*' + got.answer + r'(?![\w.])', subject)
    ):
        return Extraction(None, 'no_answer')
    return got


def _none(things: str) -> Extraction:
    """The count 0 of a negation, with the words naming what it counts."""
    words = re.findall(r"[A-Za-z][\w'-]*", _MATH_SPAN.sub(' ', things))[:5]
    return Extraction('0', 'sentence', 'count', ' '.join(words))


def _bound(m: re.Match[str]) -> Extraction:
    """The value of a bound ("at least one of ..."), marked with the question it needs."""
    # Only the number is the hedge check's context: "one of x, y, or z" is no hedge.
    head = m.group(3).split(' of ', 1)[0]
    got = _count(m.group(3), head)
    if got.answer is None:
        got = _value(m.group(3), m.group(3))
    if got.answer is None and head != m.group(3):  # "at least k - 2 of the integers"
        got = _value(head, head)
    if got.answer is None:
        return got
    return got._replace(needs='at_least' if m.group(1) else 'at_most')


_MOD = re.compile(
    r'\s*(?:\\pmod\s*\{?\s*[\w+\-*^ ]+\}?|\(\s*mod\s+[\w+\-*^ ]+\)|'
    r'\\?(?:b?mod)\s+\{?[\w+\-*^]+\}?)\s*$',
    re.I,
)
# "n mod 4 = 1", "2^100 mod 7 = 2": the residue, stated as the value of "X mod m".
_MOD_EQ = re.compile(r'^(.+?\s(?:\\bmod|\\mod|mod)\s*\{?\s*\w+\s*\}?)\s*=\s*(-?\d+)$', re.S)
_CONGRUENT = re.compile(r'^(.+?)\s*(?:\\equiv|≡|=|\s(?:is\s+)?congruent\s+to)\s*(-?\d+)$', re.S)


def _congruence(clause: str) -> Optional[str]:
    """The residue a congruence states ("3^105 + 4^105 = 2 mod 11"), or None."""
    text = clause.strip()
    m = _one_span(text)
    if m:
        text = _inside(m).strip()
    mod = _MOD.search(text)
    if not mod or not mod.group(0).strip():
        m = _MOD_EQ.match(text)
        return m.group(2) if m and re.search(r'\d', m.group(1)) else None
    got = _CONGRUENT.match(text[: mod.start()].strip())
    # The residue of a number ("3^105 + 4^105"), not a condition on an unknown ("n = 0 mod
    # 991" says which n, not a value).
    if not got or not re.search(r'\d', got.group(1)):
        return None
    return got.group(2)


# A value for one case of a split: "(n-1) when n > 1, and 1 when n = 1", "1 if n is even".
# A condition that only sets letters equal ("0 when a = b = c": where an extremum is
# attained) or restates a hypothesis ("0 if f has no real zeros") leaves the value.
_CASE_OPEN = re.compile(r',?\s*(?:if|when|whenever)\b', re.I)
_CASE = re.compile(
    r'\b(?:even|odd|otherwise|if|when|whenever)\b|[<>≤≥≠]|\\(?:le|ge|leq|geq|lt|gt|neq|ne)\b', re.I
)


# A value stated under a condition: "... unless x + y + z = 0, in which case it factors as
# ..." (a case split), or "If n is even, the sum is 0" (one case, unless the question sets
# it: "For odd k, the sum is 0" answers "... for odd k?").
_CASE_SUBJECT = re.compile(r'\bunless\b|\bin\s+which\s+case\b|\botherwise\b', re.I)
_CASE_OPENING = re.compile(
    r'\s*(?:if|when|whenever|for(?!\s+(?:all|any|every|each)\b))\s+([^,]{1,150}),', re.I
)


def _conditional(subject: str) -> Optional[str]:
    """What makes a statement's value one case (None if nothing does): '' for a split
    decided by the text, else the opening's condition, for the question to decide. A
    condition that only sets letters equal ("When a = b = c, ...") makes no case."""
    if _CASE_SUBJECT.search(subject):
        return ''
    m = _CASE_OPENING.match(subject)
    if m is not None and _CASE.search(m.group(1)) is not None:
        return m.group(1).strip()
    return None


def _in_case(got: Extraction, subject: str) -> Extraction:
    """``got`` as the value of the case its subject states, if any (see :func:`_conditional`)."""
    case = None if got.answer is None else _conditional(subject)
    if case is None:
        return got
    if not case or got.needs:
        return Extraction(None, 'hedged')
    return got._replace(needs='case', about=case)


def _one_case(tail: str) -> bool:
    """Whether ``tail``, the text after a value, makes it the value of one case only."""
    m = _CASE_OPEN.match(tail)
    return m is not None and _CASE.search(tail, m.end()) is not None


_LIST_SEP = re.compile(r'\s*,\s*(?:and\s+)?|\s+and\s+')


def _span_list(rest: str) -> Optional[str]:
    """The insides of two or more math spans that make up ``rest``, joined by commas and
    "and" (``'a = 3, b = -7, c = 4'`` for "$a = 3$, $b = -7$, and $c = 4$"), or None."""
    if rest.count('$') + 2 * rest.count('\\(') < 4:  # two spans at least
        return None
    parts, pos = [], 0
    while True:
        m = _MATH_SPAN.match(rest, pos)
        if m is None:
            return None
        parts.append(_inside(m).strip())
        if m.end() == len(rest):
            break
        sep = _LIST_SEP.match(rest, m.end())
        if sep is None:
            return None
        pos = sep.end()
    return ', '.join(parts) if len(parts) > 1 and all(parts) else None


def _cut_subclause(rest: str) -> str:
    """``rest`` up to a subordinate clause, outside math spans."""
    spans = [(m.start(), m.end()) for m in _MATH_SPAN.finditer(rest)]
    for m in _SUBCLAUSE.finditer(rest):
        if not any(a <= m.start() < b for a, b in spans):
            return rest[: m.start()]
    return rest


def _value(rest: str, context: str, bracketed: bool = False) -> Extraction:
    """The value that makes up all of ``rest`` (the text after the verb; ``bracketed``:
    the inside of brackets, where a final ``!`` is a factorial, not the sentence's end)."""
    head = _cut_subclause(rest)
    got = _value_of(rest, head.strip(), context, bracketed)
    if got.answer is not None and _one_case(rest[len(head) :]):
        return Extraction(None, 'hedged')
    return got


def _value_of(rest: str, cut: str, context: str, bracketed: bool) -> Extraction:
    """:func:`_value` of ``rest`` cut before its subordinate clause (``cut``)."""
    if bracketed and cut != rest.strip():  # "(5 if we exclude 0)": a condition, not a value
        return Extraction(None, 'no_answer')
    # (the callers strip the sentence's closing marks: a "!" left here is a factorial)
    rest = cut if bracketed else cut.rstrip('.,').strip()
    rest = re.sub(r'^(?:always|exactly|precisely|simply|just)\s+', '', rest, flags=re.I)
    rest = _NAMED.sub('', rest, count=1)
    m = _APPOSITIVE.match(rest)
    if m and _one_span(rest, m.end()):
        rest = rest[m.end() :]
    if not rest:
        return Extraction(None, 'no_answer')
    m = _BOUND.match(rest)
    if m:  # "... is at least 3"
        return _bound(m)
    m = _one_span(rest)
    if m:
        inner = _inside(m)
        # A computation ending in its value, "$8! - 1260 - 6720 = 120$": the last side,
        # when the sides before it are numbers (with letters they are a condition).
        sides = inner.split('=')
        if len(sides) > 1 and not re.search(r'[A-Za-z]', '='.join(sides[:-1])):
            inner = sides[-1]
        if len({re.sub(r'\s', '', u) for u in _TUPLE_LHS.findall(inner)}) == 1:
            inner = _TUPLE_LHS.sub('', inner)  # "\\((x, y) = (6, 5)\\)"
        return _checked(inner, context, 'sentence')
    listed = _span_list(rest)  # "$\\frac{1}{2}$, $\\sqrt{3}$ and $2$"
    if listed is not None:
        if len({re.sub(r'\s', '', u) for u in _TUPLE_LHS.findall(listed)}) == 1:
            listed = _TUPLE_LHS.sub('', listed)  # every tuple after the same unknowns
        return _checked(listed, context, 'sentence')
    words = words_to_number(rest)
    if words is not None:
        return _checked(words, context, 'sentence')
    listed = _solutions(rest)  # "x = 2 or x = -2"
    if listed is not None:
        return _checked(listed, listed, 'sentence')
    # a plain expression, or math spans joined by "and" / commas
    plain = _MATH_SPAN.sub(_inside, rest)
    unknowns = {re.sub(r'\s', '', u) for u in _TUPLE_LHS.findall(plain)}
    if len(unknowns) == 1:  # every tuple after the same unknowns
        plain = _TUPLE_LHS.sub('', plain)
    if (
        len(plain) > 60
        or not _PLAIN_VALUE.fullmatch(plain)
        or not (re.search(r'[\d\\]', plain) or _OPERATION.search(plain) or _VARIABLE.fullmatch(plain))
        or any(not _value_word(w, plain) for w in _WORDY.findall(plain))
    ):
        # The name in words only: "six (5 ...)" would state two values.
        m = _RESTATED.fullmatch(rest)
        name = m.group(1) if m else ''
        if (
            _WORDY.search(name)
            and not _NEGATION.search(name)
            and not re.search(r'\d', name)
            and words_to_number(name) is None
        ):
            return _value(m.group(2), context, bracketed=True)
        return Extraction(None, 'no_answer')
    plain = re.sub(r',?\s+and\s+', ', ', plain)  # "a = 3, b = -7, and c = 4"
    return _checked(plain, context, 'sentence')


# Where the noun phrase of a count ends: "504 strings | that have increasing or
# decreasing digits", "3 pairs | of integers".
_THINGS_END = re.compile(
    r'\s(?:that|which|who|whose|where|with|for|in|of|from|using|satisfying|such|on|to|when|if)\b|[,;:(]',
    re.I,
)
# An "or" before another value anywhere after it is still a hedge: "4 ways (or 5)",
# "4 ways, or $5$", "or eleven", "or a few", "or more".
_OR_VALUE = re.compile(
    r'\bor\s+(?:else\s+|even\s+|perhaps\s+|possibly\s+)?(?:a\s+)?(\$|\\\(|[-+]?\d|[A-Za-z]+\b)', re.I
)
_QUANTITY_WORDS = frozenset({'hundred', 'thousand', 'few', 'several', 'more', 'fewer', 'less'})


def _or_value(text: str, pos: int) -> bool:
    """Whether an "or" at or after ``pos`` comes before a value (a number word as
    :func:`words_to_number` reads it, or a quantity word)."""
    for m in _OR_VALUE.finditer(text, pos):
        w = m.group(1).lower()
        if not w[0].isalpha() or w in _QUANTITY_WORDS or words_to_number(w) is not None:
            return True
    return False


def _count(rest: str, context: str) -> Extraction:
    """ "V <things>...": the leading number (digits, a math span or words) of ``rest``."""
    rest = rest.strip()
    # "or" is looked for in the context up to the end of "V <things>" (when ``rest`` ends
    # it): one in what the things are ("strings of 0s or 1s") is no hedge. Hedge words
    # count anywhere.
    head = context[: len(context) - len(rest)] if context.endswith(rest) else None

    def checked(value: str, end: int) -> Extraction:
        if head is None or _HEDGE.search(context):
            return _checked(value, context, 'sentence')
        cut = _THINGS_END.search(rest, end)
        if cut and (_or_value(rest, cut.start()) or _one_case(rest[cut.start() :])):
            return Extraction(None, 'hedged')
        return _checked(value, head + rest[: cut.start() if cut else len(rest)], 'sentence')

    m = _BOUND.match(rest)
    if m:  # "You need at least 50 questions"
        return _bound(m)
    m = _MATH_SPAN.match(rest)
    if m:
        return checked(_inside(m), m.end())
    m = re.match(r'(\d[\d,]*(?:\.\d+)?)(?=\s+[A-Za-z])', rest)
    if m:
        return checked(m.group(1), m.end())
    # an expression ("2^(n-1) ways", "n! orderings"), not a lone letter ("n rooks")
    m = re.match(r'([^\s$]+)(?=\s+[A-Za-z])', rest)
    if (
        m
        and _PLAIN_VALUE.fullmatch(m.group(1))
        and (re.search(r'\d', m.group(1)) or _OPERATION.search(m.group(1)))
        and all(_value_word(w, m.group(1)) for w in _WORDY.findall(m.group(1)))
        and m.group(1)[-1] not in ',.;:'
    ):
        return checked(m.group(1), m.end())
    m = re.match(r'((?:[A-Za-z]+[\s-]+){1,4})', rest)
    if m:
        words = list(re.finditer(r'\S+', m.group(1)))  # "two-digit" stays one word
        for k in range(len(words), 0, -1):  # the longest run of number words
            n = words_to_number(' '.join(w.group(0) for w in words[:k]))
            if n is not None:
                return checked(n, words[k - 1].end())
    return Extraction(None, 'no_answer')


_UNITS = {
    w: i
    for i, w in enumerate(
        'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen '
        'fifteen sixteen seventeen eighteen nineteen'.split()
    )
}
_TENS = {
    w: 10 * i for i, w in enumerate('twenty thirty forty fifty sixty seventy eighty ninety'.split(), start=2)
}
_SCALES = {'thousand': 1000, 'million': 10**6, 'billion': 10**9}
_ORDINAL_DEN = {
    'half': 2,
    'halves': 2,
    'third': 3,
    'thirds': 3,
    'quarter': 4,
    'quarters': 4,
    'fourth': 4,
    'fourths': 4,
    'fifth': 5,
    'fifths': 5,
    'sixth': 6,
    'sixths': 6,
    'seventh': 7,
    'sevenths': 7,
    'eighth': 8,
    'eighths': 8,
    'ninth': 9,
    'ninths': 9,
    'tenth': 10,
    'tenths': 10,
}


def words_to_number(text: str) -> Optional[str]:
    """A number written in words, as digits: 'eleven' -> '11', 'three thousand' -> '3000',
    'two fifths' -> '2/5', 'a dozen' -> '12'; None if ``text`` is not just a number.

    >>> words_to_number('one hundred and twenty-three')
    '123'
    >>> words_to_number('two fifths')
    '2/5'
    >>> words_to_number('three apples') is None
    True
    """
    words = re.sub(r'[\s-]+', ' ', text.lower().strip().rstrip('.')).split()
    if not words or len(words) > 8:
        return None
    if words in (['a', 'dozen'], ['one', 'dozen'], ['dozen']):
        return '12'
    if words[-1] in _ORDINAL_DEN and len(words) >= 2:
        num = _word_int(['one'] if words[:-1] in (['a'], ['an']) else words[:-1])
        return None if num is None else f'{num}/{_ORDINAL_DEN[words[-1]]}'
    n = _word_int(words)
    return None if n is None else str(n)


def _word_int(words: List[str]) -> Optional[int]:
    total, part, seen = 0, 0, False
    for w in words:
        if w == 'and' and seen:
            continue
        if w in _UNITS:
            part += _UNITS[w]
        elif w in _TENS:
            part += _TENS[w]
        elif w == 'hundred' and seen:
            part = max(part, 1) * 100
        elif w in _SCALES and seen:
            total += max(part, 1) * _SCALES[w]
            part = 0
        else:
            return None
        seen = True
    return total + part if seen else None


def extract_answer(text: object, strict: bool = False) -> Extraction:
    """Finds the final committed answer of a completion.

    Args:
        text: the completion.
        strict: only boxes, ``<answer>`` blocks and markers count (as TRL's accuracy
            reward reads answers); no concluding or final-statement sentences.

    Returns:
        An :class:`Extraction`; ``answer`` is None when the response commits to none.

    >>> extract_answer(r'<think>maybe 7</think> So $x=\\boxed{\\frac{1}{2}}$.').answer
    '\\\\frac{1}{2}'
    >>> extract_answer('Natalia sold 48+24 = 72 clips.\\n#### 72').answer
    '72'
    >>> extract_answer('<think>It is 7.</think><answer>The answer is 8.</answer>').answer
    '8'
    >>> extract_answer('The answer is 8 or 9?').how
    'hedged'
    >>> extract_answer('We get 5 then 6 then 7').answer is None
    True
    """
    return _extract(text, False, strict)[0]


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
    for m in _GSM.finditer(text):  # noqa: B007  (the last match is the one wanted)
        pass
    if m is not None:
        return m.group(1).strip()
    return text.strip()
