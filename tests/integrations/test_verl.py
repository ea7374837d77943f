"""twinkle in verl's Reward Loop.

The first tests need no verl. The rest drive verl 0.9.1's own code: its trainer config
(``verl/trainer/config/ppo_trainer.yaml``, composed with hydra as verl's tests do), its
``RewardLoopManager``, which starts ``RewardLoopWorker`` Ray actors on a local Ray
instance (``ray.init(num_cpus=2)``) and chunks a ``DataProto`` between them, and verl's
``naive`` and ``rate_limited`` managers calling :func:`compute_score`, or twinkle's
manager chosen by ``reward.reward_manager``. verl pins transformers<5.11, so these run in
the environment ``bash tools/integration_env.sh test`` builds; elsewhere they skip.
"""

import asyncio
import importlib.util
import inspect
import os

import numpy as np
import pytest
import torch

from twinkle.integrations.verl import VerlScorer, compute_score, compute_score_batch

FIELDS = {'score', 'acc', 'outcome', 'method', 'answer', 'timeout', 'abstained'}

# (response, ground truth, score, outcome): one of each outcome.
ROWS = [
    ('2 + 2 = 4, so the answer is $\\boxed{4}$.', '4', 1.0, 'correct'),
    ('I think it is 5.\n#### 5', '4', 0.0, 'incorrect'),
    ('Let me think about it some more', '4', 0.0, 'unparsable'),
    ('#### 7', '', 0.0, 'abstain'),  # an empty gold: twinkle abstains, verl gets nan_value
]
# (10^7)! has 65 million digits: sympy needs minutes, so only the deadline ends it.
SLOW = ('So the answer is $\\boxed{(10^{7})!}$.', '(10^{7})! + 1', 0.0, 'timeout')


# --- the reward function alone -------------------------------------------------------------


def test_signatures_follow_verl():
    # verl's managers call compute_score(data_source=, solution_str=, ground_truth=,
    # extra_info=, **reward_kwargs); the legacy BatchRewardManager the plural names.
    assert list(inspect.signature(compute_score).parameters)[:4] == [
        'data_source',
        'solution_str',
        'ground_truth',
        'extra_info',
    ]
    assert list(inspect.signature(compute_score_batch).parameters)[:4] == [
        'data_sources',
        'solution_strs',
        'ground_truths',
        'extra_infos',
    ]


@pytest.mark.parametrize('solution, gt, score, outcome', ROWS)
def test_compute_score_explains(solution, gt, score, outcome):
    d = compute_score('openai/gsm8k', solution, gt, {'index': 0})
    assert set(d) == FIELDS
    assert (d['score'], d['outcome']) == (score, outcome)
    assert d['timeout'] == 0.0 and d['abstained'] == float(outcome == 'abstain')
    assert isinstance(d['method'], str) and isinstance(d['answer'], str)


@pytest.mark.parametrize('gt', ['72', 72, np.int64(72), 72.0])
def test_numeric_ground_truths(gt):  # verl parquet columns may hold numbers
    assert compute_score('gsm8k', '#### 72', gt)['score'] == 1.0


def test_reward_kwargs_are_math_options():
    d = compute_score('math', *SLOW[:2], sympy_deadline_s=1.0)
    assert (d['score'], d['outcome'], d['method'], d['timeout']) == (0.0, 'timeout', 'timeout', 1.0)
    with pytest.raises(TypeError, match='bogus'):
        compute_score('math', '#### 1', '1', bogus=1)


def test_batch_form_matches_single_calls():
    sols = ['#### 1', '#### 2', '#### 3', 'no']
    gts = ['1', '1', '3', '3']
    srcs = np.array(['a', 'b', 'a', 'b'], dtype=object)  # verl passes numpy arrays
    assert compute_score_batch(srcs, sols, gts, [None] * 4) == [
        compute_score(s, x, g) for s, x, g in zip(srcs, sols, gts)
    ]


