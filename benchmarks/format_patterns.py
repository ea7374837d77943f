"""A corpus of realistic format-reward patterns, for construction benchmarks.

Each entry is ``Pattern(family, pattern, flags, mode)`` with the meaning of
``FormatReward(pattern, mode=mode, flags=flags)``: ``re.<mode>(pattern, text, flags)``.
The families are the checks RL reward code writes by hand: think/answer tag formats under
several tag names, ``\\boxed{...}`` answers, JSON-ish outputs and tool calls, tags and
answer markers in other languages, Unicode classes, counted repeats, IGNORECASE variants,
assorted answer markers (GSM8K ``####``, multiple choice, code fences), and a last family
of patterns whose automata are far too large (``limit``): a compiler should refuse them
quickly with a clear error rather than work for minutes.

The corpus is generated from templates so that every family has many members; every
pattern compiles with Python ``re`` (checked by :func:`corpus`).
"""

from __future__ import annotations

import re
from typing import List, NamedTuple

S, I, M = re.DOTALL, re.IGNORECASE, re.MULTILINE


class Pattern(NamedTuple):
    family: str
    pattern: str
    flags: int
    mode: str


# Reasoning / answer tag names seen in open RL recipes and prompts.
TAG_PAIRS = [
    ('think', 'answer'),
    ('reasoning', 'answer'),
    ('thought', 'response'),
    ('scratchpad', 'final'),
    ('reasoning', 'solution'),
    ('analysis', 'final_answer'),
]

# (tag for the reasoning, tag for the answer) in other languages.
WORLD_TAGS = [
    ('思考', '答案'),
    ('考え', '答え'),
    ('생각', '답변'),
    ('pensée', 'réponse'),
    ('размышление', 'ответ'),
    ('pensamiento', 'respuesta'),
    ('Gedanke', 'Antwort'),
    ('التفكير', 'الإجابة'),
    ('सोच', 'उत्तर'),
    ('suy_nghĩ', 'trả_lời'),
]

# Answer markers that precede the final answer, per language.
WORLD_MARKERS = [
    '答案[:：]',
    '最终答案是',
    '答えは',
    '정답은',
    'Réponse finale ?:',
    'Ответ:',
    'Respuesta final:',
    'Antwort:',
    'الإجابة النهائية:',
    'Câu trả lời:',
]


def _think_answer() -> List[Pattern]:
    out = []
    for a, b in TAG_PAIRS:
        out += [
            Pattern('think_answer', rf'<{a}>.*?</{a}>\s*<{b}>.*?</{b}>\s*', S, 'fullmatch'),
            Pattern('think_answer', rf'<{a}>.*?</{a}>.*?<{b}>.*?</{b}>', S, 'search'),
            Pattern('think_answer', rf'\s*<{a}>\n.*?\n</{a}>\n<{b}>\n.*?\n</{b}>\s*', S, 'fullmatch'),
            Pattern('think_answer', rf'<{a}>[^<]*</{a}>\s*<{b}>[^<]*</{b}>\s*', 0, 'fullmatch'),
            Pattern('think_answer', rf'<{a}>.*?</{a}>\s*<{b}>.*?</{b}>', S | I, 'match'),
            Pattern('think_answer', rf'<{b}>.*?</{b}>', S, 'search'),
            Pattern('think_answer', rf'.*?</{a}>\s*<{b}>.+?</{b}>\s*', S, 'fullmatch'),
        ]
    return out


