"""Offline scoring as a Ray Data pipeline: ``map_batches`` over a pool of scorer actors.

Each actor keeps one :class:`twinkle.serve.scorer.Scorer` (DFA tables, caches, sympy
workers) for its lifetime. The driver checks the input, ships the rows left to score as a
dataset (workers need no file access) and writes results in input order, as a local run
does. On a cluster, call ``ray.init(address='auto')`` first (or pass ``--ray --ray-address
auto``), with twinkle installed on the workers.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from twinkle.offline.run import Backend, Chunk
from twinkle.serve.scorer import SampleScore, Scorer, as_trajectory

__all__ = ['RayScorer', 'ray_backend', 'ensure_ray']


class RayScorer:
    """The ``map_batches`` callable class: one per actor, a scorer built once.

    Batches hold ``input_row``, ``completion``, and ``gold`` and ``prompt`` as JSON text (one
    Arrow column cannot mix strings, numbers and null); results hold ``input_row`` and
    ``result``, each row's :class:`~twinkle.serve.scorer.SampleScore` as JSON.

    >>> scorer = RayScorer(['math'])
    >>> out = scorer({'input_row': [7], 'completion': ['The answer is 4.'], 'gold': ['"4"'],
    ...               'prompt': ['null']})
    >>> out['input_row'].tolist(), json.loads(out['result'][0])[0]  # [reward, parts, explanation]
    ([7], 1.0)
    """

    def __init__(
        self,
        rewards: Sequence[str],
        nan_policy: str = 'propagate',
        math_options: Optional[Mapping[str, Any]] = None,
    ):
        self.scorer = Scorer(rewards, nan_policy, math_options)

    def __call__(self, batch: Mapping[str, Any]) -> Dict[str, Any]:
        import numpy as np

        prompts = [json.loads(p) for p in batch['prompt']]
        trajectories = [as_trajectory(str(c), p) for c, p in zip(batch['completion'], prompts)]
        golds = [json.loads(g) for g in batch['gold']]
        results = self.scorer.score(trajectories, golds)
        # Results travel as JSON text: one Arrow type whatever the explanation holds;
        # NaN (abstain) survives as NaN.
        encoded = [json.dumps([r.reward, r.parts, r.explanation]) for r in results]
        return {
            'input_row': np.asarray(batch['input_row'], dtype=np.int64),
            'result': np.asarray(encoded, dtype=object),
        }


def _decode(text: str) -> SampleScore:
    reward, parts, explanation = json.loads(text)
    return SampleScore(reward, parts, explanation)


def ensure_ray(address: Optional[str] = None, num_cpus: Optional[int] = None) -> None:
    """Joins ``address`` or starts a local Ray, unless Ray is running in this process."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False)


def ray_backend(
    scorer: Scorer,
    workers: int = 2,
    batch_size: int = 1024,
    window: int = 100_000,
    num_cpus_per_worker: float = 1.0,
) -> Backend:
    """A :func:`twinkle.offline.run.score_file` backend that scores on Ray actors.

    Args:
        scorer: the local scorer whose rewards (by spec) each actor rebuilds.
        workers: actors in the pool (each with its own scorer and sympy workers).
        batch_size: rows per ``map_batches`` call.
        window: rows sent to Ray per dataset; their results are written (and become
            resumable) when the whole window is back.
        num_cpus_per_worker: CPUs Ray reserves per actor.
    """
    specs = [f'{s.source}={s.weight!r}' for s in scorer.specs]
    kwargs = {'rewards': specs, 'nan_policy': scorer.nan_policy, 'math_options': scorer.math_options}

    def run(chunks: Iterator[Chunk]) -> Iterator[Tuple[Chunk, List[SampleScore]]]:
        buffer: Chunk = []
        for chunk in chunks:
            buffer.extend(chunk)
            if len(buffer) >= window:
                yield from _score_window(buffer, kwargs, workers, batch_size, num_cpus_per_worker)
                buffer = []
        if buffer:
            yield from _score_window(buffer, kwargs, workers, batch_size, num_cpus_per_worker)

    return run


def _score_window(
    rows: Chunk, kwargs: Dict[str, Any], workers: int, batch_size: int, num_cpus: float
) -> Iterator[Tuple[Chunk, List[SampleScore]]]:
    import ray.data

    items = [
        {
            'input_row': i,
            'completion': s.completion,
            'gold': json.dumps(s.ground_truth),
            'prompt': json.dumps(s.prompt),
        }
        for i, _, s in rows
    ]
    blocks = max(workers, -(-len(items) // batch_size))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.map_batches(
        RayScorer,
        fn_constructor_kwargs=kwargs,
        batch_size=batch_size,
        batch_format='numpy',
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=num_cpus,
    )
    results: Dict[int, SampleScore] = {}
    for batch in ds.iter_batches(batch_size=None, batch_format='numpy'):
        for i, text in zip(batch['input_row'].tolist(), batch['result']):
            results[int(i)] = _decode(text)
    missing = [i for i, _, _ in rows if i not in results]
    if missing:
        raise RuntimeError(f'Ray returned no result for {len(missing)} rows (first: input_row {missing[0]})')
    yield rows, [results[i] for i, _, _ in rows]
