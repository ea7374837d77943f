"""TransformersSampler on a tiny random-init model, the vLLM path's error, model ids."""

import importlib.util

import pytest
import torch

from twinkle.data_format import Completion, SampleResponse, SamplingParams, Trajectory
from twinkle.sampler import Sampler, TransformersSampler, resolve_model_id, vLLMSampler
from twinkle.sampler.base import finish_completion, normalize_batch
from twinkle.sampler.testing import tiny_causal_lm, tiny_tokenizer

PROMPTS = ['1 2 3', 'hello there, how are you?', 'x']


@pytest.fixture(scope='module')
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope='module')
def model(tok):
    return tiny_causal_lm(tok, hidden_size=32, num_layers=2, num_heads=2)


@pytest.fixture(scope='module')
def sampler(model, tok):
    return TransformersSampler(model, tok)


# -- shapes and order ------------------------------------------------------------------


@pytest.mark.parametrize('num_samples', [1, 3])
def test_response_is_prompt_major(sampler, num_samples):
    r = sampler.sample(PROMPTS, num_samples=num_samples, sampling_params={'max_tokens': 5, 'seed': 0})
    assert isinstance(r, SampleResponse)
    assert (r.num_prompts, r.num_samples, len(r)) == (3, num_samples, 3 * num_samples)
    for b, traj in enumerate(r.trajectories):
        p = b // num_samples
        assert traj.messages[0].content == PROMPTS[p]
        assert traj.messages[-1].role == 'assistant'
        assert traj.messages[-1].content == r.texts[b]
        assert traj.completion_ids == r.token_ids[b]
    assert r.group_ids == [b // num_samples for b in range(len(r))]
    for row in r.completions:
        for c in row:
            assert c.stop_reason in ('eos', 'stop', 'length')
            assert 1 <= len(c.token_ids) <= 5


def test_ids_decode_to_text(sampler, tok):
    r = sampler.sample(PROMPTS, num_samples=4, sampling_params={'max_tokens': 6, 'seed': 1})
    for c in (c for row in r.completions for c in row):
        assert tok.decode(c.token_ids, skip_special_tokens=True) == c.text
        if c.stop_reason == 'length':
            assert len(c.token_ids) == 6
        if c.stop_reason == 'eos':
            assert c.token_ids[-1] in sampler.eos_token_ids
            assert not any(t in sampler.eos_token_ids for t in c.token_ids[:-1])


def test_seed_repeats_and_varies(sampler):
    params = SamplingParams(max_tokens=8, seed=123)
    a = sampler.sample(PROMPTS, num_samples=4, sampling_params=params)
    b = sampler.sample(PROMPTS, num_samples=4, sampling_params=params)
    c = sampler.sample(PROMPTS, num_samples=4, sampling_params=params.to_dict() | {'seed': 7})
    assert a.token_ids == b.token_ids
    assert a.token_ids != c.token_ids


def test_seed_leaves_global_rng_alone(sampler):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    sampler.sample(['1'], num_samples=2, sampling_params={'max_tokens': 3, 'seed': 0})
    assert torch.equal(torch.rand(3), expected)


def test_greedy_left_padding_matches_unbatched(sampler):
    # Left padding with an attention mask must not change what a prompt generates.
    params = {'max_tokens': 8, 'temperature': 0}
    together = sampler.sample(PROMPTS, num_samples=2, sampling_params=params)
    for p, prompt in enumerate(PROMPTS):
        alone = sampler.sample([prompt], num_samples=1, sampling_params=params)
        assert together.token_ids[2 * p] == together.token_ids[2 * p + 1] == alone.token_ids[0]


def test_max_batch_size_chunks_give_same_greedy_result(model, tok):
    params = {'max_tokens': 6, 'temperature': 0}
    whole = TransformersSampler(model, tok).sample(PROMPTS, 2, params)
    chunked = TransformersSampler(model, tok, max_batch_size=2).sample(PROMPTS, 2, params)
    assert whole.token_ids == chunked.token_ids


def test_stop_strings_cut_the_text(sampler, tok):
    # Sample until something stops on a common character.
    r = sampler.sample(
        PROMPTS, num_samples=8, sampling_params={'max_tokens': 12, 'seed': 3, 'stop': ['e', 'a']}
    )
    stopped = [c for row in r.completions for c in row if c.stop_reason == 'stop']
    assert stopped, 'expected some completion to hit a stop string'
    for c in stopped:
        assert c.stop_string in ('e', 'a')
        assert 'e' not in c.text and 'a' not in c.text
        assert c.text.startswith(tok.decode(c.token_ids, skip_special_tokens=True))


def test_chat_template_is_applied(model):
    template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        '{% if add_generation_prompt %}assistant: {% endif %}'
    )
    tok = tiny_tokenizer(chat_template=template)
    s = TransformersSampler(model, tok)
    assert s.use_chat_template
    r = s.sample(
        [
            Trajectory(
                messages=[{'role': 'system', 'content': 'be brief'}, {'role': 'user', 'content': '1+1'}]
            )
        ],
        num_samples=1,
        sampling_params={'max_tokens': 2},
    )
    assert tok.decode(r.prompt_token_ids[0]) == 'system: be brief\nuser: 1+1\nassistant: '
    with pytest.raises(ValueError, match='chat_template'):
        TransformersSampler(model, tiny_tokenizer(), chat_template=True)