def _boxed() -> List[Pattern]:
    bodies = [
        r'[^{}]*',
        r'\s*-?\d+\s*',
        r'\s*-?\d+(?:\.\d+)?\s*',
        r'\\frac\{-?\d+\}\{\d+\}',
        r'[^{}]*(?:\{[^{}]*\}[^{}]*)*',
        r'(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*',
        r'[A-E]',
        r'\s*\(?[A-Da-d]\)?\s*',
        r'-?\d{1,3}(?:,\d{3})*',
    ]
    out = [Pattern('boxed', rf'\\boxed\{{{b}\}}', 0, 'search') for b in bodies]
    out += [Pattern('boxed', rf'.*\\boxed\{{{b}\}}\s*\$*\.?\s*', S, 'fullmatch') for b in bodies[:5]]
    out += [
        Pattern('boxed', r'(?:\\boxed|\\fbox)\{[^{}]+\}', 0, 'search'),
        Pattern('boxed', r'[Tt]he (?:final )?answer is:? \$?\\boxed\{[^{}]+\}\$?', 0, 'search'),
        Pattern('boxed', r'<answer>\s*\$?\\boxed\{[^{}]+\}\$?\s*</answer>', 0, 'search'),
        Pattern('boxed', r'</think>.*\\boxed\{[^{}]*\}', S, 'search'),
    ]
    return out


_JSON_VALUES = {
    'int': r'-?\d+',
    'number': r'-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?',
    'string': r'"(?:[^"\\]|\\.)*"',
    'bool': r'(?:true|false)',
}
_JSON_KEYS = [
    ('answer',),
    ('reasoning', 'answer'),
    ('answer', 'confidence'),
    ('thought', 'action', 'action_input'),
    ('score',),
    ('label', 'explanation'),
]


def _json() -> List[Pattern]:
    out = []
    for keys in _JSON_KEYS:
        for vtype in ('int', 'string', 'number', 'bool'):
            fields = r'\s*,\s*'.join(rf'"{k}"\s*:\s*{_JSON_VALUES[vtype]}' for k in keys)
            out.append(Pattern('json', rf'\s*\{{\s*{fields}\s*\}}\s*', 0, 'fullmatch'))
    out += [
        Pattern('json', r'```json\s*\{.*?\}\s*```', S, 'search'),
        Pattern('json', r'\[\s*(?:-?\d+\s*,\s*)*-?\d+\s*\]', 0, 'fullmatch'),
        Pattern(
            'json',
            r'<tool_call>\s*\{\s*"name"\s*:\s*"[\w.-]+"\s*,\s*"arguments"\s*:\s*\{.*?\}\s*\}\s*'
            r'</tool_call>',
            S,
            'search',
        ),
        Pattern('json', r'\{\s*"name"\s*:\s*"\w+"\s*,\s*"arguments"\s*:\s*\{[^{}]*\}\s*\}', 0, 'fullmatch'),
        Pattern('json', r'"correct"\s*:\s*(?:true|false)', 0, 'search'),
        Pattern(
            'json',
            r'\{(?:\s*"\w+"\s*:\s*(?:"[^"]*"|-?\d+(?:\.\d+)?|true|false|null)\s*,?)*\s*\}',
            0,
            'fullmatch',
        ),
    ]
    return out


def _world() -> List[Pattern]:
    out = []
    for a, b in WORLD_TAGS:
        out += [
            Pattern('multilingual', rf'<{a}>.*?</{a}>\s*<{b}>.*?</{b}>\s*', S, 'fullmatch'),
            Pattern('multilingual', rf'<{b}>.+?</{b}>', S, 'search'),
        ]
    out += [Pattern('multilingual', rf'{m}\s*\S+', 0, 'search') for m in WORLD_MARKERS]
    out += [
        Pattern('multilingual', rf'{m}\s*-?\d+(?:\.\d+)?\s*[。.]?\s*$', 0, 'search')
        for m in WORLD_MARKERS[:5]
    ]
    return out


