"""Running the reward server under uvicorn, and the ``python -m twinkle serve`` command.

Shutdown is uvicorn's: on SIGTERM or SIGINT it stops accepting connections, lets every
request in flight finish (up to ``ServeConfig.shutdown_timeout_s``), then runs the
app's lifespan exit, which drains the batcher and stops the scoring threads.
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
from typing import Any, Dict, Optional, Sequence

from twinkle.serve.config import ServeConfig, load_config_file
from twinkle.serve.scorer import add_reward_argument

__all__ = ['bind_socket', 'run_server', 'add_serve_arguments', 'config_from_args', 'main']


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: the system picks a free port)."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SystemExit(f'twinkle serve: cannot listen on {host}:{port}: {e.strerror}') from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_server(config: ServeConfig, announce: bool = True) -> None:
    """Serves ``config`` until SIGTERM or SIGINT (blocking).

    The socket is bound before the rewards are built: the printed address is real even
    with ``port=0``, and early connections wait in the listen queue.
    """
    import uvicorn

    from twinkle.serve.app import RewardService, create_app

    sock = bind_socket(config.host, config.port)
    host, port = sock.getsockname()[:2]
    if announce:
        print(
            f'twinkle serve: listening on http://{host}:{port} (rewards: {", ".join(config.rewards)})',
            flush=True,
        )
    service = RewardService(config)
    uv = uvicorn.Config(
        create_app(service),
        lifespan='on',
        log_level='info',
        access_log=config.access_log,
        timeout_graceful_shutdown=int(math.ceil(config.shutdown_timeout_s)),
        timeout_keep_alive=30,
    )
    uvicorn.Server(uv).run(sockets=[sock])


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The ``serve`` options; each overrides the config file's value."""
    p.add_argument('--config', help='a TOML or JSON file of settings (ServeConfig field names)')
    add_reward_argument(p)
    p.add_argument('--host', help='address to listen on (default 127.0.0.1)')
    p.add_argument('--port', type=int, help='port (default 8000; 0 picks a free one)')
    p.add_argument('--batch-window-ms', type=float, help='how long a request waits for others to batch with')
    p.add_argument('--max-batch-size', type=int, help='most samples per batch')
    p.add_argument('--max-concurrent-batches', type=int, help='batches scored at once (threads)')
    p.add_argument('--max-queued-samples', type=int, help='samples waiting before requests get 503')
    p.add_argument('--request-timeout-s', type=float, help='504 for a request not scored in this time')
    p.add_argument('--max-request-bytes', type=int, help='largest request body')
    p.add_argument('--max-items-per-request', type=int, help='most samples in one request')
    p.add_argument('--max-text-chars', type=int, help='longest completion, query or prompt')
    p.add_argument('--abstain-value', type=float, help='/get_reward reward for an abstained sample')
    p.add_argument(
        '--keep-end-tokens',
        dest='strip_end_tokens',
        action='store_const',
        const=False,
        help='do not strip <|im_end|>, </s>... from the end of /get_reward responses',
    )
    p.add_argument('--nan-policy', choices=('propagate', 'zero'))
    p.add_argument('--sympy-workers', type=int, help='sympy worker processes of the math rewards')
    p.add_argument('--sympy-deadline-s', type=float, help='sympy seconds per sample')
    p.add_argument('--graceful-shutdown-s', type=float, help='time in-flight requests get at shutdown')
    p.add_argument('--access-log', action='store_const', const=True, help='log every request')
    p.add_argument('--ray', action='store_true', help='run as a Ray Serve deployment')
    p.add_argument('--replicas', type=int, default=2, help='Ray Serve replicas (with --ray)')
    p.add_argument(
        '--ray-address', default=None, help='Ray cluster to join (with --ray), e.g. auto or ray://head:10001'
    )


_NOT_CONFIG = ('config', 'ray', 'replicas', 'ray_address', 'command', 'func')


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """The config file's settings with the command line's on top."""
    values: Dict[str, Any] = load_config_file(args.config) if args.config else {}
    config = ServeConfig.from_mapping(values, where=args.config or 'config')
    changes = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG}
    return config.replace(**changes)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m twinkle serve ...``."""
    p = argparse.ArgumentParser(
        prog='python -m twinkle serve',
        description='Serve twinkle rewards over HTTP (OpenRLHF /get_reward and /score).',
    )
    add_serve_arguments(p)
    return run(p.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except (ValueError, TypeError) as e:
        print(f'twinkle serve: {e}', file=sys.stderr)
        return 2
    if args.ray:
        from twinkle.serve.ray_serve import run_ray_serve

        run_ray_serve(config, num_replicas=args.replicas, address=args.ray_address)
        return 0
    run_server(config)
    return 0
