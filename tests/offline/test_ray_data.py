"""The Ray Data pipeline on a local Ray instance (2 CPUs): the same verdicts as a local run."""

import pytest

ray = pytest.importorskip('ray')
pytest.importorskip('ray.data')

from tests.offline.conftest import read_jsonl  # noqa: E402
from twinkle.offline.cli import main  # noqa: E402
from twinkle.offline.ray_data import RayScorer, ray_backend  # noqa: E402
from twinkle.offline.run import score_file  # noqa: E402
from twinkle.serve.scorer import Scorer  # noqa: E402


@pytest.fixture(scope='module')
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_run_gives_the_local_verdicts(local_ray, champ_file, tmp_path):
    local = str(tmp_path / 'local.jsonl')
    assert (
        main([champ_file, '--out', local, '--reward', 'math', '--reward', 'format=0.5', '--no-progress']) == 0
    )
    on_ray = str(tmp_path / 'ray.jsonl')
    # The CLI joins the Ray instance already running in this process.
    assert (
        main(
            [
                champ_file,
                '--out',
                on_ray,
                '--reward',
                'math',
                '--reward',
                'format=0.5',
                '--no-progress',
                '--ray',
                '--ray-workers',
                '2',
                '--batch-size',
                '128',
            ]
        )
        == 0
    )
    assert read_jsonl(on_ray) == read_jsonl(local)


def test_ray_run_resumes(local_ray, champ_file, tmp_path):
    out = tmp_path / 'out.jsonl'
    scorer = Scorer(['math'])
    full = read_jsonl(champ_file)
    score_file(champ_file, str(tmp_path / 'ref.jsonl'), scorer, progress=False)
    lines = (tmp_path / 'ref.jsonl').read_text(encoding='utf-8').splitlines(keepends=True)
    out.write_text(''.join(lines[:400]), encoding='utf-8')
    run = score_file(
        champ_file,
        str(out),
        scorer,
        batch_size=100,
        progress=False,
        backend=ray_backend(scorer, workers=2, batch_size=100, window=250),
    )
    assert (run.scored, run.resumed) == (len(full) - 400, 400)
    assert read_jsonl(out) == read_jsonl(tmp_path / 'ref.jsonl')


def test_ray_scorer_keeps_nan():
    out = RayScorer(['math'])(
        {'input_row': [0], 'completion': ['The answer is 4.'], 'gold': ['null'], 'prompt': ['"What is 2+2?"']}
    )
    import json

    reward, parts, explanation = json.loads(out['result'][0])
    assert reward != reward and explanation['math']['method'] == 'unparsable_gold'
