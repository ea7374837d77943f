"""Format reward: the seed's decode-then-regex check against twinkle's DFA scans.

Every provider computes the seed project's check (``re.search`` with DOTALL for
``<think>.*?</think>`` and for ``<answer>.*?</answer>``; 1.0 when both match) on 4096
completions of about 1,000 and about 4,000 Qwen3 tokens:

  (a) seed_decode_re   tokenizer.batch_decode(ids), then two re.search per string
  (b) seed_re          the two searches on already-decoded strings
  (c) twinkle_str_cpu  FormatReward([...], mode='search') on the same strings (byte DFA)
  (d) twinkle_ids_cpu  the same reward's forward on the padded token ids (compiled CPU op)
  (e) twinkle_ids_cuda the same on a GPU, when one is present
      torch_ref        twinkle's pure-torch reference op on the ids (the fallback)

Completions are think/answer texts (prose, arithmetic, some CJK and emoji), 30% of them
malformed (missing or unclosed tags, answer first, nothing at all). All providers must
agree on every verdict before anything is timed.

Run: python benchmarks/bench_format.py [--quick] [--cuda-only]
Targets on a 2-core CPU, as ratios from one run: (d) >= 200x faster than (a); (c) >= 3x
faster than (b). On an H200: 4096 x 4096 tokens in under 50 microseconds.

The GPU target is measured on its own batch, when a GPU is present: 4096 rows of exactly
4096 Qwen3 tokens (think/answer completions of ~4,600 tokens cut at 4096, so every token is
real), the ``twinkle::dfa_scan`` op alone, for the seed check (two search patterns) and the
strict default format (one fullmatch pattern), int64 and int32 ids, with the backend's chunk
choice and with explicit chunk lengths. ``--cuda-only`` skips the CPU providers (for a GPU
session with little time) and keeps only the verdict check they feed.
"""
from __future__ import annotations

import os
import random
import re
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

from twinkle import _ext, reference  # noqa: E402
from twinkle.reward.format import FormatReward, pad_texts  # noqa: E402

THINK = re.compile(r'<think>.*?</think>', re.DOTALL)
ANSWER = re.compile(r'<answer>.*?</answer>', re.DOTALL)
SEED_PATTERNS = [r'<think>.*?</think>', r'<answer>.*?</answer>']

WORDS = ('the of and to a in is that for it as with was on be by this are or from we can so if then '
         'number sum product equation solve value total each step first next therefore hence since '
         'because check compute divide multiply subtract add remainder square root fraction prime '
         'let suppose assume wait actually hmm maybe answer result simplify factor').split()


def qwen_tokenizer():
    return _harness.qwen_tokenizer('bench_format')


def _sentence(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        a, b = rng.randrange(2, 999), rng.randrange(2, 999)
        return f'{a} * {b} = {a * b}, and {a} + {b} = {a + b}.'
    if r < 0.2:
        return rng.choice(['我们先计算一下。', '所以答案是这个。', '检查一遍 😀。', 'Let me verify 👍.'])
    words = [rng.choice(WORDS) for _ in range(rng.randrange(6, 18))]
    return ' '.join(words).capitalize() + rng.choice(['.', '.', ',', '?', ':'])


def _thinking(rng: random.Random, n_chars: int) -> str:
    parts, size = [], 0
    while size < n_chars:
        s = _sentence(rng)
        if rng.random() < 0.1:
            s += '\n\n'
        parts.append(s)
        size += len(s) + 1
    return ' '.join(parts)


def completion(rng: random.Random, n_chars: int) -> str:
    """A think/answer completion of about ``n_chars`` characters; 30% malformed."""
    body = _thinking(rng, n_chars)
    ans = str(rng.randrange(1000))
    kind = rng.random()
    if kind < 0.7:
        return f'<think>\n{body}\n</think>\n<answer>{ans}</answer>'
    bad = [f'<think>\n{body}\n<answer>{ans}</answer>',            # unclosed think
           f'<think>\n{body}\n</think>\nThe answer is {ans}.',      # no answer tags
           f'{body}\n<answer>{ans}',                                # nothing closed
           f'<answer>{ans}</answer>\n<think>{body}</think>',        # answer first (seed accepts)
           body]
    return rng.choice(bad)


def setup(n: int, tokens: int, tok, unique: int = 256, seed: int = 0):
    """(ids as lists, padded ids (B, L) int64, lengths (B,), decoded strings).

    ``unique`` distinct completions are generated and encoded, then tiled to ``n``.
    """
    rng = random.Random(seed + tokens)
    chars = int(tokens * 4.3)  # ~4.3 characters per Qwen3 token on this text
    texts = [completion(rng, chars) for _ in range(unique)]
    enc = tok(texts, add_special_tokens=False)['input_ids']
    ids = [enc[i % unique] for i in range(n)]
    width = max(len(x) for x in ids)
    padded = torch.zeros((n, width), dtype=torch.int64)
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.int64)
    for i, x in enumerate(enc):
        padded[i, :len(x)] = torch.tensor(x)
    padded = padded[torch.arange(n) % unique]
    strings = tok.batch_decode(ids, skip_special_tokens=True)
    return ids, padded, lengths, strings