def test_batch_forms(sampler):
    traj = Trajectory(messages=[{'role': 'user', 'content': 'hi'}], user_data=[('k', 1)])
    r = sampler.sample(
        [traj, {'messages': [{'role': 'user', 'content': 'yo'}]}, 'z'],
        num_samples=2,
        sampling_params={'max_tokens': 2},
    )
    assert [t.messages[0].content for t in r.trajectories] == ['hi', 'hi', 'yo', 'yo', 'z', 'z']
    assert r.trajectories[0].get_user_data('k') == 1


def test_empty_batch(sampler):
    r = sampler.sample([], num_samples=4)
    assert len(r) == 0 and r.trajectories == []


@pytest.mark.parametrize(
    'bad, err, match',
    [
        ('a string', TypeError, 'batch'),
        ([3], TypeError, r'batch\[0\]'),
        ([{'role': 'user'}], TypeError, r'batch\[0\]'),
    ],
)
def test_bad_batch(sampler, bad, err, match):
    with pytest.raises(err, match=match):
        sampler.sample(bad, num_samples=1)


@pytest.mark.parametrize('n', [0, -1, 1.5, True])
def test_bad_num_samples(sampler, n):
    with pytest.raises(ValueError, match='num_samples'):
        sampler.sample(['x'], num_samples=n)


def test_bad_sampling_params(sampler):
    with pytest.raises(ValueError, match='unknown fields'):
        sampler.sample(['x'], 1, {'max_new_tokens': 3})
    with pytest.raises(TypeError, match='sampling_params'):
        sampler.sample(['x'], 1, 'greedy')


def test_bad_model_and_tokenizer(model):
    with pytest.raises(TypeError, match='model'):
        TransformersSampler(object(), tiny_tokenizer())
    with pytest.raises(ValueError, match='tokenizer'):
        TransformersSampler(model)
    with pytest.raises(ValueError, match='max_batch_size'):
        TransformersSampler(model, tiny_tokenizer(), max_batch_size=0)


def test_model_stays_in_train_mode(model, tok):
    model.train()
    TransformersSampler(model, tok).sample(['1'], 1, {'max_tokens': 2})
    assert model.training
    model.eval()


def test_runs_on_the_models_device(device, tok):
    m = tiny_causal_lm(tok, hidden_size=32, num_layers=1, num_heads=2).to(device)
    s = TransformersSampler(m, tok)
    assert s.device.type == device.type
    r = s.sample(PROMPTS, num_samples=2, sampling_params={'max_tokens': 4, 'seed': 0})
    assert len(r.token_ids) == 6


# -- model ids -----------------------------------------------------------------------


def test_local_directory_loads(tmp_path, model, tok):
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    s = TransformersSampler(str(tmp_path))
    greedy = {'max_tokens': 5, 'temperature': 0}
    assert (
        s.sample(['1 2'], 1, greedy).token_ids
        == TransformersSampler(model, tok).sample(['1 2'], 1, greedy).token_ids
    )
    assert resolve_model_id(str(tmp_path)) == str(tmp_path)


def test_unreachable_hf_id_names_the_id():
    with pytest.raises(OSError, match='hf://no-such-org-twinkle/no-such-model'):
        resolve_model_id('hf://no-such-org-twinkle/no-such-model')


def test_missing_local_path_is_clear():
    with pytest.raises(OSError, match='local path'):
        resolve_model_id('./no/such/dir')


@pytest.mark.skipif(
    importlib.util.find_spec('modelscope') is not None,
    reason='modelscope is installed; its download path needs the network',
)
def test_modelscope_id_without_client():
    with pytest.raises(ImportError, match='pip install modelscope'):
        resolve_model_id('ms://Qwen/Qwen3.5-4B')


@pytest.mark.parametrize('bad', ['', None, 3])
def test_bad_model_id(bad):
    with pytest.raises(ValueError, match='model_id'):
        resolve_model_id(bad)


# -- vLLM ----------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec('vllm') is not None, reason='vLLM is installed')
def test_vllm_absent_says_how_to_install():
    with pytest.raises(ImportError, match='pip install vllm'):
        vLLMSampler(model_id='ms://Qwen/Qwen3.5-4B')


