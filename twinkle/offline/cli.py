"""``python -m twinkle score INPUT --out OUTPUT --reward math ...``.

Exit status: 0 done, 2 bad arguments or a bad input or output file (the message names
the row and field), 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from twinkle.serve.scorer import add_reward_argument

__all__ = ['add_score_arguments', 'main', 'run']


def add_score_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('input', help='rows to score: .jsonl (one JSON object per line) or .parquet')
    p.add_argument(
        '--out', required=True, help='output .jsonl or .parquet; rows already in it are not scored again'
    )
    add_reward_argument(p)
    p.add_argument('--completion-field', default='completion', help='field holding the text to score')
    p.add_argument('--solution-field', default='solution', help='field holding the reference answer')
    p.add_argument('--problem-id-field', default='problem_id', help='field grouping samples of one problem')
    p.add_argument('--prompt-field', default='prompt', help='field holding the prompt (optional)')
    p.add_argument('--input-format', choices=('jsonl', 'parquet'), help='when the extension does not tell')
    p.add_argument('--batch-size', type=int, default=1024, help='rows per scoring call and per write')
    p.add_argument('--k', default=None, help='pass@k / maj@k values, e.g. 1,4,8 (default: powers of two)')
    p.add_argument('--restart', action='store_true', help='discard OUTPUT and score every row again')
    p.add_argument(
        '--compare', metavar='OTHER', help='report rows whose verdicts differ from OTHER (a scored file)'
    )
    p.add_argument('--compare-out', metavar='PATH', help='write every difference to PATH (JSONL)')
    p.add_argument('--summary-json', metavar='PATH', help='write the summary to PATH as JSON')
    p.add_argument(
        '--progress',
        dest='progress',
        action='store_const',
        const=True,
        default=None,
        help='show a progress bar even when stderr is not a terminal',
    )
    p.add_argument('--no-progress', dest='progress', action='store_const', const=False)
    p.add_argument('--nan-policy', choices=('propagate', 'zero'), default='propagate')
    p.add_argument('--sympy-workers', type=int, default=1, help='sympy worker processes of the math rewards')
    p.add_argument('--sympy-deadline-s', type=float, default=5.0, help='sympy seconds per sample')
    p.add_argument('--ray', action='store_true', help='score on Ray actors (a Ray Data pipeline)')
    p.add_argument('--ray-address', default=None, help='Ray cluster to join, e.g. auto or ray://head:10001')
    p.add_argument('--ray-workers', type=int, default=2, help='scorer actors')


def _ks(text: Optional[str]):
    if text is None:
        return None
    try:
        ks = [int(x) for x in text.split(',') if x.strip()]
    except ValueError:
        raise ValueError(f'--k must be integers separated by commas, got {text!r}') from None
    if not ks or min(ks) < 1:
        raise ValueError(f'--k values must be >= 1, got {text!r}')
    return sorted(set(ks))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog='python -m twinkle score', description='Score a file of completions with twinkle rewards.'
    )
    add_score_arguments(p)
    return run(p.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from twinkle.offline.compare import compare_files, format_comparison
    from twinkle.offline.io import DataError, Fields, iter_output
    from twinkle.offline.run import score_file
    from twinkle.offline.summary import format_summary, summarize
    from twinkle.serve.scorer import Scorer

    fields = Fields(args.completion_field, args.solution_field, args.problem_id_field, args.prompt_field)
    try:
        ks = _ks(args.k)
        scorer = Scorer(
            args.rewards or ['math'],
            args.nan_policy,
            {'num_workers': args.sympy_workers, 'sympy_deadline_s': args.sympy_deadline_s},
        )
        backend = None
        if args.ray:
            from twinkle.offline.ray_data import ensure_ray, ray_backend

            ensure_ray(args.ray_address)
            backend = ray_backend(scorer, workers=args.ray_workers, batch_size=args.batch_size)
        result = score_file(
            args.input,
            args.out,
            scorer,
            fields=fields,
            batch_size=args.batch_size,
            input_format=args.input_format,
            restart=args.restart,
            progress=args.progress,
            backend=backend,
        )
    except KeyboardInterrupt:
        print(
            f'\ntwinkle score: interrupted; the rows scored so far are in {args.out}. Run the same command '
            'again to score the rest.',
            file=sys.stderr,
        )
        return 130
    except (DataError, ValueError, TypeError) as e:
        print(f'twinkle score: {e}', file=sys.stderr)
        return 2
    print(
        f'twinkle score: {result.rows} rows in {args.input}: {result.scored} scored now, {result.resumed} '
        f'already in {result.output}'
    )
    summary = summarize(iter_output(result.output), scorer.names, fields.problem_id, ks)
    print(format_summary(summary, dict(zip(scorer.names, scorer.weights))))
    if args.summary_json:
        with open(args.summary_json, 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=2)
    if args.compare:
        try:
            report = compare_files(result.output, args.compare, fields)
        except DataError as e:
            print(f'twinkle score: --compare: {e}', file=sys.stderr)
            return 2
        print(format_comparison(report, args.compare))
        if args.compare_out:
            with open(args.compare_out, 'w', encoding='utf-8') as f:
                for d in report['differences']:
                    f.write(json.dumps(d, ensure_ascii=False) + '\n')
    return 0
