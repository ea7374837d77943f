"""Request bodies of the reward server: parsing and checks, with errors that name the field.

* OpenRLHF's remote reward model, ``POST /get_reward``: ``{"query": [...], "prompts":
  [...], "labels": [...]}``, each query the prompt followed by the response (special tokens
  kept), one prompt and label each; the reply is ``{"rewards", "scores", "extra_logs"}``.
* The plain batch endpoint, ``POST /score``: ``{"completions": [...]}`` or
  ``{"trajectories": [...]}``, with optional ``"ground_truths"`` (one per sample, or one
  per prompt when each prompt's samples are consecutive) and ``"prompts"``.

A problem raises :class:`RequestError` (HTTP status, field such as ``query[3]``, message),
sent as ``{"error": ..., "field": ...}``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from twinkle.integrations.openrlhf import strip_end_tokens
from twinkle.serve.scorer import as_trajectory

__all__ = [
    'RequestError',
    'Limits',
    'Batch',
    'parse_json',
    'parse_get_reward',
    'parse_score',
    'split_query',
    'strip_end_tokens',
]


class RequestError(ValueError):
    """A request the server refuses, with the HTTP status and the field at fault."""

    def __init__(self, message: str, field: Optional[str] = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def body(self) -> Dict[str, Any]:
        return {'error': self.message, 'field': self.field}


class Limits(NamedTuple):
    """Size limits of one request."""

    max_items: int = 8192
    max_text_chars: int = 1_000_000


class Batch(NamedTuple):
    """A parsed request: trajectories and ground truths, one per sample."""

    trajectories: List[Dict[str, Any]]
    ground_truths: List[Any]
    prompt_mismatches: int = 0  # /get_reward queries that did not start with their prompt


# End-of-turn and padding tokens that trail a response decoded with its special tokens
# (Qwen/ChatML, Llama 2/3, Mistral, Gemma, Phi), and the whitespace after each (a chat
# template's newline); whitespace the model wrote before them stays.
def parse_json(body: bytes) -> Dict[str, Any]:
    """The body as a JSON object.

    >>> parse_json(b'{"query": []}')
    {'query': []}
    >>> try:
    ...     parse_json(b'{"query": [')
    ... except RequestError as e:
    ...     print(e.status, e.field, e.message)
    400 body body is not valid JSON: Expecting value at line 1 column 12
    """
    try:
        obj = json.loads(body)
    except UnicodeDecodeError as e:
        raise RequestError(f'body is not UTF-8 text: {e.reason} at byte {e.start}', 'body') from None
    except json.JSONDecodeError as e:
        raise RequestError(
            f'body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}', 'body'
        ) from None
    if not isinstance(obj, dict):
        raise RequestError(f'body must be a JSON object, got a JSON {_kind(obj)}', 'body')
    return obj


def _kind(x: Any) -> str:
    return {
        dict: 'object',
        list: 'array',
        str: 'string',
        bool: 'boolean',
        type(None): 'null',
        int: 'number',
        float: 'number',
    }.get(type(x), type(x).__name__)


def _check_fields(obj: Dict[str, Any], allowed: Sequence[str]) -> None:
    for key in obj:
        if key not in allowed:
            raise RequestError(f'unknown field {key!r}; expected {", ".join(allowed)}', key)


def _list(obj: Dict[str, Any], name: str, limits: Limits, required: bool = True) -> Optional[list]:
    if name not in obj or obj[name] is None:
        if required:
            raise RequestError(f'field {name!r} is required', name)
        return None
    value = obj[name]
    if not isinstance(value, list):
        raise RequestError(f'field {name!r} must be an array, got a JSON {_kind(value)}', name)
    if len(value) > limits.max_items:
        raise RequestError(
            f'field {name!r} has {len(value)} entries, more than the limit of {limits.max_items} per request',
            name,
            413,
        )
    return value


def _texts(values: list, name: str, limits: Limits) -> List[str]:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise RequestError(f'{name}[{i}] must be a string, got a JSON {_kind(v)}', f'{name}[{i}]')
        if len(v) > limits.max_text_chars:
            raise RequestError(
                f'{name}[{i}] has {len(v)} characters, more than the limit of {limits.max_text_chars}',
                f'{name}[{i}]',
                413,
            )
    return values


def _golds(values: list, name: str) -> List[Any]:
    # A ground truth is text or a number (a GSM8K label is often an int); null means
    # "none" and makes a reward that needs one abstain.
    for i, v in enumerate(values):
        if not (v is None or isinstance(v, (str, int, float)) and not isinstance(v, bool)):
            raise RequestError(
                f'{name}[{i}] must be a string, a number or null, got a JSON {_kind(v)}', f'{name}[{i}]'
            )
    return values


def _same_length(values: Optional[list], name: str, n: int, of: str) -> None:
    if values is not None and len(values) != n:
        raise RequestError(f'field {name!r} has {len(values)} entries for {n} {of}; expected one each', name)


def split_query(query: str, prompt: Optional[str]) -> Tuple[str, bool]:
    """The response part of an OpenRLHF query, and whether the prompt was its prefix.

    A query that does not start with its prompt is scored whole (the server counts these).

    >>> split_query('Q: 1+1? A: 2', 'Q: 1+1? ')
    ('A: 2', True)
    >>> split_query('<s>Q A', 'Q ')
    ('<s>Q A', False)
    """
    if prompt is None:
        return query, True
    if query.startswith(prompt):
        return query[len(prompt) :], True
    return query, False


def parse_get_reward(obj: Dict[str, Any], limits: Limits = Limits(), strip: bool = True) -> Batch:
    """An OpenRLHF ``/get_reward`` request as a :class:`Batch`.

    >>> b = parse_get_reward({'query': ['Q: 2+2? The answer is 4.'], 'prompts': ['Q: 2+2? '],
    ...                       'labels': ['4']})
    >>> b.trajectories[0]['messages'][-1]['content'], b.ground_truths
    ('The answer is 4.', ['4'])
    >>> try:
    ...     parse_get_reward({'query': ['a'], 'labels': ['1', '2']})
    ... except RequestError as e:
    ...     print(e.field, '|', e.message)
    labels | field 'labels' has 2 entries for 1 queries; expected one each
    """
    _check_fields(obj, ('query', 'prompts', 'labels'))
    queries = _texts(_list(obj, 'query', limits), 'query', limits)
    prompts = _list(obj, 'prompts', limits, required=False)
    labels = _list(obj, 'labels', limits, required=False)
    n = len(queries)
    _same_length(prompts, 'prompts', n, 'queries')
    _same_length(labels, 'labels', n, 'queries')
    if prompts is not None:
        _texts(prompts, 'prompts', limits)
    golds = _golds(labels, 'labels') if labels is not None else [None] * n
    trajectories, mismatches = [], 0
    for i, q in enumerate(queries):
        prompt = prompts[i] if prompts is not None else None
        response, matched = split_query(q, prompt)
        mismatches += not matched
        if strip:
            response = strip_end_tokens(response)
        trajectories.append(as_trajectory(response, prompt))
    return Batch(trajectories, list(golds), mismatches)


def parse_score(obj: Dict[str, Any], limits: Limits = Limits()) -> Batch:
    """A ``/score`` request as a :class:`Batch`.

    ``completions`` (strings) or ``trajectories`` (``{"messages": [{"role", "content"}]}``
    objects), exactly one of them; ``ground_truths`` one per sample or one per prompt;
    ``prompts`` (with ``completions`` only) one per sample.

    >>> parse_score({'completions': ['a', 'b', 'c', 'd'], 'ground_truths': ['1', '2']}).ground_truths
    ['1', '1', '2', '2']
    """
    _check_fields(obj, ('completions', 'trajectories', 'ground_truths', 'prompts'))
    if ('completions' in obj) == ('trajectories' in obj):
        raise RequestError(
            "give exactly one of 'completions' (strings) and 'trajectories' (objects)",
            'completions' if 'completions' in obj else 'trajectories',
        )
    if 'completions' in obj:
        completions = _texts(_list(obj, 'completions', limits), 'completions', limits)
        n = len(completions)
        prompts = _list(obj, 'prompts', limits, required=False)
        _same_length(prompts, 'prompts', n, 'completions')
        if prompts is not None:
            _texts(prompts, 'prompts', limits)
        trajectories = [
            as_trajectory(c, prompts[i] if prompts is not None else None) for i, c in enumerate(completions)
        ]
    else:
        if 'prompts' in obj:
            raise RequestError(
                "field 'prompts' goes with 'completions'; a trajectory carries its own "
                'prompt in its messages',
                'prompts',
            )
        trajectories = [
            _check_trajectory(t, i, limits) for i, t in enumerate(_list(obj, 'trajectories', limits))
        ]
    golds = _list(obj, 'ground_truths', limits, required=False)
    return Batch(trajectories, _expand_golds(golds, len(trajectories)))


def _expand_golds(golds: Optional[list], n: int) -> List[Any]:
    if golds is None:
        return [None] * n
    _golds(golds, 'ground_truths')
    p = len(golds)
    if p == n:
        return list(golds)
    if p == 0 or n % p:
        raise RequestError(
            f"field 'ground_truths' has {p} entries for {n} samples; expected one per "
            'sample, or one per prompt with the same number of samples each',
            'ground_truths',
        )
    k = n // p
    return [g for g in golds for _ in range(k)]


def _check_trajectory(t: Any, i: int, limits: Limits) -> Dict[str, Any]:
    where = f'trajectories[{i}]'
    if not isinstance(t, dict):
        raise RequestError(f'{where} must be an object with "messages", got a JSON {_kind(t)}', where)
    messages = t.get('messages')
    if not isinstance(messages, list):
        raise RequestError(
            f'{where}.messages must be an array, got a JSON {_kind(messages)}', f'{where}.messages'
        )
    for j, m in enumerate(messages):
        at = f'{where}.messages[{j}]'
        if not isinstance(m, dict) or not isinstance(m.get('role'), str):
            raise RequestError(f'{at} must be an object with a string "role"', at)
        content = m.get('content')
        if isinstance(content, str) and len(content) > limits.max_text_chars:
            raise RequestError(
                f'{at}.content has {len(content)} characters, more than the limit of {limits.max_text_chars}',
                f'{at}.content',
                413,
            )
    return t
