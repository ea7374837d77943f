"""The reward server's settings, as a frozen dataclass that a TOML or JSON file can fill with
the same names (the command line spells them with dashes), e.g. ``rewards = ["math",
"format=0.5"]``, ``port = 8000``, ``batch_window_ms = 5``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from twinkle.serve.scorer import parse_reward_spec

__all__ = ['ServeConfig', 'load_config_file']


@dataclass(frozen=True)
class ServeConfig:
    """How the reward server scores, batches and protects itself.

    Args:
        rewards: reward specs, e.g. ``('math', 'format=0.5')`` (see
            :func:`twinkle.serve.scorer.parse_reward_spec`).
        host, port: where to listen (port 0: any free port, printed at start).
        batch_window_ms: how long the oldest waiting request waits for others to join
            its batch.
        max_batch_size: most samples per batch.
        max_concurrent_batches: batches scored at once, each in its own thread, so a batch
            waiting on a slow sympy comparison does not hold up the rest.
        max_queued_samples: samples allowed to wait for a batch; beyond it requests get
            503 at once instead of timing out later.
        request_timeout_s: a request not scored within this gets 504 with an error.
        max_request_bytes: largest request body (413 beyond).
        max_items_per_request: most samples in one request (413 beyond).
        max_text_chars: longest completion, query or prompt (400 beyond).
        abstain_value: the reward /get_reward sends where a reward abstains (NaN), since
            OpenRLHF has no "no reward"; /score sends null.
        strip_end_tokens: on /get_reward, remove end-of-turn tokens (``<|im_end|>``,
            ``</s>``...) that OpenRLHF's decoding keeps from the end of each response.
        nan_policy: 'propagate' or 'zero', for the weighted total.
        sympy_workers, sympy_deadline_s: the math rewards' worker processes and
            per-sample sympy deadline.
        graceful_shutdown_s: on SIGTERM/SIGINT, how long in-flight requests may take
            to finish (default: the request timeout plus 5 s).
        metrics_window: recent observations the latency and batch percentiles use.
        access_log: log every request (off by default).

    >>> ServeConfig(rewards=('math',)).batch_window_ms
    5.0
    """

    rewards: Tuple[str, ...] = ('math',)
    host: str = '127.0.0.1'
    port: int = 8000
    batch_window_ms: float = 5.0
    max_batch_size: int = 1024
    max_concurrent_batches: int = 2
    max_queued_samples: int = 100_000
    request_timeout_s: float = 60.0
    max_request_bytes: int = 32 * 1024 * 1024
    max_items_per_request: int = 8192
    max_text_chars: int = 1_000_000
    abstain_value: float = 0.0
    strip_end_tokens: bool = True
    nan_policy: str = 'propagate'
    sympy_workers: int = 1
    sympy_deadline_s: float = 5.0
    graceful_shutdown_s: Optional[float] = None
    metrics_window: int = 10000
    access_log: bool = False

    def __post_init__(self):
        rewards = (self.rewards,) if isinstance(self.rewards, str) else tuple(self.rewards)
        if not rewards:
            raise ValueError('ServeConfig.rewards is empty: name at least one reward (e.g. "math")')
        for r in rewards:
            parse_reward_spec(r)
        object.__setattr__(self, 'rewards', rewards)
        _check(self.batch_window_ms >= 0, 'batch_window_ms', self.batch_window_ms, '>= 0')
        for name in (
            'max_batch_size',
            'max_concurrent_batches',
            'max_request_bytes',
            'max_items_per_request',
            'max_text_chars',
            'sympy_workers',
            'metrics_window',
        ):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, name, value, 'an int >= 1')
        _check(
            isinstance(self.max_queued_samples, int) and self.max_queued_samples >= 0,
            'max_queued_samples',
            self.max_queued_samples,
            'an int >= 0 (0: no limit)',
        )
        _check(isinstance(self.port, int) and 0 <= self.port < 65536, 'port', self.port, 'in [0, 65535]')
        _check(self.request_timeout_s > 0, 'request_timeout_s', self.request_timeout_s, '> 0')
        _check(self.sympy_deadline_s > 0, 'sympy_deadline_s', self.sympy_deadline_s, '> 0')
        _check(
            math.isfinite(self.abstain_value), 'abstain_value', self.abstain_value, 'finite (JSON has no NaN)'
        )
        _check(
            self.nan_policy in ('propagate', 'zero'), 'nan_policy', self.nan_policy, "'propagate' or 'zero'"
        )
        _check(
            self.graceful_shutdown_s is None or self.graceful_shutdown_s >= 0,
            'graceful_shutdown_s',
            self.graceful_shutdown_s,
            '>= 0 or None',
        )

    @property
    def shutdown_timeout_s(self) -> float:
        """Seconds in-flight requests get to finish at shutdown."""
        if self.graceful_shutdown_s is not None:
            return self.graceful_shutdown_s
        return self.request_timeout_s + 5.0

    def math_options(self) -> Dict[str, Any]:
        """The math rewards' overrides (:class:`twinkle.math.MathConfig` fields)."""
        return {'num_workers': self.sympy_workers, 'sympy_deadline_s': self.sympy_deadline_s}

    def replace(self, **changes: Any) -> ServeConfig:
        """A copy with ``changes`` applied (None values are ignored: unset options)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = 'config') -> ServeConfig:
        """Builds a config from a dict, naming any unknown key.

        >>> ServeConfig.from_mapping({'rewards': ['math'], 'port': 9000}).port
        9000
        >>> try:
        ...     ServeConfig.from_mapping({'prot': 9000})
        ... except ValueError as e:
        ...     print(str(e)[:52])
        config: unknown setting 'prot'; known settings: rewa
        """
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise ValueError(f'{where}: unknown setting {key!r}; known settings: {", ".join(names)}')
        return cls(**dict(values))


def _check(ok: bool, name: str, value: Any, expected: str) -> None:
    if not ok:
        raise ValueError(f'ServeConfig.{name} must be {expected}, got {value!r}')


def load_config_file(path: str) -> Dict[str, Any]:
    """Reads a TOML (``.toml``) or JSON file of :class:`ServeConfig` settings.

    A TOML file may hold them at the top level or under a ``[serve]`` table.
    """
    if not os.path.isfile(path):
        raise ValueError(f'config file {path!r} does not exist')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        if path.endswith('.toml'):
            import tomllib

            data = tomllib.loads(raw.decode('utf-8'))
            data = data.get('serve', data)
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(
            f'config file {path!r} is not valid {"TOML" if path.endswith(".toml") else "JSON"}: {e}'
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f'config file {path!r} must hold a table of settings, got {type(data).__name__}')
    return data
