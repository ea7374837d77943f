"""String-level clean-up of an extracted answer, before it is parsed.

Invariant: ``normalize`` is idempotent and never raises on any ``str``; everything it
removes is decoration that cannot change a mathematical value (spacing, ``\\left``,
``\\text`` wrappers, units, currency, degree signs). Percent signs are *kept* as a
trailing ``%`` so that the grader can decide ``10\\% == 10 == 0.1``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Optional, Tuple

__all__ = ['normalize', 'match_brace', 'unwrap_command', 'UNIT_WORDS']

# Words dropped when they trail a value ("5 cm", "12 \text{ dollars}"). Kept short and
# literal on purpose: a longer list starts to eat real text answers. No one-letter units
# (m, g, s, h): "2 x" and "3 m" are more often products with a variable.
UNIT_WORDS = frozenset(
    """
cm centimeter centimeters centimetre centimetres meter meters metre metres km
kilometer kilometers mm millimeter millimeters inch inches ft foot feet yd yard yards
mi mile miles mph kmh kg gram grams kilogram kilograms mg lb lbs pound pounds oz ounce
ounces liter liters litre litres ml milliliter milliliters gallon gallons sec second
seconds min minute minutes h hr hrs hour hours day days week weeks month months year
years dollar dollars cent cents usd euro euros degree degrees deg unit units sq square
cubic cup cups people persons students apples marbles miles cookies points inches
percent per cents pages books times ways meter/s m/s km/h
""".split()
)

_SPACING = re.compile(r'(?<!\\)\\[,:;! ]|\\q?quad\b|\\(?:thinspace|medspace|thickspace|enspace|hfill)\b|~')
_SIZERS = re.compile(r'\\(?:left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|biggl|biggr|middle)(?![a-zA-Z])')
_STYLE = re.compile(
    r'\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|angle|measuredangle)'
    r'(?![a-zA-Z])'
)
_WRAPPERS = (
    '\\text',
    '\\textbf',
    '\\textit',
    '\\textrm',
    '\\mathrm',
    '\\mathbf',
    '\\mathit',
    '\\mbox',
    '\\operatorname',
    '\\textnormal',
    '\\mathsf',
    '\\boldsymbol',
    '\\bm',
    '\\mathnormal',
    '\\hbox',
)
# sin 60^\circ is sin(60 pi / 180): inside a trig function the degree sign is a value.
_TRIG_DEGREES = re.compile(
    r'(\\(?:sin|cos|tan|cot|sec|csc))\s*(\(?)\s*(-?\d+(?:\.\d+)?)\s*'
    r'\^\s*\{?\s*\\circ\s*\}?\s*(\)?)'
)
_DEGREE = re.compile(r'\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|°')
_CURRENCY = re.compile(r'\\\$|\$|\\euro|€|£|\\pounds|¥|\\textdollar')
_THOUSANDS = re.compile(r'^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$')
_SPACED_COMMA = re.compile(r'\d,\s+\d')
_EXPLICIT_SEP = re.compile(r'(?<=\d)\{,\}(?=\d{3})|(?<=\d),\\!(?=\d{3})|(?<=\d)\\[,!](?=\d{3})')
_TRAILING_UNIT = re.compile(r'(?<=[\d}\)a-zA-Z.])\s*(?:\\?[a-zA-Z/]+(?:\^\{?[23]\}?)?)\s*$')
_TRAILING_PUNCT = re.compile(r'[\s.;:,]+$')
_WS = re.compile(r'\s+')
_SPACE_1 = re.compile(r'(?<![a-zA-Z\\]) | (?![a-zA-Z])')
_SPACE_2 = re.compile(r'(?<=[^a-zA-Z]) (?=[a-zA-Z])')
_SCIENTIFIC = re.compile(r'[+-]?\d+(?:\.\d+)?[eE][+-]?\d{1,4}')
_UNICODE = (
    ('≤', '\\le'),
    ('≥', '\\ge'),
    ('−', '-'),
    ('×', '\\times'),
    ('·', '\\cdot'),
    ('∞', '\\infty'),
    ('π', '\\pi'),
    ('√', '\\sqrt'),
    ('°', '^\\circ'),
)
_SIMPLE = re.compile(r'[+-]?\d{1,15}(?:\.\d{1,15})?')
_PLAIN_FUNC = re.compile(r'(?<![a-zA-Z\\])(sqrt|pi)(?![a-zA-Z])')
# C(8, 3): a binomial coefficient in plain text.
_PLAIN_BINOM = re.compile(r'(?<![A-Za-z\\])C\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)')
# "2 3/4" (a mixed number as prose writes it); "2\frac{3}{4}" stays a product.
_MIXED = re.compile(r'(-?)(\d{1,15})\s+(\d{1,15})/(\d{1,15})')
_MEMBER = re.compile(r'^\s*[a-zA-Z]\s*\\in(?![a-zA-Z])\s*')
_PERCENT = re.compile(r'\s*(?:\\%|%|\\text\{\s*percent\s*\}|\bpercent\b)\s*$')


def match_brace(s: str, open_pos: int, max_len: int = 1 << 20) -> int:
    """Index of the brace closing the one at ``s[open_pos]``, or -1.

    Escaped braces (``\\{``, ``\\}``) do not count; the scan stops after ``max_len`` characters.

    >>> s = r'\\boxed{\\frac{1}{2}}'
    >>> match_brace(s, 6)
    18
    >>> match_brace('{a\\\\}', 0)
    -1
    """
    depth = 0
    i = open_pos
    end = min(len(s), open_pos + max_len)
    while i < end:
        c = s[i]
        if c == '\\':
            i += 2
            continue
        if c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def unwrap_command(s: str, names: Tuple[str, ...], keep_content: bool = True) -> str:
    """Replaces ``\\name{content}`` by ``content`` (or by nothing) for each name.

    >>> unwrap_command(r'5\\text{ cm}', ('\\\\text',))
    '5 cm'
    """
    for name in names:
        start = 0
        while True:
            i = s.find(name, start)
            if i < 0:
                break
            j = i + len(name)
            if j < len(s) and s[j].isalpha():  # \textbf when looking for \text
                start = j
                continue
            k = j
            while k < len(s) and s[k] == ' ':
                k += 1
            if k >= len(s) or s[k] != '{':
                s = s[:i] + s[j:]
                start = i
                continue
            close = match_brace(s, k)
            if close < 0:
                s = s[:i] + s[k + 1 :]
                start = i
                continue
            inner = s[k + 1 : close] if keep_content else ''
            s = s[:i] + inner + s[close + 1 :]
            start = i
    return s


_VALUE_THEN_WORDS = re.compile(r'([^a-zA-Z\\]*\d[^a-zA-Z\\]*?)\s+[a-zA-Z]{2}[a-zA-Z\s/]*(?:\^\{?[23]\}?)?')
# A \text{...} of words after a value is a unit even when one letter long (12\text{ m}^2);
# a bare "m" is not (it may be a variable).
_TEXT_UNIT = re.compile(
    r'(?<=[\d}a-zA-Z)])\s*\\(?:text|mbox|textrm|mathrm|textnormal)\s*'
    r'\{\s*(?:[a-zA-Z]{2}[a-zA-Z\s.]*|[mgshlL])\s*\}'
    r'(?:\s*\^\s*\{?[23]\}?)?\s*$'
)
_REPEATING = re.compile(r'(\d*)\.(\d*)\\overline\{(\d{1,20})\}')


def _repeating(m: re.Match) -> str:
    """``0.1\\overline{6}`` -> ``\\frac{1}{6}``: a repeating decimal is an exact rational."""
    whole, fixed, rep = m.group(1) or '0', m.group(2), m.group(3)
    num = int(whole + fixed + rep) - int(whole + fixed)
    den = (10 ** len(rep) - 1) * 10 ** len(fixed)
    return f'\\frac{{{num}}}{{{den}}}'


#: Words that join, condition or hedge the value before them ("0 if n is even", "5 or
#: more", "3 probably", "5 for even n", "1 for n > 2"): after them, the words are not a unit.
QUALIFIER = re.compile(
    r'\b(?:and|or|nor|either|neither|else|otherwise|if|when|whenever|unless|except|provided|'
    r'assuming|only|not|maybe|perhaps|probably|possibly|likely|approximately|roughly|about|'
    r'around|nearly|almost|least|most)\b|'
    r'\bfor\s+(?:(?:all|every|each|any)\s+)?(?:even|odd)\b|'
    r'\bfor\s+\w+\s*(?:[<>≤≥≠]|\\[lgn]e|(?:is\s+)?(?:even|odd)\b)',
    re.I,
)


def _strip_units(s: str) -> str:
    # A plain value followed only by words ("5 apples left", "18 every day"): the words go.
    # Not when the words join, condition or hedge it ("0 if n is even", "5 or more", "3
    # probably"): those keep the answer from being the bare value.
    m = _VALUE_THEN_WORDS.fullmatch(s)
    if m and not QUALIFIER.search(s[m.end(1) :]):
        return m.group(1)
    # Otherwise only known unit words go, so a text answer ("Monday") survives.
    for _ in range(4):
        m = _TRAILING_UNIT.search(s)
        if not m:
            break
        word = m.group(0).strip().lstrip('\\')
        base = re.sub(r'\^\{?[23]\}?$', '', word).lower()
        head = s[: m.start()].rstrip()
        if not head or not re.search(r'[\d}]$|\)$', head):
            break
        if base in UNIT_WORDS or (
            len(base) > 2
            and base.isalpha()
            and not QUALIFIER.fullmatch(base)
            and re.search(r'\d$', head)
            and _only_number(head)
        ):
            s = head
        else:
            break
    return s


def _only_number(s: str) -> bool:
    return re.fullmatch(r'[+-]?\d+(?:\.\d+)?', s.strip()) is not None


def normalize(answer: Optional[str]) -> str:
    """Canonical string form of an extracted answer.

    Args:
        answer: the raw answer text (the inside of a ``\\boxed{}``, the text after
            "The answer is", a ground truth...). None gives ''.

    Returns:
        The answer without decoration: no ``$``, ``\\left``/``\\right``, spacing
        commands, ``\\text`` wrappers, units, currency, degree signs or thousands
        separators; ``\\dfrac``/``\\tfrac`` become ``\\frac``; a percent sign is kept
        as a trailing ``%``.

    >>> normalize(r'\\$1,000')
    '1000'
    >>> normalize(r'10,\\!080 \\text{ cm}^2')
    '10080'
    >>> normalize(r'\\left( \\dfrac{1}{2}, 3 \\right)')
    '(\\\\frac{1}{2},3)'
    >>> normalize(r'25\\%')
    '25%'
    >>> normalize(r'90^\\circ')
    '90'
    """
    if not isinstance(answer, str):
        return ''
    s = answer.strip()
    if not s:
        return ''
    if _SIMPLE.fullmatch(s):  # fast path: a plain number needs none of the rewriting below
        return s[1:] if s[0] == '+' else s
    if _SCIENTIFIC.fullmatch(s):  # 1e-05 (a float gold passed through str()): exact digits
        return format(Decimal(s), 'f')
    m = _MIXED.fullmatch(s)
    if m and 0 < int(m.group(4)) and int(m.group(3)) < int(m.group(4)):
        whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
        return f'{m.group(1)}\\frac{{{whole * den + num}}}{{{den}}}'
    if 'C(' in s:
        s = _PLAIN_BINOM.sub(r'\\binom{\1}{\2}', s)
    if '\\' in s:
        s = s.replace('\\dfrac', '\\frac').replace('\\tfrac', '\\frac').replace('\\cfrac', '\\frac')
        s = s.replace('\\dbinom', '\\binom').replace('\\tbinom', '\\binom')
        s = _SIZERS.sub('', s)
        s = _STYLE.sub('', s)
        s = s.replace('\\(', '').replace('\\)', '').replace('\\[', '').replace('\\]', '')
    if '{' in s or '\\' in s:
        s = _EXPLICIT_SEP.sub('', s)
    if '\\' in s or '~' in s:
        s = _SPACING.sub(' ', s)
    if not s.isascii():
        for a, b in _UNICODE:
            s = s.replace(a, b)
    if 'sqrt' in s or 'pi' in s:
        # plain-text math as models write it outside LaTeX: sqrt(5)/3, pi/6
        s = _PLAIN_FUNC.sub(r'\\\1', s)
    if '\\circ' in s and '\\' in s:
        s = _TRIG_DEGREES.sub(lambda m: f'{m.group(1)}({m.group(3)}\\pi/180)', s)
    s = _DEGREE.sub('', s)
    s = _CURRENCY.sub('', s)
    if '\\' in s:
        for _ in range(3):
            s2 = _TEXT_UNIT.sub(lambda m: m.group(0) if QUALIFIER.search(m.group(0)) else '', s)
            if s2 == s:
                break
            s = s2
        s = s.replace('\\{', '\x01').replace('\\}', '\x02')  # keep set braces through unwrap
        s = unwrap_command(s, _WRAPPERS)
        if '\\overline' in s:
            s = _REPEATING.sub(_repeating, s)
        s = unwrap_command(s, ('\\fbox', '\\boxed', '\\underline', '\\overline'))
        s = s.replace('\x01', '\\{').replace('\x02', '\\}')
        s = s.replace('\\leqslant', '\\le').replace('\\geqslant', '\\ge')
        s = s.replace('\\leq', '\\le').replace('\\geq', '\\ge').replace('\\neq', '\\ne')
        s = _MEMBER.sub('', s)  # "x \in [0, 1]" answers with the set itself
    s = _TRAILING_PUNCT.sub('', s)
    pct = False
    if '%' in s or 'percent' in s:
        m = _PERCENT.search(s)
        if m:
            pct = True
            s = s[: m.start()]
    s = _strip_units(s.strip())
    # "376, 625" lists two numbers: a thousands separator has no space after it
    listed = ',' in s and _SPACED_COMMA.search(s) is not None
    if ' ' in s or '\t' in s or '\n' in s:
        s = _WS.sub(' ', s).strip()
        s = _TRAILING_PUNCT.sub('', s)
        # Spaces only matter between two letters or a command and a letter ("\pi r").
        s = _SPACE_1.sub('', s)
        s = _SPACE_2.sub('', s)
    else:
        s = _TRAILING_PUNCT.sub('', s)
    if ',' in s and not listed and _THOUSANDS.match(s):
        s = s.replace(',', '')
    if s.startswith('+') and len(s) > 1 and s[1] not in '+-':
        s = s[1:]
    return s + '%' if pct and s else s
