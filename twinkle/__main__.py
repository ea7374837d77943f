"""``python -m twinkle serve ...`` (the reward server) and ``python -m twinkle score ...``
(offline scoring of a file); ``python -m twinkle <command> --help`` lists the options."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Dispatches to :mod:`twinkle.serve.server` or :mod:`twinkle.offline.cli`.

    >>> main(['--help'])  # doctest: +ELLIPSIS
    usage: python -m twinkle ...
    0
    """
    p = argparse.ArgumentParser(
        prog='python -m twinkle', description='twinkle rewards as a server or over files.'
    )
    sub = p.add_subparsers(dest='command', required=True, metavar='{serve,score}')
    # The option modules import no heavy dependency: the server's stack (starlette,
    # uvicorn) and Ray load only when their command runs.
    from twinkle.offline import cli as score_cli
    from twinkle.serve import server as serve_cli

    serve_cli.add_serve_arguments(
        sub.add_parser(
            'serve',
            help='serve rewards over HTTP (OpenRLHF /get_reward, /score)',
            description='Serve twinkle rewards over HTTP.',
        )
    )
    score_cli.add_score_arguments(
        sub.add_parser(
            'score',
            help='score a JSONL or Parquet file of completions',
            description='Score a file of completions with twinkle rewards.',
        )
    )
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return serve_cli.run(args) if args.command == 'serve' else score_cli.run(args)


if __name__ == '__main__':
    sys.exit(main())
