"""Regex -> byte DFA construction time: bounded repeats and common format patterns.

Every row builds the DFA from scratch (the compile cache is cleared before each call) with
the default limits (``max_states=100,000``, ``max_work=15,000,000``) and records the median
time, the number of byte-DFA states, and the outcome: ``ok``, or ``StateLimitError`` when the
automaton is too large (then the time is how long it took to stop).

Families (N = 10, 100, 1000; modes fullmatch, match, search):
  think_dots     <think>.{0,N}</think> with DOTALL: only the distance since the last <think>
                 matters under search
  dots           .{0,N}
  not_lt         [^<]{0,N}
  answer_not_lt  <answer>[^<]{0,N}</answer>
  ascii_word     [A-Za-z0-9_]{N}
  word           \\w{N}: Unicode word characters, ~309 byte states per count
  answer_lines   <answer>(?:.{0,9}\\n){0,N/10}</answer>: nested bounded repeats (at most N/10
                 lines of at most 9 characters)
Format patterns: the strict think/answer format (regex, then the "each tag once"
intersection), the two think/answer searches, a boxed integer, an answer of at most 100
digits.

Run: python benchmarks/bench_construct.py [--quick]

Corpus mode (``--corpus``): ``FormatReward(pattern, mode=..., flags=..., tokenizer=qwen)``
for every pattern of ``format_patterns.corpus()`` (226 format checks, see that module;
built in an order that cycles through the families), each built once from scratch for the
151,669-token Qwen3 vocabulary, beside outlines-core's ``Index`` for the same language
over the same token bytes (when ``outlines-core`` is installed). Times exclude what is
built once per tokenizer (twinkle's token byte table, outlines-core's ``Vocabulary``; both
reported). Every build runs in a worker process with a per-pattern time limit
(``--timeout``, default 10 s): a build that runs past it is killed and reported as
``timeout`` (its time counts as the limit, so the percentiles are then lower bounds).
outlines-core matches whole generations, so it gets the equivalent full-match regex:
``(?s:.*)(?:P)(?s:.*)`` for search, ``(?:P)(?s:.*)`` for match, flags inline; a pattern
its regex engine rejects is reported as ``unsupported``. Patterns an engine refuses
(``StateLimitError``) are counted apart from the percentiles, with the time to the error.

Run: python benchmarks/bench_construct.py --corpus [--quick] [--timeout S] [--max-seconds S]
     [--engines twinkle,outlines]
"""

from __future__ import annotations

import collections
import importlib.util
import multiprocessing as mp
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402
import format_patterns  # noqa: E402

from twinkle.dfa import StateLimitError, compile_regex, think_answer_format  # noqa: E402
from twinkle.dfa import compile as _compile  # noqa: E402

MODES = ('fullmatch', 'match', 'search')
FAMILIES = {
    'think_dots': (r'<think>.{{0,{n}}}</think>', re.DOTALL),
    'dots': (r'.{{0,{n}}}', 0),
    'not_lt': (r'[^<]{{0,{n}}}', 0),
    'answer_not_lt': (r'<answer>[^<]{{0,{n}}}</answer>', 0),
    'ascii_word': (r'[A-Za-z0-9_]{{{n}}}', 0),
    'word': (r'\w{{{n}}}', 0),
    'answer_lines': (r'<answer>(?:.{{0,9}}\n){{0,{m}}}</answer>', 0),
}
FORMATS = {
    'think_answer_regex': (r'<think>.*?</think>\s*<answer>.*?</answer>\s*', re.DOTALL, 'fullmatch'),
    'think_search': (r'<think>.*?</think>', re.DOTALL, 'search'),
    'answer_search': (r'<answer>.*?</answer>', re.DOTALL, 'search'),
    'boxed_int': (r'\\boxed\{\s*-?\d+\s*\}', 0, 'search'),
    'answer_100_digits': (r'<answer>\s*\d{1,100}\s*</answer>', 0, 'search'),
}


