"""Real model text for the math verifier: hand-labelled CHAMP conversations.

``tests/math/data/champ_labels.jsonl`` holds one line per (completion, gold) pair: the
ids, the gold answer in LaTeX, the hand label and the answer class (rules:
``tests/math/data/CHAMP_LABELS.md``). It does not hold the model text: :func:`load_champ`
reads that from the installed ``champ-dataset`` package (PyPI, MIT licence) at load time.

Three sets (:data:`SETS`; ``labels=`` of the loaders), each one conversation or more per
problem and both variants of each:

- ``'tuning'`` (``champ_labels.jsonl``): GPT-3.5 and PaLM 2 Medium. The answer rules were
  written against it.
- ``'heldout'`` (``champ_heldout_labels.jsonl``): GPT-4 and GPT-4 Turbo under the tuning
  set's eight conditions (:data:`CONDS`), labelled after the rules were written. Measured
  once on text the rules had not seen; its misses were then read and some became rules.
- ``'heldout_b'`` (``champ_heldout_b_labels.jsonl``): GPT-4 and GPT-4 Turbo under the
  other ten conditions (:data:`OTHER_CONDS`), labelled after those rules. Measured once;
  its misses were then read and some became rules.
- ``'heldout_c'`` (``champ_heldout_c_labels.jsonl``): GPT-4 and GPT-4 Turbo under the
  same ten conditions, each problem under another condition and model than in
  ``'heldout_b'``, labelled while those rules were written. Measured once; its misses
  were then read and some became rules.
- ``'heldout_d'`` (``champ_heldout_d_labels.jsonl``): GPT-4 and GPT-4 Turbo under the
  eight conditions of ``'heldout'``, each problem under another condition and the other
  model, labelled after all the rules above: text no rule was written against.

Each set's loader refuses any other set's models before it reads a message.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = os.path.join(HERE, 'data', 'champ_labels.jsonl')
HELDOUT_LABELS = os.path.join(HERE, 'data', 'champ_heldout_labels.jsonl')
HELDOUT_B_LABELS = os.path.join(HERE, 'data', 'champ_heldout_b_labels.jsonl')
HELDOUT_C_LABELS = os.path.join(HERE, 'data', 'champ_heldout_c_labels.jsonl')
HELDOUT_D_LABELS = os.path.join(HERE, 'data', 'champ_heldout_d_labels.jsonl')

ALLOWED_MODELS = ('GPT-3.5', 'PaLM 2 Medium')
HELDOUT_MODELS = ('GPT-4', 'GPT-4 Turbo')
#: The prompt conditions of the tuning and held-out sets, in the order their selection
#: rules cycle.
CONDS = (
    '0-Shot',
    '5-Shot',
    'No C w/o H',
    '1/3 Soln',
    'No C w/ H',
    '2/3 Soln',
    'Problem C w/ H',
    'Misleading C w/o H',
)
#: The other ten conditions, those of the second and third held-out sets.
OTHER_CONDS = (
    'Direct C w/ H',
    'Direct C w/o H',
    'Example C w/ H',
    'Example C w/o H',
    'Misleading C w/ H',
    'Name C w/ H',
    'Name C w/o H',
    'Problem C w/o H',
    'Root C w/ H',
    'Root C w/o H',
)
#: Each set's labels file and the models whose conversations it holds.
SETS = {
    'tuning': (LABELS, ALLOWED_MODELS),
    'heldout': (HELDOUT_LABELS, HELDOUT_MODELS),
    'heldout_b': (HELDOUT_B_LABELS, HELDOUT_MODELS),
    'heldout_c': (HELDOUT_C_LABELS, HELDOUT_MODELS),
    'heldout_d': (HELDOUT_D_LABELS, HELDOUT_MODELS),
}
VARIANTS = ('full', 'summary')
ANSWER_CLASSES = ('boxed', 'marker', 'sentence', 'words', 'plaintext_math', 'none')
SUMMARY_PROMPT = 'Now, summarize the answer above in one sentence'

_YES_NO = 'yes/no verdict, not a math value (the parser reads "No" as the product N*o)'
_NO_SOLUTION = 'a non-existence statement ("no solutions", "does not exist"), not a value'
_CHOICE = 'a choice among described alternatives, not a value'
_WRONG = 'reference answer is wrong: '

#: CHAMP problems left out of the set, with the reason (also listed in CHAMP_LABELS.md).
EXCLUDED: Dict[str, str] = {
    **{
        p: _YES_NO
        for p in (
            'P_Combinatorics_17',
            'P_Combinatorics_24',
            'P_Inequality_6',
            'P_Inequality_28',
            'P_Inequality_45',
            'P_Number-Theory_1',
            'P_Number-Theory_2',
            'P_Number-Theory_14',
            'P_Number-Theory_15',
            'P_Number-Theory_16',
            'P_Number-Theory_34',
            'P_Number-Theory_35',
            'P_Number-Theory_38',
            'P_Number-Theory_40',
            'P_Number-Theory_43',
            'P_Number-Theory_45',
            'P_Number-Theory_48',
            'P_Number-Theory_49',
            'P_Number-Theory_61',
            'P_Number-Theory_63',
            'P_Number-Theory_75',
            'P_Number-Theory_80',
            'P_Polynomial_43',
            'P_Polynomial_45',
            'P_Polynomial_49',
            'P_Sequence_1',
            'P_Sequence_3',
            'P_Sequence_15',
            'P_Sequence_32',
            'P_Sequence_37',
            'P_Sequence_45',
            'P_Sequence_47',
            'P_Sequence_49',
        )
    },
    **{
        p: _NO_SOLUTION
        for p in (
            'P_Number-Theory_7',
            'P_Number-Theory_8',
            'P_Number-Theory_9',
            'P_Number-Theory_18',
            'P_Number-Theory_21',
            'P_Number-Theory_23',
            'P_Number-Theory_30',
            'P_Number-Theory_41',
            'P_Number-Theory_47',
            'P_Number-Theory_62',
            'P_Number-Theory_64',
            'P_Number-Theory_68',
            'P_Sequence_5',
            'P_Sequence_12',
            'P_Sequence_13',
            'P_Sequence_24',
            'P_Sequence_25',
            'P_Sequence_38',
        )
    },
    **{
        p: _CHOICE
        for p in ('P_Inequality_9', 'P_Inequality_32', 'P_Sequence_2', 'P_Sequence_17', 'P_Sequence_36')
    },
    'P_Number-Theory_59': 'answer is "infinitely many solutions", a description, not a count',
    'P_Polynomial_15': 'answer is a pair of functions (f(x)=0 or f(x)=1), not a value',
    'P_Sequence_43': 'answer is "yes" plus a described sequence, not a single value',
    'P_Inequality_12': 'answer is the harmonic sum 1 + 1/2 + ... + 1/n, which has no closed form '
    'that twinkle.math.latex.parse_answer accepts',
    'P_Polynomial_46': 'answer x(x-1)(x-2)...(x-2022) needs an ellipsis, which '
    'twinkle.math.latex.parse_answer does not accept',
    'P_Number-Theory_65': _WRONG + '(p, q) = (5, 3) gives 25 - 18 = 7, not 1; the only solution is (3, 2)',
    'P_Sequence_10': _WRONG + 'a_n mod 4 runs 1, 1, 2, 3, 3, 2, 3, 3, ... so a_1964 = 2 mod 4, not 3',
    'P_Sequence_30': _WRONG + 'a_(n+1) + a_n/2 is invariant, so the limit is (a+2b)/3, '
    'not (a+3b)/2 (take a = b: the limit is a)',
    'P_Sequence_33': _WRONG + 'the expression equals 1/8, not 8 '
    '((sqrt(b)-sqrt(a))^2/2 * (sqrt(a)+sqrt(b))^2/4 / (b-a)^2)',
}


class ChampDatasetMissing(ImportError):
    """The champ-dataset package (which holds the model text) is not installed."""


def dataset_path() -> str:
    """Path of the CHAMP JSON file inside the installed champ-dataset package."""
    spec = importlib.util.find_spec('champ_dataset')
    if spec is None or not spec.submodule_search_locations:
        raise ChampDatasetMissing(
            'tests/math/champ.py needs the champ-dataset package for the model text: '
            'pip install champ-dataset natsort'
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], 'dataset_files', 'v0.json')
    if not os.path.isfile(path):
        raise ChampDatasetMissing(f'champ-dataset is installed but {path} is missing')
    return path


def check_conversation_key(key: str, models: Tuple[str, ...] = ALLOWED_MODELS) -> Tuple[str, str]:
    """Splits 'GPT-3.5|0-Shot' into (model, condition); refuses models not in ``models``
    (the tuning set's two by default)."""
    model, sep, condition = key.partition('|')
    if not sep or model not in models:
        raise ValueError(f'conversation {key!r} is not one of {" or ".join(models)}')
    return model, condition


def heldout_selection(problem_ids: List[str], labels: str = 'heldout') -> List[Tuple[str, str]]:
    """A held-out set's conversations, one per problem: for the i-th problem (CHAMP's file
    order, less :data:`EXCLUDED`), ``'heldout'`` takes ``GPT-4`` for i // 8 even and
    ``GPT-4 Turbo`` for odd, under ``CONDS[i % 8]``; ``'heldout_b'`` takes ``GPT-4 Turbo``
    for i // 10 even and ``GPT-4`` for odd, under ``OTHER_CONDS[i % 10]``; ``'heldout_c'``
    takes the other model, under ``OTHER_CONDS[(i + 5) % 10]``; ``'heldout_d'`` takes the
    model ``'heldout'`` does not, under ``CONDS[(i + 4) % 8]``. Each rule was fixed before
    any text of its conversations was read."""
    kept = [p for p in problem_ids if p not in EXCLUDED]
    if labels == 'heldout':
        return [(p, f'{HELDOUT_MODELS[(i // 8) % 2]}|{CONDS[i % 8]}') for i, p in enumerate(kept)]
    if labels == 'heldout_b':
        return [(p, f'{HELDOUT_MODELS[1 - (i // 10) % 2]}|{OTHER_CONDS[i % 10]}') for i, p in enumerate(kept)]
    if labels == 'heldout_c':
        return [
            (p, f'{HELDOUT_MODELS[(i // 10) % 2]}|{OTHER_CONDS[(i + 5) % 10]}') for i, p in enumerate(kept)
        ]
    if labels == 'heldout_d':
        return [(p, f'{HELDOUT_MODELS[1 - (i // 8) % 2]}|{CONDS[(i + 4) % 8]}') for i, p in enumerate(kept)]
    raise ValueError(f"labels must be 'heldout', 'heldout_b', 'heldout_c' or 'heldout_d', not {labels!r}")


def _set(labels: str) -> Tuple[str, Tuple[str, ...]]:
    if labels not in SETS:
        raise ValueError(f'labels must be one of {tuple(SETS)}, not {labels!r}')
    return SETS[labels]


def load_labels(variant: Optional[str] = None, labels: str = 'tuning') -> List[dict]:
    """The label lines (no model text) of one set (:data:`SETS`); needs no package."""
    if variant is not None and variant not in VARIANTS:
        raise ValueError(f'variant must be one of {VARIANTS} or None, not {variant!r}')
    with open(_set(labels)[0], encoding='utf-8') as f:
        cases = [json.loads(line) for line in f if line.strip()]
    return [c for c in cases if variant is None or c['variant'] == variant]


@functools.lru_cache(maxsize=1)
def _dataset() -> Tuple[Tuple[str, ...], Dict[Tuple[str, str], Tuple[str, str, str]]]:
    """CHAMP's problem ids in file order, and for every labelled set's conversations
    (problem id, conversation key) -> (full response, summary, question). The package's
    73 MB file is parsed once for all sets; each set's keys are checked against its own
    models before any message is read."""
    keys = {}
    for name, (_, models) in SETS.items():
        for c in load_labels(labels=name):
            check_conversation_key(c['conversation'], models)
            keys[(c['problem_id'], c['conversation'])] = models
    with open(dataset_path(), encoding='utf-8') as f:
        problems = json.load(f)['problems']
    out = {}
    for (pid, key), models in keys.items():
        model, _ = check_conversation_key(key, models)
        messages = problems[pid]['conversations'][key]['messages']
        full, prompt, summary = messages[-3], messages[-2], messages[-1]
        assert prompt['role'] == 'User' and (prompt['text'] or '').startswith(SUMMARY_PROMPT), (
            f'{pid}|{key}: unexpected message layout'
        )
        assert full['role'] == summary['role'] == f'Model.{model}', (
            f'{pid}|{key}: unexpected roles {full["role"]!r}, {summary["role"]!r}'
        )
        out[(pid, key)] = (full['text'] or '', summary['text'] or '', problems[pid]['_text'])
    return tuple(problems), out


def problem_ids() -> List[str]:
    """CHAMP's problem ids in the order of its file (the order the selection rules count)."""
    return list(_dataset()[0])


def completion(variant: str, full: str, summary: str) -> str:
    """The model output for one variant: 'summary' is the one-sentence summary alone;
    'full' is the full response, a blank line and the summary (the response alone when
    the summary is missing, as in the LENGTH-error conversations)."""
    if variant == 'summary':
        return summary
    return f'{full}\n\n{summary}' if summary else full


def load_champ(variant: Optional[str] = None, labels: str = 'tuning') -> List[dict]:
    """The labelled cases with their model text.

    Args:
        variant: 'full', 'summary' or None (both).
        labels: the set, one of :data:`SETS` ('tuning', 'heldout', 'heldout_b', 'heldout_c',
            'heldout_d').

    Returns:
        Dicts with the fields of the labels file (id, problem_id, conversation, model,
        condition, variant, gold, reference, correct, answer_class, answer_text, note)
        plus 'completion', the model text read from the champ-dataset package, and
        'question', the problem statement (CHAMP's ``_text``) the model answered.

    Raises:
        ChampDatasetMissing: champ-dataset is not installed.
    """
    cases = load_labels(variant, labels)
    texts = _dataset()[1]
    out = []
    for c in cases:
        full, summary, question = texts[(c['problem_id'], c['conversation'])]
        out.append(dict(c, completion=completion(c['variant'], full, summary), question=question))
    return out
