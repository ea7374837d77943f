"""The CHAMP labelled set (tests/math/champ.py, tests/math/data/champ_labels.jsonl).

Checks the shape of the labels file, that every gold parses, and that the loader fills
the model text from the champ-dataset package (skipped when it is not installed). The
counts per variant, answer class and label are printed (``pytest -s``).
"""

import collections

import pytest

from tests.math import champ
from tests.math.champ import (
    ALLOWED_MODELS,
    ANSWER_CLASSES,
    EXCLUDED,
    VARIANTS,
    ChampDatasetMissing,
    check_conversation_key,
    load_champ,
    load_labels,
)
from twinkle.math.latex import parse_answer
from twinkle.math.normalize import normalize

FIELDS = {
    'id',
    'problem_id',
    'conversation',
    'model',
    'condition',
    'variant',
    'gold',
    'reference',
    'correct',
    'answer_class',
    'answer_text',
    'note',
}


@pytest.fixture(scope='module')
def labels():
    return load_labels()


def test_shape_of_the_labels(labels):
    assert len(labels) >= 840
    assert len({c['id'] for c in labels}) == len(labels)
    assert len({c['problem_id'] for c in labels}) >= 120
    for c in labels:
        assert set(c) == FIELDS, c['id']
        assert c['id'] == f'{c["problem_id"]}|{c["conversation"]}|{c["variant"]}'
        assert check_conversation_key(c['conversation']) == (c['model'], c['condition'])
        assert c['model'] in ALLOWED_MODELS
        assert c['variant'] in VARIANTS
        assert c['answer_class'] in ANSWER_CLASSES, c['id']
        assert isinstance(c['correct'], bool)
        assert not (c['answer_class'] == 'none' and c['correct']), c['id']
        assert c['problem_id'] not in EXCLUDED, c['id']


def test_both_variants_of_every_conversation(labels):
    per_conv = collections.defaultdict(set)
    for c in labels:
        per_conv[(c['problem_id'], c['conversation'])].add(c['variant'])
    assert len(per_conv) >= 420
    assert all(v == set(VARIANTS) for v in per_conv.values())


def test_mix_of_models_and_conditions(labels):
    convs = {(c['problem_id'], c['conversation']) for c in labels}
    assert set(collections.Counter(k.split('|')[0] for _, k in convs)) == set(ALLOWED_MODELS)
    assert len({k.split('|')[1] for _, k in convs}) >= 4


def test_one_gold_per_problem(labels):
    golds = collections.defaultdict(set)
    for c in labels:
        golds[c['problem_id']].add(c['gold'])
    assert all(len(g) == 1 for g in golds.values())


def test_every_gold_parses(labels):
    for gold in sorted({c['gold'] for c in labels}):
        parse_answer(normalize(gold), True)  # raises ParseError if not


def test_counts(labels):
    """Prints the table (pytest -s); both labels occur in each variant."""
    per = collections.Counter((c['variant'], c['answer_class'], c['correct']) for c in labels)
    print(f'\nCHAMP labelled set: {len(labels)} pairs, {len({c["problem_id"] for c in labels})} problems')
    for variant in VARIANTS:
        n_true = sum(n for (v, _, ok), n in per.items() if v == variant and ok)
        n_all = sum(n for (v, _, _), n in per.items() if v == variant)
        print(f'{variant:8s} correct {n_true:4d}  incorrect {n_all - n_true:4d}')
        for cls in ANSWER_CLASSES:
            t, f = per[(variant, cls, True)], per[(variant, cls, False)]
            print(f'    {cls:15s} correct {t:4d}  incorrect {f:4d}')
        assert 0 < n_true < n_all


def test_loader_fills_the_model_text():
    pytest.importorskip('champ_dataset')
    cases = load_champ()
    assert [c['id'] for c in cases] == [c['id'] for c in load_labels()]
    by_id = {c['id']: c for c in cases}
    for c in cases:
        assert isinstance(c['completion'], str)
        if c['variant'] == 'full':
            summary = by_id[c['id'][: -len('full')] + 'summary']['completion']
            assert c['completion'].endswith(summary)
            assert c['completion'] != summary
        elif c['answer_class'] != 'none':
            assert c['completion'].strip(), c['id']
    assert {c['variant'] for c in load_champ('summary')} == {'summary'}
    assert len(load_champ('full')) == len(cases) // 2
    with pytest.raises(ValueError):
        load_champ('both')


def test_loader_refuses_other_models():
    for key in ('GPT-4|0-Shot', 'GPT-4 Turbo|5-Shot', 'GPT-3.5', 'palm|0-Shot'):
        with pytest.raises(ValueError):
            check_conversation_key(key)


def test_clear_error_without_the_package(monkeypatch):
    real = champ.importlib.util.find_spec
    monkeypatch.setattr(
        champ.importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'champ_dataset' else real(name, *a),
    )
    with pytest.raises(ChampDatasetMissing, match='pip install champ-dataset'):
        champ.dataset_path()
