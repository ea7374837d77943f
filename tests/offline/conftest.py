"""Real input files for the offline tests: CHAMP model answers (several per problem)."""

import json

import pytest


def champ_rows():
    """One row per CHAMP answer: problem_id, completion, solution (the gold), prompt."""
    from tests.math.champ import ChampDatasetMissing, load_champ

    try:
        cases = load_champ()
    except ChampDatasetMissing as e:
        pytest.skip(str(e))
    return [
        {
            'problem_id': c['problem_id'],
            'completion': c['completion'],
            'solution': c['gold'],
            'model': c['model'],
            'variant': c['variant'],
        }
        for c in cases
    ]


def write_jsonl(path, rows):
    with open(path, 'w', encoding='utf-8') as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + '\n')
    return str(path)


def read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope='session')
def champ_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp('champ') / 'champ.jsonl', champ_rows())
