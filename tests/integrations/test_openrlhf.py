"""twinkle as an OpenRLHF reward function.

The OpenRLHF tests run its own code: ``openrlhf.utils.agent.SingleTurnAgentExecutor``
loads the file given as ``--reward.remote_url`` (this module's file, or a user's two-line
file) and calls ``reward_func`` after a generation, as the rollout actor does; then
``SamplesGenerator._process_response_into_experience`` turns the result into an
``Experience``, which is where ``extra_logs`` must be scalars per sample. OpenRLHF 0.11.2
pins deepspeed, flash-attn (CUDA builds), ray 2.55 and transformers 5.15, so it is
installed with --no-deps in the environment ``bash tools/integration_env.sh test`` builds;
the generation engine is a stub returning fixed token ids (vLLM needs a GPU), and vLLM's
module is stubbed as OpenRLHF's own tests stub it.
"""

import asyncio
import importlib.util
import math
import sys
from copy import deepcopy
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
import torch

import twinkle.integrations.openrlhf as adapter
from twinkle.integrations.openrlhf import LOG_KEYS, make_reward_func, response_text, reward_func
from twinkle.reward import MathReward

CHAT = '<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n'


def test_response_text():
    p = CHAT.format(q='2+2?')
    assert response_text(p + 'It is 4.<|im_end|>', p) == 'It is 4.'
    assert response_text('It is 4.</s>', 'another prompt') == 'It is 4.'
    assert response_text('x <|im_end|>\n<|endoftext|>\n', '') == 'x'
    with pytest.raises(TypeError, match='queries'):
        response_text(None, '')


@pytest.mark.parametrize(
    'response, label, reward, outcome, method',
    [
        ('So $\\boxed{4}$.', '4', 1.0, 'correct', 'exact'),
        ('So $\\boxed{5}$.', '4', 0.0, 'incorrect', 'exact'),
        ('Hmm, maybe 4 or 5?', '4', 0.0, 'unparsable', 'no_answer'),
        ('So $\\boxed{4}$.', None, 0.0, 'abstain', 'unparsable_gold'),
    ],
)
def test_reward_func_flags(response, label, reward, outcome, method):
    p = CHAT.format(q='2+2?')
    out = reward_func([p + response + '<|im_end|>'], [p], [label])
    assert out['rewards'].tolist() == [reward] and out['scores'].tolist() == [reward]
    logs = out['extra_logs']
    assert list(logs) == LOG_KEYS
    on = sorted(k for k, v in logs.items() if v.item() == 1.0)
    assert on == sorted([f'twinkle/method/{method}', f'twinkle/outcome/{outcome}'])
    assert all(v.shape == (1,) and v.dtype == torch.float32 for v in logs.values())


def test_batch_and_options():
    fn = make_reward_func(MathReward(), nan_value=-1.0, log_prefix='math/')
    out = fn(['#### 3', '#### 3'], ['', ''], ['3', ''])
    assert out['rewards'].tolist() == [1.0, -1.0]
    assert out['extra_logs']['math/outcome/abstain'].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match='labels'):
        fn(['a'], ['b'], [])
    with pytest.raises(ValueError, match='nan_value'):
        make_reward_func(nan_value=float('nan'))


def test_rewards_are_nan_to_num_of_the_float32_values():
    # NaN takes nan_value, +-inf the largest float32, as torch.nan_to_num does; other values
    # are rounded to float32 as the reward's own tensor holds them.
    values = [0.1, math.nan, math.inf, -math.inf]
    out = make_reward_func(lambda t, g: values, nan_value=-1.0)(['q'] * 4, [''] * 4, ['1'] * 4)
    want = torch.nan_to_num(torch.tensor(values, dtype=torch.float32), nan=-1.0)
    assert torch.equal(out['rewards'], want) and torch.equal(out['scores'], want)
    assert out['rewards'].dtype == torch.float32
    assert out['extra_logs']['twinkle/outcome/abstain'].tolist() == [0.0, 1.0, 0.0, 0.0]


# --- OpenRLHF's own loading and calling code -------------------------------------------------


@pytest.fixture
def agent_module():
    return pytest.importorskip(
        'openrlhf.utils.agent',
        reason='openrlhf is not installed: bash tools/integration_env.sh '
        'test (OpenRLHF pins CUDA-only packages; it is installed with --no-deps there)',
    )


