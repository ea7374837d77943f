"""The data helper: rows to prompts and per-prompt ground truths."""

import json

import pytest

from twinkle.data import (
    PromptBatch,
    PromptDataLoader,
    collate,
    load_jsonl,
    repeat_per_sample,
    to_ground_truth,
    to_prompt,
)
from twinkle.data_format import Trajectory
from twinkle.reward import check_batch, ground_truth_text


def _gt(batch):
    return [None if g is None else ground_truth_text(g) for g in batch.ground_truths]


@pytest.mark.parametrize(
    'row, prompt, answer',
    [
        # plain columns, the default keys in order
        ({'prompt': 'q', 'solution': 's'}, [('user', 'q')], 's'),
        ({'question': 'q', 'answer': '#### 7'}, [('user', 'q')], '#### 7'),
        ({'problem': 'q', 'ground_truth': 3}, [('user', 'q')], '3'),
        ({'query': 'q', 'answer': 2.0}, [('user', 'q')], '2'),
        # TRL conversational prompt
        (
            {
                'prompt': [{'role': 'system', 'content': 'sys'}, {'role': 'user', 'content': 'q'}],
                'solution': 's',
            },
            [('system', 'sys'), ('user', 'q')],
            's',
        ),
        # verl parquet row: prompt messages, reward_model dict
        (
            {
                'prompt': [{'role': 'user', 'content': 'q'}],
                'data_source': 'gsm8k',
                'reward_model': {'style': 'rule', 'ground_truth': '72'},
            },
            [('user', 'q')],
            '72',
        ),
        # a chat with the reference answer as the last assistant turn
        (
            {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': 'a'}]},
            [('user', 'q')],
            'a',
        ),
        # a Trajectory with the answer in user_data
        (
            Trajectory(messages=[{'role': 'user', 'content': 'q'}], user_data=[('solution', '9')]),
            [('user', 'q')],
            '9',
        ),
        # no ground truth
        ('just a prompt', [('user', 'just a prompt')], None),
        ({'prompt': 'q'}, [('user', 'q')], None),
    ],
)
def test_row_formats(row, prompt, answer):
    p = to_prompt(row)
    assert [(m.role, m.content) for m in p.messages] == prompt
    g = to_ground_truth(row)
    assert g is None if answer is None else g.get_user_data('solution') == answer
    if answer is not None:
        assert ground_truth_text(g) == answer and g.messages[-1].content == answer


def test_other_columns_go_to_user_data():
    p = to_prompt({'prompt': 'q', 'solution': 's', 'level': 3, 'data_source': 'x'})
    assert p.user_data_dict() == {'level': 3, 'data_source': 'x'}


def test_explicit_keys_and_system_prompt():
    row = {'input': 'q', 'target': 't', 'solution': 'not this'}
    b = collate([row], prompt_key='input', ground_truth_key='target', system_prompt='be brief')
    assert [m.role for m in b[0].messages] == ['system', 'user']
    assert _gt(b) == ['t']
    with pytest.raises(KeyError, match='prompt_key'):
        collate([row], prompt_key='missing')
    with pytest.raises(KeyError, match='no prompt column'):
        collate([{'text': 'q'}])


def test_collate_mixed_and_empty():
    b = collate(['a', {'prompt': 'b', 'solution': '1'}])
    assert isinstance(b, PromptBatch) and len(b) == 2
    assert b.ground_truths[0] is None and _gt(b)[1] == '1'
    assert collate(['a', 'b']).ground_truths is None
    assert collate([]).ground_truths is None


@pytest.mark.parametrize(
    'bad, err',
    [
        ('abc', TypeError),
        ({'prompt': 'q'}, TypeError),
        ([3], TypeError),
        ([{'prompt': 5}], TypeError),
        ([{'messages': []}], ValueError),
    ],
)
def test_collate_bad_rows(bad, err):
    with pytest.raises(err):
        collate(bad)


@pytest.mark.parametrize(
    'n, bs, drop_last, sizes',
    [
        (0, 4, False, []),
        (1, 4, False, [1]),
        (7, 3, False, [3, 3, 1]),
        (7, 3, True, [3, 3]),
        (6, 3, True, [3, 3]),
    ],
)
def test_loader_batches(n, bs, drop_last, sizes):
    rows = [{'prompt': str(i), 'solution': str(i)} for i in range(n)]
    loader = PromptDataLoader(rows, bs, drop_last=drop_last)
    batches = list(loader)
    assert [len(b) for b in batches] == sizes == [len(b) for b in loader]
    assert len(loader) == len(sizes)
    for b in batches:  # ground truths stay aligned with prompts
        assert [p.messages[0].content for p in b] == _gt(b)


def test_loader_shuffle_is_seeded_per_epoch():
    rows = [{'prompt': str(i), 'solution': str(i)} for i in range(20)]
    loader = PromptDataLoader(rows, 5, shuffle=True, seed=1)
    first = [p.messages[0].content for b in loader for p in b]
    again = [p.messages[0].content for b in loader for p in b]
    loader.set_epoch(1)
    other = [p.messages[0].content for b in loader for p in b]
    assert first == again != other
    assert sorted(first, key=int) == [str(i) for i in range(20)]


@pytest.mark.parametrize('bad', [0, -1, 2.0, True])
def test_loader_bad_batch_size(bad):
    with pytest.raises(ValueError, match='batch_size'):
        PromptDataLoader([], bad)


def test_loader_bad_dataset():
    with pytest.raises(TypeError, match='dataset'):
        PromptDataLoader(iter([1]), 2)


def test_torch_dataloader_collate():
    import torch.utils.data as tud

    rows = [{'prompt': str(i), 'solution': str(i)} for i in range(5)]
    batches = list(tud.DataLoader(rows, batch_size=2, collate_fn=collate))
    assert [len(b) for b in batches] == [2, 2, 1] and _gt(batches[2]) == ['4']


def test_repetition_lives_in_the_reward():
    """Ground truths are per prompt; check_batch gives prompt p's to its N samples."""
    b = collate([{'prompt': 'q0', 'solution': 'a0'}, {'prompt': 'q1', 'solution': 'a1'}])
    trajs = [None] * 6  # 2 prompts x 3 samples
    expanded = check_batch(trajs, b.ground_truths, 'test', True)
    assert [ground_truth_text(g) for g in expanded] == ['a0'] * 3 + ['a1'] * 3
    assert b.ground_truths_per_sample(3) == expanded
    assert repeat_per_sample([1, 2], 2) == [1, 1, 2, 2]
    with pytest.raises(ValueError, match='num_samples'):
        repeat_per_sample([1], 0)


def test_load_jsonl(tmp_path):
    path = tmp_path / 'd.jsonl'
    path.write_text(
        json.dumps({'prompt': 'q', 'solution': '1'})
        + '\n\n'
        + json.dumps({'prompt': 'r', 'solution': '2'})
        + '\n'
    )
    assert _gt(collate(load_jsonl(str(path)))) == ['1', '2']
    (tmp_path / 'bad.jsonl').write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ValueError, match='bad.jsonl:2'):
        load_jsonl(str(tmp_path / 'bad.jsonl'))
    with pytest.raises(FileNotFoundError):
        load_jsonl(str(tmp_path / 'none.jsonl'))


def test_hf_datasets_dataset():
    datasets = pytest.importorskip('datasets', reason='datasets is not installed (test extra)')
    ds = datasets.Dataset.from_dict({'prompt': ['a', 'b', 'c'], 'solution': ['1', '2', '3']})
    assert [_gt(b) for b in PromptDataLoader(ds, 2)] == [['1', '2'], ['3']]


@pytest.mark.parametrize(
    'row, answer, user_data',
    [
        # a chat dict with a solution column
        ({'messages': [{'role': 'user', 'content': 'q'}], 'solution': '3', 'level': 2}, '3', {'level': 2}),
        # a plain dict in Trajectory form: user_data pairs hold the answer
        (
            {'messages': [{'role': 'user', 'content': 'q'}], 'user_data': [('solution', '4'), ('x', 1)]},
            '4',
            {'solution': '4', 'x': 1},
        ),
    ],
)
def test_chat_dicts(row, answer, user_data):
    assert to_ground_truth(row).get_user_data('solution') == answer
    p = to_prompt(row)
    assert p.user_data_dict() == user_data and [m.role for m in p.messages] == ['user']
