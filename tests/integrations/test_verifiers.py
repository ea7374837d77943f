"""twinkle rewards in verifiers' scoring paths, on fixed completions.

verifiers 0.4 (in the test environment) runs a task's rewards with ``Task.score(trace)``,
the call its rollouts make after the agent finishes: here on a ``vf.Trace`` holding a
fixed reply, with twinkle's function plugged by ``vf.TaskConfig`` as users plug it.
verifiers 0.3 (the last with the classic ``vf.Rubric``; installed by ``bash
tools/integration_env.sh test``) scores a group with ``rubric.score_group(states)``, the
call of ``Environment._run_group_states``: here with a ``vf.SingleTurnEnv``'s rubric on
``vf.State`` objects holding fixed completions.
"""

import asyncio

import pytest

from twinkle.integrations.verifiers import completion_text, make_rubric, reward_func, task_reward_func
from twinkle.reward import MathReward

# (completion, answer, reward, outcome)
CASES = [
    ('2 + 2 = 4, so $\\boxed{4}$.', '4', 1.0, 'correct'),
    ('It is 5.\n#### 5', '4', 0.0, 'incorrect'),
    ('Hmm, 4 or 5?', '4', 0.0, 'unparsable'),
    ('#### 4', '', 0.0, 'abstain'),
]
# (10^7)! has 65 million digits: only the sympy deadline ends the check.
SLOW = ('So $\\boxed{(10^{7})!}$.', '(10^{7})! + 1', 0.0, 'timeout')


def test_completion_text():
    assert completion_text('x') == 'x' and completion_text(None) == ''
    assert (
        completion_text(
            [
                {'role': 'assistant', 'content': [{'type': 'text', 'text': 'a'}]},
                {'role': 'user', 'content': 'b'},
            ]
        )
        == 'a'
    )


def test_reward_func_batches_concurrent_calls():
    fn = reward_func(MathReward(sympy_deadline_s=1.0), name='acc', nan_value=-1.0)
    states = [{} for _ in CASES + [SLOW]]

    async def main():
        return await asyncio.gather(
            *(
                fn([{'role': 'assistant', 'content': c}], a, s)
                for (c, a, *_), s in zip(CASES + [SLOW], states)
            )
        )

    assert asyncio.run(main()) == [1.0, 0.0, 0.0, -1.0, 0.0]
    assert [s['twinkle']['acc']['outcome'] for s in states] == [c[3] for c in CASES + [SLOW]]
    assert list(fn.scorer.batcher.sizes) == [5] and fn.__name__ == 'acc'


# --- verifiers 0.4: verifiers.v1 tasks -------------------------------------------------------


@pytest.fixture
def v1():
    vf = pytest.importorskip('verifiers.v1', reason='verifiers is not installed')
    if not hasattr(vf, 'RewardFunctionConfig'):
        pytest.skip('this verifiers.v1 has no plugged reward functions (verifiers 0.4 has)')
    return vf


def make_trace(vf, data, reply):
    from verifiers.v1.graph import MessageNode
    from verifiers.v1.types import AssistantMessage, UserMessage

    return vf.Trace(
        agent=vf.AgentInfo(config=vf.AgentConfig()),
        task=vf.TraceTask(type='Task', data=data),
        nodes=[
            MessageNode(parent=None, message=UserMessage(content=data.prompt), sampled=False),
            MessageNode(parent=0, message=AssistantMessage(content=reply), sampled=True),
        ],
    )


@pytest.mark.parametrize('reply, answer, reward, outcome', CASES)
def test_plugged_into_a_v1_task(v1, reply, answer, reward, outcome):
    class MathData(v1.TaskData):
        answer: str = ''

    config = v1.TaskConfig(
        rewards={'math': v1.RewardFunctionConfig(fn='twinkle.integrations.verifiers:math_reward', weight=2.0)}
    )
    task = v1.Task(MathData(idx=0, prompt='2 + 2?', answer=answer), config)
    trace = make_trace(v1, task.data, reply)
    asyncio.run(task.score(trace))
    assert trace.rewards['math'].score == reward and trace.rewards['math'].weight == 2.0
    assert trace.metrics[f'math/{outcome}'] == 1.0
    assert sum(v for k, v in trace.metrics.items() if k.startswith('math/')) == 1.0
    assert trace.info['twinkle']['math']['outcome'] == outcome


def test_v1_task_method_with_timeout(v1):
    class GSMData(v1.TaskData):
        solution: str = ''

    slow = task_reward_func(MathReward(sympy_deadline_s=1.0), answer_field='solution')

    class GSMTask(v1.Task[GSMData]):
        @v1.reward
        async def correct(self, task, trace) -> float:
            return await slow(task, trace)

    task = GSMTask(GSMData(idx=0, prompt='big?', solution=SLOW[1]))
    trace = make_trace(v1, task.data, SLOW[0])
    asyncio.run(task.score(trace))
    assert trace.rewards['correct'].score == 0.0
    assert trace.metrics['math/timeout'] == 1.0 and trace.metrics['math/incorrect'] == 0.0


def test_v1_missing_answer_field_is_named(v1):
    fn = task_reward_func(answer_field='gold')
    with pytest.raises(AttributeError, match="'gold'"):
        asyncio.run(fn(v1.TaskData(idx=0, prompt='q'), None))


# --- verifiers 0.3: the classic Rubric --------------------------------------------------------


@pytest.fixture
def vf():
    vf = pytest.importorskip('verifiers', reason='verifiers is not installed')
    if not hasattr(vf, 'Rubric'):
        pytest.skip(
            f'verifiers {vf.__version__} has no vf.Rubric (0.3 has; bash '
            'tools/integration_env.sh test installs it)'
        )
    return vf


def test_rubric_in_a_single_turn_env(vf):
    from datasets import Dataset

    rows = CASES + [SLOW]
    rubric = make_rubric(MathReward(sympy_deadline_s=1.0))
    env = vf.SingleTurnEnv(
        dataset=Dataset.from_dict({'question': ['q'] * len(rows), 'answer': [a for _, a, *_ in rows]}),
        rubric=rubric,
    )
    states = [
        vf.State(
            input={
                'prompt': [{'role': 'user', 'content': 'q'}],
                'answer': a,
                'example_id': i,
                'task': 'math',
            },
            completion=[{'role': 'assistant', 'content': c}],
            trajectory=[],
        )
        for i, (c, a, *_) in enumerate(rows)
    ]
    asyncio.run(env.rubric.score_group(states))
    assert [s['reward'] for s in states] == [r[2] for r in rows]
    assert [s['metrics']['math'] for s in states] == [r[2] for r in rows]
    assert [s['metrics']['math_timeout'] for s in states] == [0.0] * 4 + [1.0]
    assert [s['metrics']['math_unparsable'] for s in states] == [0, 0, 1.0, 0, 0]
    assert [s['metrics']['math_abstain'] for s in states] == [0, 0, 0, 1.0, 0]
    assert list(rubric.funcs[0].scorer.batcher.sizes) == [len(rows)]  # one twinkle call


def test_make_rubric_checks_metrics(vf):
    with pytest.raises(ValueError, match='metrics'):
        make_rubric(metrics=['slow'])
