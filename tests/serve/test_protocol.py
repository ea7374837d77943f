"""Request parsing: every bad request is refused with its status and the field at fault."""

import json

import pytest

from twinkle.serve.protocol import (
    Limits,
    RequestError,
    parse_get_reward,
    parse_json,
    parse_score,
    split_query,
    strip_end_tokens,
)

LIMITS = Limits(max_items=4, max_text_chars=100)

# (route, body, status, field)
BAD = [
    # not JSON, or not an object
    ('get_reward', b'{"query": [', 400, 'body'),
    ('get_reward', b'\xff\xfe', 400, 'body'),
    ('get_reward', b'[1]', 400, 'body'),
    ('get_reward', b'"text"', 400, 'body'),
    # OpenRLHF fields: names, types, lengths
    ('get_reward', {'querys': ['a']}, 400, 'querys'),
    ('get_reward', {}, 400, 'query'),
    ('get_reward', {'query': 'a'}, 400, 'query'),
    ('get_reward', {'query': ['a', None]}, 400, 'query[1]'),
    ('get_reward', {'query': ['a'], 'prompts': ['a', 'b']}, 400, 'prompts'),
    ('get_reward', {'query': ['a'], 'prompts': [3]}, 400, 'prompts[0]'),
    ('get_reward', {'query': ['a'], 'labels': 'x'}, 400, 'labels'),
    ('get_reward', {'query': ['a'], 'labels': [[1]]}, 400, 'labels[0]'),
    ('get_reward', {'query': ['a'], 'labels': [True]}, 400, 'labels[0]'),
    # limits
    ('get_reward', {'query': ['a'] * 5}, 413, 'query'),
    ('get_reward', {'query': ['a' * 101]}, 413, 'query[0]'),
    # /score
    ('score', {'completions': ['a'], 'trajectories': []}, 400, 'completions'),
    ('score', {'ground_truths': ['1']}, 400, 'trajectories'),
    ('score', {'completions': ['a', 'b', 'c'], 'ground_truths': ['1', '2']}, 400, 'ground_truths'),
    ('score', {'completions': ['a'], 'ground_truths': []}, 400, 'ground_truths'),
    ('score', {'completions': ['a'], 'ground_truths': [{}]}, 400, 'ground_truths[0]'),
    ('score', {'trajectories': ['a']}, 400, 'trajectories[0]'),
    ('score', {'trajectories': [{'messages': 'a'}]}, 400, 'trajectories[0].messages'),
    ('score', {'trajectories': [{'messages': [{'content': 'a'}]}]}, 400, 'trajectories[0].messages[0]'),
    (
        'score',
        {'trajectories': [{'messages': [{'role': 'assistant', 'content': 'a' * 101}]}]},
        413,
        'trajectories[0].messages[0].content',
    ),
    ('score', {'trajectories': [], 'prompts': []}, 400, 'prompts'),
    ('score', {'completions': ['a'], 'extra': 1}, 400, 'extra'),
]


def _parse(route, body):
    obj = parse_json(body if isinstance(body, bytes) else json.dumps(body).encode())
    return parse_get_reward(obj, LIMITS) if route == 'get_reward' else parse_score(obj, LIMITS)


@pytest.mark.parametrize('route,body,status,field', BAD)
def test_bad_requests_name_the_field(route, body, status, field):
    with pytest.raises(RequestError) as e:
        _parse(route, body)
    assert (e.value.status, e.value.field) == (status, field)
    assert e.value.body() == {'error': e.value.message, 'field': field}


def test_get_reward_splits_prompt_and_strips_end_tokens():
    b = _parse(
        'get_reward',
        {
            'query': ['P: x? <answer>5</answer><|im_end|>\n', 'other P: y'],
            'prompts': ['P: x? ', 'P: y'],
            'labels': ['5', 7],
        },
    )
    assert [t['messages'] for t in b.trajectories] == [
        [{'role': 'user', 'content': 'P: x? '}, {'role': 'assistant', 'content': '<answer>5</answer>'}],
        [{'role': 'user', 'content': 'P: y'}, {'role': 'assistant', 'content': 'other P: y'}],
    ]
    assert b.ground_truths == ['5', 7]
    assert b.prompt_mismatches == 1


def test_get_reward_without_prompts_or_labels():
    b = _parse('get_reward', {'query': ['The answer is 4.']})
    assert b.trajectories == [{'messages': [{'role': 'assistant', 'content': 'The answer is 4.'}]}]
    assert b.ground_truths == [None]


def test_score_with_trajectories_and_per_prompt_ground_truths():
    t = {'messages': [{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': 'a'}]}
    b = _parse('score', {'trajectories': [t, t, t, t], 'ground_truths': ['1', '2']})
    assert b.trajectories == [t] * 4 and b.ground_truths == ['1', '1', '2', '2']


# (text, stripped): only end tokens (and the whitespace after them) at the very end
END_TOKENS = [
    ('x<|im_end|>', 'x'),
    ('x<|im_end|>\n<|endoftext|>', 'x'),
    ('x\n<|eot_id|>', 'x'),
    ('x</s>', 'x'),
    ('x<end_of_turn>\n<eos>', 'x'),
    ('<|im_end|> x', '<|im_end|> x'),
    ('x<|im_start|>', 'x<|im_start|>'),
    ('', ''),
]


@pytest.mark.parametrize('text,stripped', END_TOKENS)
def test_strip_end_tokens(text, stripped):
    assert strip_end_tokens(text) == stripped


def test_split_query():
    assert split_query('abc', 'ab') == ('c', True)
    assert split_query('abc', None) == ('abc', True)
    assert split_query('abc', 'x') == ('abc', False)