def _unicode() -> List[Pattern]:
    return [
        Pattern('unicode', r'<answer>\w+</answer>', 0, 'search'),
        Pattern('unicode', r'<answer>\s*\w+(?:\s+\w+){0,5}\s*</answer>', 0, 'search'),
        Pattern('unicode', r'<answer>\d+</answer>', 0, 'search'),
        Pattern('unicode', r'<answer>[\u4e00-\u9fff]{1,20}</answer>', 0, 'search'),
        Pattern('unicode', r'[\u4e00-\u9fff]', 0, 'search'),
        Pattern('unicode', r'[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]+', 0, 'search'),
        Pattern('unicode', r'[^\x00-\x7f]', 0, 'search'),
        Pattern('unicode', r'[\x00-\x7f]*', 0, 'fullmatch'),
        Pattern('unicode', r'[\U0001F300-\U0001FAFF]', 0, 'search'),
        Pattern('unicode', r'\w+', 0, 'fullmatch'),
        Pattern('unicode', r'\W*\w', 0, 'match'),
        Pattern('unicode', r'\w{10}', 0, 'search'),
        Pattern('unicode', r'\w{30}', 0, 'search'),
        Pattern('unicode', r'(?:\w+\W+){1,50}', 0, 'fullmatch'),
        Pattern('unicode', r'\s{3,}', 0, 'search'),
        Pattern('unicode', r'\S+(?:\s+\S+){0,99}', 0, 'fullmatch'),
        Pattern('unicode', r'<think>\W*</think>', 0, 'search'),
        Pattern('unicode', r'\b\w+\b', 0, 'search'),
        Pattern('unicode', r'[^\W\d_]+', 0, 'search'),
        Pattern('unicode', r'<answer>[^\W_]+</answer>', I, 'search'),
    ]


def _counted() -> List[Pattern]:
    out = []
    for n in (50, 100, 200, 500, 1000):
        out += [
            Pattern('counted', rf'<think>.{{0,{n}}}</think>', S, 'search'),
            Pattern('counted', rf'<answer>[^<]{{1,{n}}}</answer>', 0, 'search'),
            Pattern('counted', rf'<answer>\s*\d{{1,{n}}}\s*</answer>', 0, 'search'),
            Pattern('counted', rf'.{{{n},}}', S, 'fullmatch'),
        ]
    for n in (3, 10, 30):
        out += [
            Pattern('counted', rf'(?:[^\n]*\n){{0,{n}}}[^\n]*', 0, 'fullmatch'),
            Pattern('counted', rf'(?:\S+\s+){{0,{n}}}\S*', 0, 'fullmatch'),
            Pattern('counted', rf'(?:Step \d+:[^\n]*\n){{1,{n}}}', 0, 'search'),
        ]
    return out


def _ignorecase() -> List[Pattern]:
    return [
        Pattern('ignorecase', r'final answer\s*[:：]\s*\S+', I, 'search'),
        Pattern('ignorecase', r'the answer is\s*\(?[a-e]\)?', I, 'search'),
        Pattern('ignorecase', r'<think>.*?</think>\s*<answer>.*?</answer>\s*', S | I, 'fullmatch'),
        Pattern('ignorecase', r'<answer>\s*(?:yes|no)\s*</answer>', I, 'search'),
        Pattern('ignorecase', r'answer:\s*(?:true|false)\s*', I, 'search'),
        Pattern('ignorecase', r'\*\*final answer\*\*', I, 'search'),
        Pattern('ignorecase', r'(?:verdict|judgement|judgment)\s*:\s*(?:correct|incorrect)', I, 'search'),
        Pattern('ignorecase', r'^(?:answer|solution)\s*:', I | M, 'search'),
        Pattern('ignorecase', r'wait|hmm|actually|let me (?:re)?check', I, 'search'),
        Pattern('ignorecase', r'<reasoning>.*?</reasoning>', S | I, 'search'),
        Pattern('ignorecase', r'Ответ\s*:\s*\S+', I, 'search'),
        Pattern('ignorecase', r'réponse\s*:\s*\S+', I, 'search'),
        Pattern('ignorecase', r'[a-z]+', I, 'fullmatch'),
        Pattern('ignorecase', r'\w+ \w+', I, 'search'),
        Pattern('ignorecase', r'<answer>\s*[a-z ]{1,50}\s*</answer>', I, 'search'),
    ]