def test_vllm_sampler_maps_outputs(monkeypatch, tok):
    """The vLLM path's output mapping, with a stand-in engine (vLLM itself is absent)."""
    from types import SimpleNamespace

    import twinkle.sampler.vllm_sampler as vs

    class FakeLLM:
        def get_tokenizer(self):
            return tiny_tokenizer(chat_template='{% for m in messages %}{{ m.content }}{% endfor %}')

        def generate(self, prompts, sp, use_tqdm=False):
            self.sp = sp
            a, b, c = (tok.convert_tokens_to_ids(ch) for ch in 'abc')
            outs = []
            for _ in prompts:
                o = [
                    SimpleNamespace(
                        token_ids=[a, b, tok.eos_token_id], text='ab', finish_reason='stop', stop_reason=None
                    ),
                    SimpleNamespace(
                        token_ids=[a, b, c], text='abc', finish_reason='length', stop_reason=None
                    ),
                    SimpleNamespace(token_ids=[a, b, c], text='a', finish_reason='stop', stop_reason='b'),
                ]
                outs.append(SimpleNamespace(outputs=o[: sp.n]))
            return outs

    fake_vllm = SimpleNamespace(SamplingParams=lambda **kw: SimpleNamespace(**kw), LLM=None)
    monkeypatch.setattr(vs, '_import_vllm', lambda: fake_vllm)
    llm = FakeLLM()
    s = vs.vLLMSampler(llm=llm)
    r = s.sample(['q1', 'q2'], num_samples=3, sampling_params={'max_tokens': 3, 'stop': ['b']})
    assert llm.sp.n == 3 and llm.sp.top_k == -1 and llm.sp.stop == ['b']
    assert r.stop_reasons == ['eos', 'length', 'stop'] * 2
    assert r.completions[0][2].token_ids == [s.tokenizer.convert_tokens_to_ids('a')]


# -- finish_completion (shared by every backend) ---------------------------------------


def _dec(ids):
    return ''.join('abcdefgh'[i] for i in ids if i < 8)


@pytest.mark.parametrize(
    'ids, eos, stop, expected',
    [
        # runs out of tokens
        ([0, 1, 2], [9], [], Completion([0, 1, 2], 'abc', 'length')),
        # eos kept as the last id, padding after it dropped
        ([0, 9, 9, 9], [9], [], Completion([0, 9], 'a', 'eos')),
        ([9], [9], [], Completion([9], '', 'eos')),
        # the earliest stop string wins, ids cut to what the text holds
        ([0, 1, 2, 3], [9], ['cd', 'b'], Completion([0], 'a', 'stop', 'b')),
        # a stop string before the eos wins
        ([0, 1, 9], [9], ['b'], Completion([0], 'a', 'stop', 'b')),
        # a stop string after the eos does not count
        ([0, 9, 1], [9], ['b'], Completion([0, 9], 'a', 'eos')),
        # no tokens at all
        ([], [9], ['a'], Completion([], '', 'length')),
    ],
)
def test_finish_completion(ids, eos, stop, expected):
    assert finish_completion(ids, eos, stop, _dec) == expected


def test_finish_completion_stop_inside_a_token():
    # Token 5 decodes to 'xy'; the stop string 'y' starts inside it.
    dec = lambda ids: ''.join({0: 'a', 5: 'xy', 6: 'z'}[i] for i in ids)  # noqa: E731
    c = finish_completion([0, 5, 6], [], ['y'], dec)
    assert (c.text, c.token_ids, c.stop_reason) == ('ax', [0], 'stop')


def test_sampler_base_contract():
    class Fixed(Sampler):
        def _generate(self, prompts, n, params):
            return None, [[Completion([i], str(i), 'length') for i in range(n)] for _ in prompts]

    r = Fixed().sample(['a', 'b'], num_samples=2)
    assert r.texts == ['0', '1', '0', '1']
    with pytest.raises(NotImplementedError):
        Sampler().sample(['a'])
    prompts, gts = normalize_batch(['a'])
    assert gts is None and prompts[0].messages[0].content == 'a'


def test_default_sampling_params(model, tok):
    s = TransformersSampler(model, tok, sampling_params={'max_tokens': 2, 'temperature': 0})
    r = s.sample(['1 2 3'], num_samples=2)
    assert all(len(ids) <= 2 for ids in r.token_ids) and r.token_ids[0] == r.token_ids[1]
    # explicit params win over the defaults
    assert len(s.sample(['1'], 1, {'max_tokens': 4, 'temperature': 0}).token_ids[0]) <= 4
    with pytest.raises(ValueError, match='unknown fields'):
        TransformersSampler(model, tok, sampling_params={'max_new_tokens': 2})