def test_custom_reward_per_data_source_and_nan():
    exact = lambda t, g: [float(a == b) for a, b in zip(t, g)]  # noqa: E731
    abstain = lambda t, g: [float('nan')] * len(t)  # noqa: E731
    s = VerlScorer(exact, by_data_source={'hard': abstain}, nan_value=-1.0)
    out = s.compute_score_batch(['easy', 'hard', 'easy'], ['x', 'x', 'y'], ['x', 'x', 'x'])
    assert [d['score'] for d in out] == [1.0, -1.0, 0.0]
    assert [d['outcome'] for d in out] == ['scored', 'abstain', 'scored']


def test_bad_input():
    s = VerlScorer(lambda t, g: [0.0] * len(t))
    with pytest.raises(ValueError, match='same length'):
        s.compute_score_batch(['a'], ['x', 'y'], ['1', '2'])
    with pytest.raises(ValueError, match='extra_infos'):
        s.compute_score_batch(['a'], ['x'], ['1'], [None, None])
    with pytest.raises(TypeError, match=r'solution_strs\[0\]'):
        s.compute_score_batch(['a'], [None], ['1'])
    with pytest.raises(ValueError, match='nan_value'):
        VerlScorer(lambda t, g: [], nan_value=float('nan'))


# --- verl's own Reward Loop -----------------------------------------------------------------

HAVE_VERL = importlib.util.find_spec('verl') is not None and importlib.util.find_spec('ray')
needs_verl = pytest.mark.skipif(
    not HAVE_VERL,
    reason='verl is not installed: bash tools/integration_env.sh test (verl pins transformers<5.11)',
)


@pytest.fixture(scope='module')
def tokenizer_dir(tmp_path_factory):
    from twinkle.sampler.testing import tiny_tokenizer

    path = tmp_path_factory.mktemp('tokenizer')
    tiny_tokenizer().save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope='module')
def local_ray():
    ray = pytest.importorskip('ray')
    # The workers import twinkle from this checkout, whatever the interpreter's site.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={'env_vars': {'PYTHONPATH': root + os.pathsep + os.environ.get('PYTHONPATH', '')}},
    )
    yield ray
    ray.shutdown()