def seed_check(texts):
    return [1.0 if THINK.search(t) and ANSWER.search(t) else 0.0 for t in texts]


GPU_ROWS, GPU_TOKENS = 4096, 4096
GPU_CHUNKS = (0, 32, 64, 128)


def gpu_target_rows(tok, device: str, rows: int = GPU_ROWS, tokens: int = GPU_TOKENS):
    """Rows of the "4096 x 4096 tokens" target: the op alone on ``device``.

    Each completion is generated long enough to give ``tokens`` tokens and cut there, so the
    batch is (rows, tokens) with no padding. The verdicts are checked against ``re`` on the
    decoded rows before anything is timed.
    """
    rng = random.Random(7)
    unique = 64
    texts = [completion(rng, int(tokens * 5.0)) for _ in range(unique)]
    enc = [e[:tokens] for e in tok(texts, add_special_tokens=False)['input_ids']]
    if min(len(e) for e in enc) < tokens:
        raise RuntimeError('bench_format: a generated completion is shorter than the target row')
    base = torch.tensor(enc, dtype=torch.int64)
    ids = base[torch.arange(rows) % unique].to(device)
    lengths = torch.full((rows,), tokens, dtype=torch.int64, device=device)
    decoded = tok.batch_decode(enc, skip_special_tokens=True)
    want_seed = [seed_check([decoded[i % unique]])[0] for i in range(rows)]
    out = []
    checks = {
        'seed_search_k2': (FormatReward(SEED_PATTERNS, mode='search', flags=re.DOTALL, tokenizer=tok), want_seed),
        'strict_fullmatch_k1': (FormatReward(tokenizer=tok), None),
    }
    for check, (reward, want) in checks.items():
        reward = reward.to(device)
        got = reward(ids, lengths=lengths).tolist()
        if want is not None:
            assert got == want, f'bench_format: {check} on {device} disagrees with re'
        else:  # the strict check against its own string path on the decoded rows
            assert got == reward([decoded[i % unique] for i in range(rows)]), check
        args = (reward.token_class_ids, reward.token_tables, reward.token_starts, reward.token_dead)
        for dtype in (torch.int64, torch.int32):
            x = ids.to(dtype)
            for chunk in GPU_CHUNKS:
                fn = (lambda x=x, chunk=chunk: torch.ops.twinkle.dfa_scan(x, lengths, *args, chunk))
                t = _harness.measure(fn, device=device, warmup=3, min_reps=20, max_reps=500, budget_s=1.0)
                out.append({'check': check, 'rows': rows, 'tokens': tokens, 'ids': str(dtype).split('.')[-1],
                            'chunk': chunk, 'device': device, 'median_us': t['median_ms'] * 1e3,
                            'p25_us': t['p25_ms'] * 1e3, 'p75_us': t['p75_ms'] * 1e3, 'reps': t['reps']})
    return out