def _markers() -> List[Pattern]:
    return [
        Pattern('markers', r'####\s*-?[\d,]+(?:\.\d+)?\s*$', 0, 'search'),
        Pattern('markers', r'####\s*-?\d+', 0, 'search'),
        Pattern('markers', r'^Answer:\s*[A-D]\s*$', M, 'search'),
        Pattern('markers', r'[Tt]he answer is \(?([A-E])\)?', 0, 'search'),
        Pattern('markers', r'Answer:\s*\$?-?\d+(?:/\d+)?\$?\s*$', 0, 'search'),
        Pattern('markers', r'```python\n.*?```', S, 'search'),
        Pattern('markers', r'```(?:python|py)?\n.*?\n```\s*', S, 'fullmatch'),
        Pattern('markers', r'(?:Step \d+:.*\n)+', 0, 'search'),
        Pattern('markers', r'^#+ ', M, 'search'),
        Pattern('markers', r'\*\*Final Answer\*\*\s*\n+.*', 0, 'search'),
        Pattern('markers', r'Therefore,? the (?:final )?answer is', 0, 'search'),
        Pattern('markers', r'\$\$.*?\$\$', S, 'search'),
        Pattern('markers', r'\\\[.*?\\\]', S, 'search'),
        Pattern('markers', r'\$[^$\n]+\$', 0, 'search'),
        Pattern('markers', r'(?:- [^\n]+\n){2,}', 0, 'search'),
        Pattern('markers', r'(?:\d+\. [^\n]+\n){2,}', 0, 'search'),
        Pattern('markers', r'<\|im_end\|>', 0, 'search'),
        Pattern('markers', r'[^<>]*', 0, 'fullmatch'),
        Pattern('markers', r'.*\S', S, 'fullmatch'),
        Pattern('markers', r'\s*\S.*', S, 'fullmatch'),
        Pattern('markers', r'(?:[^\n]*\n){2,}', 0, 'match'),
        Pattern('markers', r'<think>\s*</think>', 0, 'search'),
        Pattern('markers', r'</think>\s*$', 0, 'search'),
        Pattern('markers', r'[A-Z][^.!?]*[.!?]', 0, 'search'),
        Pattern('markers', r'(?:yes|no)\.?', I, 'fullmatch'),
        Pattern('markers', r'\(?[A-D]\)?\.?\s*', 0, 'fullmatch'),
        Pattern('markers', r'<answer>\s*\(?[A-D]\)?\s*</answer>', 0, 'search'),
        Pattern('markers', r'<search>.*?</search>', S, 'search'),
        Pattern(
            'markers',
            r'(?:<search>[^<]*</search>\s*<information>.*?</information>\s*)*<answer>.*?</answer>',
            S,
            'search',
        ),
        Pattern('markers', r'-?\d+(?:\.\d+)?', 0, 'fullmatch'),
    ]


def _limit() -> List[Pattern]:
    """Patterns whose automata exceed any reasonable state limit: the n-th character from
    the end is fixed (2^n DFA states), or a Unicode class repeated a thousand times."""
    return [
        Pattern('limit', r'\w{1000}', 0, 'search'),
        Pattern('limit', r'\w{2000}', 0, 'fullmatch'),
        Pattern('limit', r'(?:\w\s){600}', 0, 'search'),
        Pattern('limit', r'a.{20}', S, 'search'),
        Pattern('limit', r'<answer>.{30}</answer>.{0,30}x', S, 'search'),
        Pattern('limit', r'(?:a|b)*a(?:a|b){24}', 0, 'fullmatch'),
        Pattern('limit', r'[^\W\d_]{500}\d{500}', 0, 'search'),
        Pattern('limit', r'(?:<think>.{0,3000}</think>){1,3}', S, 'search'),
    ]


FAMILIES = (
    'think_answer',
    'boxed',
    'json',
    'multilingual',
    'unicode',
    'counted',
    'ignorecase',
    'markers',
    'limit',
)


def corpus() -> List[Pattern]:
    """Every pattern of the corpus, families in :data:`FAMILIES` order, no duplicates."""
    out, seen = [], set()
    for build in (_think_answer, _boxed, _json, _world, _unicode, _counted, _ignorecase, _markers, _limit):
        for p in build():
            key = (p.pattern, p.flags, p.mode)
            if key in seen:
                continue
            seen.add(key)
            re.compile(p.pattern, p.flags)  # a typo here is a bug in the corpus
            out.append(p)
    return out


if __name__ == '__main__':
    import collections

    c = corpus()
    print(len(c), dict(collections.Counter(p.family for p in c)))