class FixedEngine:
    """Stands in for OpenRLHF's vLLM engine: 'generates' fixed token ids."""

    def __init__(self, token_ids):
        self.token_ids = token_ids

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        out = SimpleNamespace(token_ids=list(self.token_ids), finish_reason='stop', logprobs=None)
        return SimpleNamespace(outputs=[out])


def run_executor(agent_module, remote_url, tok, prompt, response, label):
    executor = agent_module.SingleTurnAgentExecutor(remote_url)
    assert executor.reward_func is not None  # OpenRLHF loaded the .py as a reward function
    ids = tok(response, add_special_tokens=False)['input_ids'] + [tok.eos_token_id]
    params = SimpleNamespace(max_tokens=64, logprobs=None)
    return asyncio.run(executor.execute(prompt, label, params, 512, tok, FixedEngine(ids)))


@pytest.fixture(scope='module')
def tok():
    from twinkle.sampler.testing import tiny_tokenizer

    return tiny_tokenizer()


def test_openrlhf_loads_this_file_and_scores(agent_module, tok):
    prompt = 'Q: what is 2 + 2? A:'
    out = run_executor(agent_module, adapter.__file__, tok, prompt, ' It is \\boxed{4}.', '4')
    assert out['reward'].tolist() == [1.0] and out['scores'].tolist() == [1.0]
    assert out['extra_logs']['twinkle/outcome/correct'].tolist() == [1.0]
    out = run_executor(agent_module, adapter.__file__, tok, prompt, ' It is \\boxed{5}.', '4')
    assert out['reward'].tolist() == [0.0]
    assert out['extra_logs']['twinkle/outcome/incorrect'].tolist() == [1.0]


def test_openrlhf_user_file_with_timeout(agent_module, tok, tmp_path):
    path = tmp_path / 'my_reward.py'
    path.write_text(
        'from twinkle.integrations.openrlhf import make_reward_func\n'
        'from twinkle.reward import MathReward\n'
        'reward_func = make_reward_func(MathReward(sympy_deadline_s=1.0))\n'
    )
    # (10^7)! has 65 million digits: only the deadline ends sympy's work.
    out = run_executor(agent_module, str(path), tok, 'Q: big? A:', ' \\boxed{(10^{7})!}', '(10^{7})! + 1')
    logs = out['extra_logs']
    assert out['reward'].tolist() == [0.0]
    assert logs['twinkle/outcome/timeout'].tolist() == [1.0]
    assert logs['twinkle/method/timeout'].tolist() == [1.0]
    assert logs['twinkle/outcome/incorrect'].tolist() == [0.0]  # not mistaken for wrong


def test_openrlhf_logs_a_failing_reward_as_no_reward(agent_module, tok, tmp_path):
    # What OpenRLHF does when a reward function raises: why the adapter never raises on data.
    path = tmp_path / 'broken.py'
    path.write_text('def reward_func(queries, prompts, labels):\n    raise RuntimeError("x")\n')
    out = run_executor(agent_module, str(path), tok, 'Q', ' \\boxed{1}', '1')
    assert out['reward'] is None


def test_extra_logs_become_experience_info(agent_module, tok, monkeypatch):
    """OpenRLHF's SamplesGenerator turns our reward dict into an Experience."""
    monkeypatch.setitem(sys.modules, 'vllm', SimpleNamespace(SamplingParams=object))
    monkeypatch.setitem(sys.modules, 'openrlhf.trainer.ray.vllm_engine', MagicMock())
    spec = importlib.util.find_spec('openrlhf.trainer.ppo_utils.samples_generator')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = run_executor(agent_module, adapter.__file__, tok, 'Q: 2+2? A:', ' \\boxed{4}', '4')
    exp = module.SamplesGenerator._process_response_into_experience(None, deepcopy(out), max_len=512)
    assert exp.rewards.flatten().tolist() == [1.0]
    assert set(LOG_KEYS) <= set(exp.info)
    assert exp.info['twinkle/outcome/correct'].flatten().tolist() == [1.0]
    assert math.isclose(exp.info['twinkle/method/exact'].float().mean().item(), 1.0)
