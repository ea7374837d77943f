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
intersection), the seed's two searches, a boxed integer, an answer of at most 100 digits.

Run: python benchmarks/bench_construct.py [--quick]
"""
from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

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
    'seed_think': (r'<think>.*?</think>', re.DOTALL, 'search'),
    'seed_answer': (r'<answer>.*?</answer>', re.DOTALL, 'search'),
    'boxed_int': (r'\\boxed\{\s*-?\d+\s*\}', 0, 'search'),
    'answer_100_digits': (r'<answer>\s*\d{1,100}\s*</answer>', 0, 'search'),
}


def setup(pattern: str, flags: int, mode: str):
    """A construction from scratch: the compile cache is cleared first."""
    def build():
        _compile._compile_cached.cache_clear()
        try:
            return compile_regex(pattern, flags, mode).num_states, 'ok'
        except StateLimitError as e:
            return None, f'StateLimitError ({str(e).split(": ", 1)[1][:60]}...)'
    return build


def _row(family: str, n, pattern: str, flags: int, mode: str, reps: int):
    build = setup(pattern, flags, mode)
    states, outcome = build()
    t = _harness.measure(build, warmup=0, min_reps=reps, max_reps=reps, budget_s=0.0)
    return {'family': family, 'N': n, 'mode': mode, 'pattern': pattern,
            'flags': str(re.RegexFlag(flags)) if flags else '', 'states': states,
            'outcome': outcome, 'median_s': t['median_ms'] / 1e3, 'reps': t['reps']}


def main() -> None:
    args = _harness.common_args(__doc__.splitlines()[0]).parse_args()
    counts = [10, 100] if args.quick else [10, 100, 1000]
    reps = 1 if args.quick else 3
    rows = []
    for family, (template, flags) in FAMILIES.items():
        for n in counts:
            pattern = template.format(n=n, m=max(1, n // 10))
            for mode in MODES:
                rows.append(_row(family, n, pattern, flags, mode, reps))
                print(f"{family:14} N={n:<5} {mode:9} {rows[-1]['median_s']:7.3f} s  "
                      f"{rows[-1]['states'] or rows[-1]['outcome']}", flush=True)
    for family, (pattern, flags, mode) in FORMATS.items():
        rows.append(_row(family, None, pattern, flags, mode, reps))
    strict = _harness.measure(lambda: (_compile._compile_cached.cache_clear(), think_answer_format()),
                              warmup=0, min_reps=reps, max_reps=reps, budget_s=0.0)
    rows.append({'family': 'think_answer_strict', 'N': None, 'mode': 'fullmatch',
                 'pattern': 'think_answer_format()', 'flags': 're.DOTALL',
                 'states': think_answer_format().num_states, 'outcome': 'ok',
                 'median_s': strict['median_ms'] / 1e3, 'reps': strict['reps']})
    _harness.print_table(rows, ['family', 'N', 'mode', 'states', 'median_s', 'outcome'])
    ok = [r for r in rows if r['outcome'] == 'ok']
    summary = {
        'slowest_ok_s': max(r['median_s'] for r in ok),
        'slowest_failure_s': max([r['median_s'] for r in rows if r['outcome'] != 'ok'], default=None),
        'think_dots_1000_search_s': next((r['median_s'] for r in rows if r['family'] == 'think_dots'
                                          and r['N'] == 1000 and r['mode'] == 'search'), None),
    }
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary.items()})

    def plot(path):
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(MODES), figsize=(12, 4), sharey=True)
        for ax, mode in zip(axes, MODES):
            for family in FAMILIES:
                pts = [(r['N'], r['median_s']) for r in rows
                       if r['family'] == family and r['mode'] == mode and r['outcome'] == 'ok']
                if pts:
                    ax.plot(*zip(*pts), marker='o', label=family)
            ax.set_xscale('log'); ax.set_yscale('log')
            ax.set_xlabel('N'); ax.set_title(mode)
        axes[0].set_ylabel('construction time (s)')
        axes[-1].legend(fontsize=7); fig.tight_layout(); fig.savefig(path, dpi=100)

    name = args.out or ('bench_construct_quick' if args.quick else 'bench_construct')
    print('wrote', _harness.write_results(name, rows, summary, None if args.no_plot else plot))


if __name__ == '__main__':
    main()
