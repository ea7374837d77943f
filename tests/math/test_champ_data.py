"""The CHAMP labelled sets (tests/math/champ.py): the tuning set
(tests/math/data/champ_labels.jsonl) and the four held-out sets (champ_heldout_labels.jsonl,
champ_heldout_b_labels.jsonl, champ_heldout_c_labels.jsonl, champ_heldout_d_labels.jsonl).

Checks the shape of each labels file, that every gold parses, that each held-out set
follows its selection rule with the tuning set's golds, and that the loader fills the
model text from the champ-dataset package (skipped when it is not installed). The counts
per variant, answer class and label are printed (``pytest -s``).
"""

import collections

import pytest

from tests.math import champ
from tests.math.champ import (
    ANSWER_CLASSES,
    EXCLUDED,
    SETS,
    VARIANTS,
    ChampDatasetMissing,
    check_conversation_key,
    heldout_selection,
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


HELDOUT = ('heldout', 'heldout_b', 'heldout_c', 'heldout_d')


@pytest.fixture(scope='module')
def labels():
    return load_labels()


@pytest.mark.parametrize('name', SETS)
def test_shape_of_the_labels(name):
    labels = load_labels(labels=name)
    assert len(labels) >= (840 if name == 'tuning' else 400)
    assert len({c['id'] for c in labels}) == len(labels)
    assert len({c['problem_id'] for c in labels}) >= 120
    for c in labels:
        assert set(c) == FIELDS, c['id']
        assert c['id'] == f'{c["problem_id"]}|{c["conversation"]}|{c["variant"]}'
        assert check_conversation_key(c['conversation'], SETS[name][1]) == (c['model'], c['condition'])
        assert c['variant'] in VARIANTS
        assert c['answer_class'] in ANSWER_CLASSES, c['id']
        assert isinstance(c['correct'], bool)
        assert not (c['answer_class'] == 'none' and c['correct']), c['id']
        assert c['problem_id'] not in EXCLUDED, c['id']


@pytest.mark.parametrize('name', SETS)
def test_both_variants_of_every_conversation(name):
    per_conv = collections.defaultdict(list)
    for c in load_labels(labels=name):
        per_conv[(c['problem_id'], c['conversation'])].append(c['variant'])
    assert len(per_conv) >= (420 if name == 'tuning' else 200)
    assert all(sorted(v) == sorted(VARIANTS) for v in per_conv.values())


@pytest.mark.parametrize('name', HELDOUT)
def test_heldout_set_has_the_tuning_sets_problems_and_golds(labels, name):
    """One conversation per problem, every problem of the tuning set, each with the gold
    and reference the tuning set checked."""
    heldout = load_labels(labels=name)
    gold = {c['problem_id']: (c['gold'], c['reference']) for c in labels}
    convs = {(c['problem_id'], c['conversation']) for c in heldout}
    assert sorted(p for p, _ in convs) == sorted(gold)
    for c in heldout:
        assert (c['gold'], c['reference']) == gold[c['problem_id']], c['id']


def test_the_sets_share_no_conversation():
    seen = {}
    for name in SETS:
        for c in load_labels(labels=name):
            assert seen.setdefault(c['id'], name) == name, c['id']


@pytest.mark.parametrize('name', HELDOUT)
def test_heldout_variants_share_their_label_unless_noted(name):
    """A conversation's summary and full pairs differ in label only where the summary
    commits to no value and the body does (rule 9), which the note says."""
    by_conv = collections.defaultdict(dict)
    for c in load_labels(labels=name):
        by_conv[(c['problem_id'], c['conversation'])][c['variant']] = c
    for pair in by_conv.values():
        s, f = pair['summary'], pair['full']
        if s['correct'] != f['correct']:
            assert s['answer_class'] == 'none' or s['note'] or f['note'], f['id']


@pytest.mark.parametrize('name', HELDOUT)
def test_heldout_follows_its_selection_rule(name):
    pytest.importorskip('champ_dataset')
    want = heldout_selection(champ.problem_ids(), name)
    got = []
    for c in load_labels(labels=name):
        if (c['problem_id'], c['conversation']) not in got:
            got.append((c['problem_id'], c['conversation']))
    assert got == want


@pytest.mark.parametrize('name', SETS)
def test_mix_of_models_and_conditions(name):
    convs = {(c['problem_id'], c['conversation']) for c in load_labels(labels=name)}
    assert set(collections.Counter(k.split('|')[0] for _, k in convs)) == set(SETS[name][1])
    assert len({k.split('|')[1] for _, k in convs}) >= 4


def test_one_gold_per_problem(labels):
    golds = collections.defaultdict(set)
    for c in labels:
        golds[c['problem_id']].add(c['gold'])
    assert all(len(g) == 1 for g in golds.values())


def test_every_gold_parses(labels):  # the held-out set's golds are the same (above)
    for gold in sorted({c['gold'] for c in labels}):
        parse_answer(normalize(gold), True)  # raises ParseError if not


@pytest.mark.parametrize('name', SETS)
def test_counts(name):
    """Prints the table (pytest -s); both labels occur in each variant."""
    labels = load_labels(labels=name)
    per = collections.Counter((c['variant'], c['answer_class'], c['correct']) for c in labels)
    print(f'\nCHAMP {name} set: {len(labels)} pairs, {len({c["problem_id"] for c in labels})} problems')
    for variant in VARIANTS:
        n_true = sum(n for (v, _, ok), n in per.items() if v == variant and ok)
        n_all = sum(n for (v, _, _), n in per.items() if v == variant)
        print(f'{variant:8s} correct {n_true:4d}  incorrect {n_all - n_true:4d}')
        for cls in ANSWER_CLASSES:
            t, f = per[(variant, cls, True)], per[(variant, cls, False)]
            print(f'    {cls:15s} correct {t:4d}  incorrect {f:4d}')
        assert 0 < n_true < n_all


@pytest.mark.parametrize('name', SETS)
def test_loader_fills_the_model_text(name):
    pytest.importorskip('champ_dataset')
    cases = load_champ(labels=name)
    assert [c['id'] for c in cases] == [c['id'] for c in load_labels(labels=name)]
    by_id = {c['id']: c for c in cases}
    for c in cases:
        assert isinstance(c['completion'], str)
        if c['variant'] == 'full':
            summary = by_id[c['id'][: -len('full')] + 'summary']['completion']
            assert c['completion'].endswith(summary)
            assert c['completion'] != summary
        elif c['answer_class'] != 'none':
            assert c['completion'].strip(), c['id']
    assert {c['variant'] for c in load_champ('summary', labels=name)} == {'summary'}
    assert len(load_champ('full', labels=name)) == len(cases) // 2
    with pytest.raises(ValueError):
        load_champ('both', labels=name)


def test_loader_refuses_other_models():
    for key in ('GPT-4|0-Shot', 'GPT-4 Turbo|5-Shot', 'GPT-3.5', 'palm|0-Shot'):
        with pytest.raises(ValueError):
            check_conversation_key(key)
    for key in ('GPT-3.5|0-Shot', 'PaLM 2 Medium|5-Shot', 'GPT-4'):
        with pytest.raises(ValueError, match='GPT-4 or GPT-4 Turbo'):
            check_conversation_key(key, SETS['heldout'][1])


def test_clear_error_without_the_package(monkeypatch):
    real = champ.importlib.util.find_spec
    monkeypatch.setattr(
        champ.importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'champ_dataset' else real(name, *a),
    )
    with pytest.raises(ChampDatasetMissing, match='pip install champ-dataset'):
        champ.dataset_path()