def setup(point: dict):
    """A construction from scratch (the compile cache is cleared first), returning
    ``(states, outcome)``."""
    pattern, flags, mode = point['pattern'], point['flags'], point['mode']

    def build():
        _compile._compile_cached.cache_clear()
        if point['family'] == 'think_answer_strict':
            return think_answer_format().num_states, 'ok'
        try:
            return compile_regex(pattern, flags, mode).num_states, 'ok'
        except StateLimitError as e:
            return None, f'StateLimitError ({str(e).split(": ", 1)[1][:60]}...)'

    return build


def grid(counts) -> list:
    """The families at every count and mode, then the format patterns and the strict format."""
    points = [
        {
            'family': family,
            'N': n,
            'mode': mode,
            'pattern': template.format(n=n, m=max(1, n // 10)),
            'flags': flags,
        }
        for family, (template, flags) in FAMILIES.items()
        for n in counts
        for mode in MODES
    ]
    points += [
        {'family': family, 'N': None, 'mode': mode, 'pattern': pattern, 'flags': flags}
        for family, (pattern, flags, mode) in FORMATS.items()
    ]
    points.append(
        {
            'family': 'think_answer_strict',
            'N': None,
            'mode': 'fullmatch',
            'pattern': 'think_answer_format()',
            'flags': re.DOTALL,
        }
    )
    return points


def _row(r) -> dict:
    states, outcome = r.output
    return {
        'family': r.point['family'],
        'N': r.point['N'],
        'mode': r.point['mode'],
        'pattern': r.point['pattern'],
        'flags': str(re.RegexFlag(r.point['flags'])) if r.point['flags'] else '',
        'states': states,
        'outcome': outcome,
        'median_s': r.stats['median_ms'] / 1e3,
        'reps': r.stats['reps'],
    }


# ---- corpus mode: FormatReward for the Qwen3 vocabulary vs outlines-core's Index ----------

ENGINES = ('twinkle', 'outlines')
_WORKER = {}  # per worker process: the tokenizer and what is built once per tokenizer


def outlines_regex(pattern: str, flags: int, mode: str) -> str:
    """The full-match regex (Rust syntax, flags inline) for ``re.<mode>(pattern, text, flags)``."""
    inline = ''.join(c for f, c in ((re.IGNORECASE, 'i'), (re.MULTILINE, 'm'), (re.DOTALL, 's')) if flags & f)
    body = f'(?{inline}:{pattern})' if inline else f'(?:{pattern})'
    return {'fullmatch': body, 'match': body + '(?s:.*)', 'search': '(?s:.*)' + body + '(?s:.*)'}[mode]


def _clear_caches() -> None:
    """Forget every compiled pattern, so a build starts from scratch (Unicode tables and the
    per-tokenizer byte table stay: they are built once per process or tokenizer)."""
    from twinkle.dfa import compile as dfa_compile
    from twinkle.reward import format as fmt

    for fn in (
        getattr(dfa_compile, '_compile_cached', None),
        getattr(fmt, '_pattern_dfa', None),
        getattr(fmt, '_pattern_classes', None),
    ):
        if fn is not None and hasattr(fn, 'cache_clear'):
            fn.cache_clear()


def _worker_init(engines) -> dict:
    """Loads the tokenizer and builds the per-tokenizer objects; returns their build times."""
    from twinkle.dfa import tokens as _tokens
    from twinkle.reward.format import FormatReward

    tok = _harness.qwen_tokenizer('bench_construct')
    t0 = time.perf_counter()
    table = _tokens.token_table(tok)
    once = {'twinkle_token_table_s': time.perf_counter() - t0}
    # Warm the process-wide caches (Unicode classes, case folding) once, as a trainer's
    # process would after its first reward; then forget the patterns themselves.
    FormatReward(r'(?i)<a>\w\d\s', mode='search')
    _clear_caches()
    _WORKER.update(tok=tok, table=table)
    if 'outlines' in engines:
        import outlines_core

        eos = tok.convert_tokens_to_ids('<|endoftext|>')
        vocab = collections.defaultdict(list)
        for i in range(table.padded.shape[0]):
            n = int(table.lengths[i])
            if n and i != eos:  # special tokens decode to nothing: they never advance a match
                vocab[bytes(table.padded[i, :n])].append(i)
        t0 = time.perf_counter()
        _WORKER['vocab'] = outlines_core.Vocabulary(eos, dict(vocab))
        once['outlines_vocabulary_s'] = time.perf_counter() - t0
        outlines_core.Index('(?:ab)', _WORKER['vocab'])
    return once


def _build_twinkle(pattern: str, flags: int, mode: str) -> dict:
    from twinkle.dfa import StateLimitError, compile_regex
    from twinkle.reward.format import FormatReward

    _clear_caches()
    t0 = time.perf_counter()
    try:
        states = compile_regex(pattern, flags, mode).num_states
    except StateLimitError as e:
        return {'outcome': 'StateLimitError', 'seconds': time.perf_counter() - t0, 'message': str(e)[:200]}
    except ValueError as e:
        return {'outcome': 'unsupported', 'seconds': time.perf_counter() - t0, 'message': str(e)[:200]}
    compile_s = time.perf_counter() - t0
    _clear_caches()
    t0 = time.perf_counter()
    try:
        reward = FormatReward(pattern, mode=mode, flags=flags, tokenizer=_WORKER['tok'])
    except StateLimitError as e:
        return {
            'outcome': 'StateLimitError',
            'seconds': time.perf_counter() - t0,
            'compile_s': compile_s,
            'message': str(e)[:200],
        }
    seconds = time.perf_counter() - t0
    return {
        'outcome': 'ok',
        'seconds': seconds,
        'compile_s': compile_s,
        'states': states,
        'token_classes': int(reward.token_tables.shape[-1]),
    }


def _build_outlines(pattern: str, flags: int, mode: str) -> dict:
    import outlines_core

    rx = outlines_regex(pattern, flags, mode)
    t0 = time.perf_counter()
    try:
        index = outlines_core.Index(rx, _WORKER['vocab'])
    except Exception as e:  # outlines-core raises plain ValueError/RuntimeError for any failure
        return {'outcome': 'unsupported', 'seconds': time.perf_counter() - t0, 'message': str(e)[:200]}
    seconds = time.perf_counter() - t0
    return {'outcome': 'ok', 'seconds': seconds, 'states': len(index.get_transitions())}


def _worker(conn, engines) -> None:
    conn.send(_worker_init(engines))
    build = {'twinkle': _build_twinkle, 'outlines': _build_outlines}
    while True:
        job = conn.recv()
        if job is None:
            return
        engine, pattern, flags, mode = job
        conn.send(build[engine](pattern, flags, mode))


class _Pool:
    """One worker process; a build that runs past the time limit kills it (a fresh one
    starts for the next build). Spawned, not forked: the parent's thread pools stay out."""

    def __init__(self, engines):
        self.engines, self.proc, self.once = engines, None, None

    def _start(self):
        ctx = mp.get_context('spawn')
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, self.engines), daemon=True)
        self.proc.start()
        once = self.conn.recv()
        self.once = self.once or once

    def run(self, engine: str, pattern: str, flags: int, mode: str, timeout: float) -> dict:
        if self.proc is None:
            self._start()
        self.conn.send((engine, pattern, flags, mode))
        if self.conn.poll(timeout):
            return self.conn.recv()
        self.proc.kill()
        self.proc.join()
        self.proc = None
        return {'outcome': 'timeout', 'seconds': timeout}

    def close(self):
        if self.proc is not None:
            self.conn.send(None)
            self.proc.join(5)


