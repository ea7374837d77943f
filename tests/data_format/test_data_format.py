"""Message / Trajectory / SamplingParams: both access styles, user_data pairs, errors."""

import pickle

import pytest

from twinkle.data_format import Message, SamplingParams, Trajectory, get_user_data


def test_attribute_and_dict_access():
    t = Trajectory(
        messages=[{'role': 'user', 'content': 'hi'}, Message(role='assistant', content='hello')],
        user_data=[('solution', '4'), ('source', 'gsm8k')],
    )
    assert t.messages[1].content == 'hello'
    assert t.get('messages', [])[1]['content'] == 'hello'
    assert isinstance(t.messages[0], Message)
    assert t.get_user_data('solution') == '4'
    assert t.get_user_data('missing', 'x') == 'x'
    assert t.user_data_dict() == {'solution': '4', 'source': 'gsm8k'}
    assert t.tools == []


def test_user_data_dict_is_turned_into_pairs_and_first_value_wins():
    t = Trajectory(user_data={'a': 1})
    assert t.user_data == [('a', 1)]
    t2 = Trajectory(user_data=[('k', 1), ('k', 2)])
    assert t2.get_user_data('k') == 1
    assert get_user_data({'user_data': {'k': 3}}, 'k') == 3  # plain dicts work too


def test_pickle_roundtrip_keeps_types():
    t = Trajectory(messages=[{'role': 'user', 'content': [{'type': 'text', 'text': 'x'}]}])
    t2 = pickle.loads(pickle.dumps(t))
    assert t2 == t and isinstance(t2, Trajectory) and isinstance(t2.messages[0], Message)


@pytest.mark.parametrize(
    'kwargs,err,msg',
    [
        (dict(messages=[{'content': 'x'}]), ValueError, r"Trajectory.messages\[0\] has no 'role'"),
        (dict(messages=[{'role': 'robot', 'content': 'x'}]), ValueError, 'Message.role must be one of'),
        (dict(messages=['hello']), TypeError, r'Trajectory.messages\[0\] must be a Message'),
        (dict(user_data=[('a', 1, 2)]), ValueError, r'Trajectory.user_data\[0\] must be a \(key, value\)'),
        (dict(messages=[{'role': 'user', 'content': 5}]), TypeError, 'Message.content must be'),
    ],
)
def test_bad_records(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        Trajectory(**kwargs)


def test_sampling_params():
    assert SamplingParams.coerce(None) == SamplingParams()
    p = SamplingParams.coerce({'max_tokens': 8, 'stop': '\n'})
    assert p.max_tokens == 8 and p.stop == ('\n',)
    with pytest.raises(ValueError, match='max_tokens must be a positive int'):
        SamplingParams(max_tokens=0)
    with pytest.raises(ValueError, match='unknown fields'):
        SamplingParams.coerce({'max_new_tokens': 3})
    with pytest.raises(ValueError, match='top_p'):
        SamplingParams(top_p=0)