def main() -> None:
    parser = _harness.common_args(__doc__.splitlines()[0])
    parser.add_argument('--cuda-only', action='store_true',
                        help='time only the CUDA providers and the 4096 x 4096 target (GPU sessions)')
    args = parser.parse_args()
    tok = qwen_tokenizer()
    n = 256 if args.quick else 4096
    sizes = [1000] if args.quick else [1000, 4000]
    t0 = time.perf_counter()
    reward = FormatReward(SEED_PATTERNS, mode='search', flags=re.DOTALL, tokenizer=tok)
    build_s = time.perf_counter() - t0
    # The class table alone (the "under 2 s for a 150k vocabulary"), uncached.
    from twinkle.dfa import tokens as _tokens
    from twinkle.reward.format import _pattern_dfa
    dfa = _pattern_dfa(reward.specs[0])
    t0 = time.perf_counter()
    _tokens.token_classes(dfa, reward.token_table, mask_id=True)
    classes_s = time.perf_counter() - t0
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() and _ext.has_kernel('dfa_scan', 'cuda') else [])
    rows = []
    for tokens in sizes:
        ids, padded, lengths, strings = setup(n, tokens, tok)
        mean_tokens = float(lengths.float().mean())
        want = seed_check(strings)
        cls, tab = reward.token_class_ids[0], reward.token_tables[0]
        st, dd = reward.token_starts, reward.token_dead
        acc = reward.token_accept[0]
        providers = {} if args.cuda_only else {
            'seed_decode_re': (lambda: seed_check(tok.batch_decode(ids, skip_special_tokens=True)), 'cpu'),
            'seed_re': (lambda: seed_check(strings), 'cpu'),
            'twinkle_str_cpu': (lambda: reward(strings), 'cpu'),
            'twinkle_ids_cpu': (lambda: reward(padded, lengths=lengths), 'cpu'),
            'torch_ref': (lambda: acc[reference.dfa_scan(padded, lengths, cls[None], tab[None], st, dd)[0][:, 0]]
                          .float(), 'cpu'),
        }
        if 'cuda' in devices:
            r_cuda = FormatReward(SEED_PATTERNS, mode='search', flags=re.DOTALL, tokenizer=tok).to('cuda')
            p_cuda, l_cuda = padded.cuda(), lengths.cuda()
            providers['twinkle_ids_cuda'] = (lambda: r_cuda.forward(p_cuda, lengths=l_cuda), 'cuda')
            providers['twinkle_op_cuda'] = (
                lambda: torch.ops.twinkle.dfa_scan(p_cuda, l_cuda, r_cuda.token_class_ids, r_cuda.token_tables,
                                                   r_cuda.token_starts, r_cuda.token_dead), 'cuda')
        for name, (fn, device) in providers.items():
            out = fn()
            if name != 'twinkle_op_cuda':
                got = out.tolist() if isinstance(out, torch.Tensor) else out
                assert got == want, f'{name} disagrees with the seed check'
            slow = name in ('seed_decode_re', 'torch_ref')
            t = _harness.measure(fn, device=device, warmup=1 if slow else 2, min_reps=3 if slow else 10,
                                 max_reps=200, budget_s=3.0 if slow else 2.0)
            rows.append({'tokens': tokens, 'mean_tokens': round(mean_tokens, 1), 'B': n, 'provider': name, **t})
    by = {(r['tokens'], r['provider']): r['median_ms'] for r in rows}
    for r in rows:
        for key, base in (('speedup_vs_a', 'seed_decode_re'), ('speedup_vs_b', 'seed_re')):
            r[key] = by[(r['tokens'], base)] / r['median_ms'] if (r['tokens'], base) in by else float('nan')
    _harness.print_table(rows, ['tokens', 'mean_tokens', 'B', 'provider', 'median_ms', 'speedup_vs_a',
                                'speedup_vs_b'])
    summary = {
        'targets': '(d) twinkle_ids_cpu >= 200x (a) seed_decode_re; (c) twinkle_str_cpu >= 3x (b) seed_re',
        'reward_build_s': build_s,
        'token_classes_s': classes_s,
        'dfa_states': int(dfa.num_states),
        'vocab': reward.token_table.vocab_size,
        'threads': torch.get_num_threads(),
    }
    for tokens in sizes:
        if not args.cuda_only:
            summary[f'd_over_a_{tokens}'] = by[(tokens, 'seed_decode_re')] / by[(tokens, 'twinkle_ids_cpu')]
            summary[f'c_over_b_{tokens}'] = by[(tokens, 'seed_re')] / by[(tokens, 'twinkle_str_cpu')]
        if (tokens, 'twinkle_op_cuda') in by:
            summary[f'cuda_op_us_{tokens}'] = by[(tokens, 'twinkle_op_cuda')] * 1e3
    if 'cuda' in devices:
        target = gpu_target_rows(tok, 'cuda', rows=256 if args.quick else GPU_ROWS)
        _harness.print_table(target, ['check', 'rows', 'tokens', 'ids', 'chunk', 'median_us', 'p25_us', 'p75_us'])
        summary['gpu_target'] = target
        summary['gpu_target_best_us'] = {
            check: min(r['median_us'] for r in target if r['check'] == check and r['chunk'] == 0)
            for check in dict.fromkeys(r['check'] for r in target)}
    print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary.items() if k != 'gpu_target'})

    def plot(path):
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4))
        names = [p for p in dict.fromkeys(r['provider'] for r in rows)]
        width = 0.8 / len(sizes)
        for j, tokens in enumerate(sizes):
            ax.bar([i + j * width for i in range(len(names))],
                   [by.get((tokens, p), float('nan')) for p in names], width, label=f'~{tokens} tokens')
        ax.set_xticks([i + width * (len(sizes) - 1) / 2 for i in range(len(names))])
        ax.set_xticklabels(names, rotation=20)
        ax.set_yscale('log'); ax.set_ylabel(f'median ms for B={n}')
        ax.set_title('Format check (seed: two re.search)')
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    name = args.out or ('bench_format_quick' if args.quick else 'bench_format')
    print('wrote', _harness.write_results(name, rows, summary, None if args.no_plot else plot))


if __name__ == '__main__':
    main()