def _pct(xs, q: float):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


def corpus_summary(rows, engines, timeout: float) -> dict:
    """Percentiles of the build time per engine over the realistic families (timeouts count
    as the limit), the time to a clear error for the ``limit`` family, and the head-to-head
    on the patterns both engines built."""
    out = {}
    for e in engines:
        real = [r for r in rows if r['engine'] == e and r['family'] != 'limit']
        times = [r['seconds'] for r in real if r['outcome'] in ('ok', 'timeout')]
        out[e] = {
            'patterns': len(real),
            'outcomes': dict(collections.Counter(r['outcome'] for r in real)),
            'p50_s': _pct(times, 0.5),
            'p90_s': _pct(times, 0.9),
            'p99_s': _pct(times, 0.99),
            'max_s': max(times, default=None),
            'mean_s': statistics.mean(times) if times else None,
            'refused_max_s': max(
                (r['seconds'] for r in real if r['outcome'] == 'StateLimitError'), default=None
            ),
            'limit_family': [
                (r['pattern'], r['outcome'], round(r['seconds'], 3))
                for r in rows
                if r['engine'] == e and r['family'] == 'limit'
            ],
        }
    if set(engines) >= {'twinkle', 'outlines'}:
        by = {(r['idx'], r['engine']): r for r in rows}
        both = [
            (by[(i, 'twinkle')]['seconds'], by[(i, 'outlines')]['seconds'])
            for i in sorted({r['idx'] for r in rows})
            if (i, 'twinkle') in by
            and (i, 'outlines') in by
            and by[(i, 'twinkle')]['family'] != 'limit'
            and by[(i, 'twinkle')]['outcome'] == 'ok'
            and by[(i, 'outlines')]['outcome'] in ('ok', 'timeout')
        ]
        if both:
            out['head_to_head'] = {
                'patterns': len(both),
                'twinkle_faster_or_equal': sum(t <= o for t, o in both),
                'median_outlines_over_twinkle': statistics.median(o / t for t, o in both),
            }
    out['timeout_s'] = timeout
    return out