def verl_config(tokenizer_dir, *overrides):
    """verl's own PPO trainer config, with the reward overrides a user would pass."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = os.path.join(os.path.dirname(verl.__file__), 'trainer', 'config')
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose(
            config_name='ppo_trainer', overrides=[f'actor_rollout_ref.model.path={tokenizer_dir}', *overrides]
        )


def data_proto(tokenizer_dir, rows):
    """A DataProto as verl's rollout hands it to the reward loop: left-padded prompts,
    right-padded responses, one attention mask over both."""
    from transformers import AutoTokenizer
    from verl import DataProto

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    prompt = tok('What is 2 + 2?')['input_ids']
    resp = [tok(r)['input_ids'] + [tok.eos_token_id] for r, *_ in rows]
    width = max(map(len, resp)) + 3
    b = len(rows)
    prompts = torch.tensor([prompt] * b)
    responses = torch.full((b, width), tok.pad_token_id)
    mask = torch.zeros((b, len(prompt) + width), dtype=torch.int64)
    mask[:, : len(prompt)] = 1
    for i, r in enumerate(resp):
        responses[i, : len(r)] = torch.tensor(r)
        mask[i, len(prompt) : len(prompt) + len(r)] = 1
    return DataProto.from_dict(
        tensors={
            'prompts': prompts,
            'responses': responses,
            'attention_mask': mask,
            'input_ids': torch.cat([prompts, responses], 1),
        },
        non_tensors={
            'data_source': np.array(['openai/gsm8k'] * b, dtype=object),
            'reward_model': np.array(
                [{'ground_truth': g, 'style': 'rule'} for _, g, *_ in rows], dtype=object
            ),
            'extra_info': np.array([{'index': i} for i in range(b)], dtype=object),
        },
    )


def run_reward_loop(config, data):
    """verl's RewardLoopManager end to end; its actors are removed afterwards (they are
    named, so the next manager could not start its own)."""
    import ray
    from verl.experimental.reward_loop import RewardLoopManager

    manager = RewardLoopManager(config)
    try:
        return manager.compute_rm_score(data)
    finally:
        for w in manager.reward_loop_workers:
            ray.kill(w)


def check_scores(out, data, rows):
    prompt_len = data.batch['prompts'].shape[1]
    last = data.batch['attention_mask'][:, prompt_len:].sum(1) - 1
    rm = out.batch['rm_scores']
    assert rm[torch.arange(len(rows)), last].tolist() == [r[2] for r in rows]
    assert rm.sum().item() == sum(r[2] for r in rows)  # one score per row, at its last token
    assert list(out.non_tensor_batch['outcome']) == [r[3] for r in rows]
    assert set(out.meta_info['reward_extra_keys']) >= FIELDS


@needs_verl
@pytest.mark.parametrize('manager', ['naive', 'rate_limited'])
def test_compute_score_in_verl_reward_loop(local_ray, tokenizer_dir, manager):
    rows = ROWS + [SLOW]
    config = verl_config(
        tokenizer_dir,
        'reward.num_workers=2',
        f'reward.reward_manager.name={manager}',
        'reward.custom_reward_function.path=pkg://twinkle.integrations.verl',
        'reward.custom_reward_function.name=compute_score',
        '+reward.custom_reward_function.reward_kwargs.sympy_deadline_s=1.0',
    )
    data = data_proto(tokenizer_dir, rows)
    out = run_reward_loop(config, data)
    check_scores(out, data, rows)
    info = out.non_tensor_batch
    assert info['timeout'].tolist() == [0.0] * len(ROWS) + [1.0]
    assert info['abstained'].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert info['answer'][0] == '4' and info['method'][2] == 'no_answer'


@needs_verl
def test_twinkle_manager_in_verl_reward_loop(local_ray, tokenizer_dir):
    config = verl_config(
        tokenizer_dir,
        'reward.num_workers=2',
        'reward.reward_manager.source=importlib',
        'reward.reward_manager.name=TwinkleRewardManager',
        'reward.reward_manager.module.path=pkg://twinkle.integrations.verl',
    )
    rows = ROWS * 2  # two chunks of four, one per worker
    data = data_proto(tokenizer_dir, rows)
    check_scores(run_reward_loop(config, data), data, rows)


@needs_verl
def test_twinkle_manager_scores_a_chunk_in_one_call(tokenizer_dir):
    """verl's RewardLoopWorker, in process: its chunk reaches twinkle as one batch."""
    from verl.experimental.reward_loop import RewardLoopWorker

    config = verl_config(
        tokenizer_dir,
        'reward.reward_manager.source=register',
        'reward.reward_manager.name=twinkle',
        'reward.custom_reward_function.path=null',
        '+reward.reward_kwargs.twinkle_reward=tests.integrations.test_verl:gsm8k_reward',
        '+reward.reward_kwargs.nan_value=-1.0',
    )
    from twinkle.integrations.verl import TwinkleRewardManager  # registers 'twinkle' here

    assert TwinkleRewardManager.__name__ == 'TwinkleRewardManager'
    worker = RewardLoopWorker(config)
    rows = ROWS * 3
    out = asyncio.run(worker.compute_score_batch(data_proto(tokenizer_dir, rows)))
    assert [o['reward_score'] for o in out] == [-1.0 if r[3] == 'abstain' else r[2] for r in rows]
    assert [o['reward_extra_info']['outcome'] for o in out] == [r[3] for r in rows]
    manager = worker.reward_manager
    assert list(manager.batches) == [len(rows)]
    assert type(manager.reward).__name__ == 'GSM8KReward' and manager.reward.tokenizer is not None


def gsm8k_reward(tokenizer):
    """A reward factory named by ``reward_kwargs.twinkle_reward`` in the test above."""
    from twinkle.reward import GSM8KReward

    return GSM8KReward(tokenizer=tokenizer)