def family_table(rows, engines):
    table = []
    for fam in format_patterns.FAMILIES:
        row = {'family': fam}
        for e in engines:
            sel = [r for r in rows if r['engine'] == e and r['family'] == fam]
            times = [r['seconds'] for r in sel]
            row[f'{e}_n'] = len(sel)
            row[f'{e}_p50_s'] = _pct(times, 0.5)
            row[f'{e}_max_s'] = max(times, default=None)
            bad = collections.Counter(r['outcome'] for r in sel if r['outcome'] != 'ok')
            row[f'{e}_not_ok'] = ', '.join(f'{k} {v}' for k, v in sorted(bad.items()))
        table.append(row)
    return table


def interleave_families(patterns):
    """Round-robin over the families, so a run stopped by ``--max-seconds`` is still a
    sample of every family."""
    by = collections.defaultdict(list)
    for p in patterns:
        by[p.family].append(p)
    out, queues = [], list(by.values())
    while any(queues):
        out += [q.pop(0) for q in queues if q]
    return out


def corpus_main(args) -> None:
    engines = [e for e in args.engines.split(',') if e]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f'bench_construct: unknown engine {e!r} (known: {", ".join(ENGINES)})')
    if 'outlines' in engines and importlib.util.find_spec('outlines_core') is None:
        _harness.skip('outlines', 'outlines-core is not installed (pip install outlines-core)')
        engines.remove('outlines')
    patterns = interleave_families(format_patterns.corpus())
    if args.quick:  # every 8th pattern and every limit pattern
        patterns = [p for i, p in enumerate(patterns) if i % 8 == 0 or p.family == 'limit']
    pool = _Pool(engines)
    rows, t_start = [], time.perf_counter()
    try:
        for idx, p in enumerate(patterns):
            if time.perf_counter() - t_start > args.max_seconds:
                print(f'budget of {args.max_seconds} s spent: {len(patterns) - idx} patterns not built')
                break
            for e in engines:
                got = pool.run(e, p.pattern, p.flags, p.mode, args.timeout)
                rows.append(
                    {
                        'idx': idx,
                        'family': p.family,
                        'mode': p.mode,
                        'pattern': p.pattern,
                        'flags': str(re.RegexFlag(p.flags)) if p.flags else '',
                        'engine': e,
                        **got,
                    }
                )
            line = '  '.join(
                f'{r["engine"]} {r["seconds"]:7.3f} s {r["outcome"]:>15}' for r in rows if r['idx'] == idx
            )
            print(f'{idx:3} {p.family:12} {p.mode:9} {line}  {p.pattern[:60]!r}', flush=True)
    finally:
        pool.close()
    summary = corpus_summary(rows, engines, args.timeout)
    summary['built_once'] = pool.once
    summary['corpus_patterns'] = len(patterns)
    table = family_table(rows, engines)
    cols = ['family'] + [f'{e}_{c}' for e in engines for c in ('n', 'p50_s', 'max_s', 'not_ok')]
    _harness.print_table(table, cols)
    for e in engines:
        print(e, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary[e].items()})
    print({k: v for k, v in summary.items() if k not in engines})

    def plot(path):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for e in engines:
            xs = sorted(
                r['seconds']
                for r in rows
                if r['engine'] == e and r['family'] != 'limit' and r['outcome'] in ('ok', 'timeout')
            )
            if xs:
                ax.step(xs, [(i + 1) / len(xs) for i in range(len(xs))], where='post', label=e)
        ax.set_xscale('log')
        ax.set_xlabel('construction time (s), Qwen3 vocabulary')
        ax.set_ylabel('fraction of patterns')
        ax.set_title('Format pattern corpus')
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    _harness.record(args, 'bench_construct_corpus', rows, summary, plot)


def main() -> None:
    parser = _harness.common_args(__doc__.splitlines()[0])
    parser.add_argument(
        '--corpus',
        action='store_true',
        help='FormatReward for the Qwen3 vocabulary over the pattern corpus (vs outlines-core)',
    )
    parser.add_argument('--timeout', type=float, default=10.0, help='corpus: seconds per pattern and engine')
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=1800.0,
        help='corpus: stop starting new patterns after this many seconds',
    )
    parser.add_argument('--engines', default='twinkle,outlines', help='corpus: comma-separated engines')
    args = parser.parse_args()
    if args.corpus:
        return corpus_main(args)
    counts = [10, 100] if args.quick else [10, 100, 1000]
    reps = 1 if args.quick else 3
    # One builder, nothing to compare: the first (untimed) build gives the states and the
    # outcome, then ``reps`` builds from scratch are timed.
    rows = _harness.run_grid(
        grid(counts),
        setup,
        {'build': lambda build: build()},
        timing=_harness.Timing(rounds=reps, budget_s=0.0, warmup=0),
        row=_row,
    )
    _harness.print_table(rows, ['family', 'N', 'mode', 'states', 'median_s', 'outcome'])
    ok = [r for r in rows if r['outcome'] == 'ok']
    summary = {
        'slowest_ok_s': max(r['median_s'] for r in ok),
        'slowest_failure_s': max([r['median_s'] for r in rows if r['outcome'] != 'ok'], default=None),
        'think_dots_1000_search_s': next(
            (
                r['median_s']
                for r in rows
                if r['family'] == 'think_dots' and r['N'] == 1000 and r['mode'] == 'search'
            ),
            None,
        ),
    }
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary.items()})

    def plot(path):
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(MODES), figsize=(12, 4), sharey=True)
        for ax, mode in zip(axes, MODES):
            for family in FAMILIES:
                pts = [
                    (r['N'], r['median_s'])
                    for r in rows
                    if r['family'] == family and r['mode'] == mode and r['outcome'] == 'ok'
                ]
                if pts:
                    ax.plot(*zip(*pts), marker='o', label=family)
            ax.set_xscale('log')
            ax.set_yscale('log')
            ax.set_xlabel('N')
            ax.set_title(mode)
        axes[0].set_ylabel('construction time (s)')
        axes[-1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    _harness.record(args, 'bench_construct', rows, summary, plot)


if __name__ == '__main__':
    main()
