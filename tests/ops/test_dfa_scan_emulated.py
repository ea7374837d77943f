"""The CUDA kernels of ``twinkle::dfa_scan``, their own source, run on the CPU.

``csrc/cuda/dfa_scan_kernels.cuh`` is compiled for the host with g++ against
``tests/ops/cuda_emu/cuda_emu.h``, an emulation of the CUDA execution model (a thread per
CUDA thread, barriers, block-shared statics, the dynamic shared memory poisoned per block),
and driven through the launch sequence ``csrc/cuda/dfa_scan.cu`` runs (``dfa_scan_launches``:
the kernel choice, the chunk cap, grid and shared-memory sizes). Results must equal the
pure-torch reference. This checks the kernels' indexing, tile loop, barriers, sink mode and
error paths on machines without a GPU; it says nothing about speed (see
``benchmarks/bench_format.py`` on a GPU for that). Skipped when g++ is missing.
"""

import ctypes

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from tests.ops import cuda_emu
from tests.ops.test_dfa_scan import (
    CHUNK_EXAMPLES,
    DIFFERENTIAL_ARGS,
    _batch,
    _chunk_dfas,
    _differential_inputs,
)
from twinkle import reference
from twinkle.data_format import pad_ids


@pytest.fixture(scope='module')
def emu():
    """The emulated kernels as a ctypes library (built once per source version)."""
    lib = cuda_emu.build('dfa_scan')
    lib.twinkle_emu_dfa_scan.restype = ctypes.c_int
    return lib


def run_emulated(lib, ids, lengths, class_ids, tables, starts, dead, chunk):
    """The emulated CUDA op: same arguments and results as ``torch.ops.twinkle.dfa_scan``."""
    ids = ids.to(torch.int64).contiguous()
    lengths = lengths.to(torch.int64).contiguous()
    class_ids, tables = class_ids.contiguous(), tables.contiguous()
    starts, dead = starts.contiguous(), dead.contiguous()
    b, l = ids.shape
    k, s, c = tables.shape
    final = torch.empty((b, k), dtype=torch.int32)
    first_dead = torch.empty((b, k), dtype=torch.int64)
    ptr = lambda t: ctypes.c_void_p(t.data_ptr())  # noqa: E731
    rc = lib.twinkle_emu_dfa_scan(
        ptr(ids),
        ptr(lengths),
        ptr(class_ids),
        ptr(tables),
        ptr(starts),
        ptr(dead),
        *(ctypes.c_int64(x) for x in (b, l, k, class_ids.shape[1], s, c, chunk)),
        ptr(final),
        ptr(first_dead),
    )
    assert rc == 0
    return final, first_dead


def assert_matches_reference(lib, args, chunk):
    want = reference.dfa_scan(*args)
    got = run_emulated(lib, *args, chunk)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


# The launch choices: one thread per row (chunk 0 in the launcher), and the chunked kernel
# with the chunk lengths the glue can pick (64 default, 128 the most) and small ones that
# make a row span several tiles.
@pytest.mark.parametrize('chunk', [0, 1, 2, 7, 64, 128])
@pytest.mark.parametrize('b,l', [(1, 0), (1, 1), (3, 97), (2, 300), (5, 64)])
@pytest.mark.parametrize('k,s,c', [(1, 1, 1), (1, 6, 4), (3, 17, 7), (2, 12, 5)])
def test_emulated_kernels_match_reference(emu, chunk, b, l, k, s, c):
    class_ids, tables, starts, dead = _chunk_dfas(k, s, c, 300, seed=b * 7 + l + s)
    ids, lengths = _batch(b, l, 300, torch.int64, seed=l + chunk)
    assert_matches_reference(emu, (ids, lengths, class_ids, tables, starts, dead), chunk)


@pytest.mark.parametrize('chunk', [0, 3, 64])
def test_emulated_errors_and_unchunkable(emu, chunk):
    """Bad ids and classes, a dead start, corrupt tables and a dead state that is no sink."""
    class_ids, tables, starts, dead = _chunk_dfas(4, 8, 5, 40, seed=21)
    class_ids[1, 7] = 99
    starts[2] = dead[2] if dead[2] >= 0 else starts[2]
    tables[3, 2, 1] = 8  # out of range: pattern 3 is not chunkable
    ids, lengths = _batch(6, 150, 40, torch.int64, seed=22)
    lengths[:] = 150
    ids[:, 4] = 7
    ids[0, 9] = 40
    ids[1, 0] = -1
    ids[2, 149] = 10**6
    assert_matches_reference(emu, (ids, lengths, class_ids, tables, starts, dead), chunk)


@settings(
    max_examples=max(50, CHUNK_EXAMPLES // 4),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(**DIFFERENTIAL_ARGS)
def test_emulated_differential(emu, s, c, v, b, l, chunk, shape, seed):
    args = _differential_inputs(s, c, v, b, l, shape, seed)
    assert_matches_reference(emu, args, chunk)


def test_emulated_strict_format_on_qwen3_ids(emu):
    """The real strict format DFA over real Qwen3 ids, rows spanning several tiles."""
    import random

    from twinkle.reward.format import FormatReward
    from twinkle.sampler.testing import qwen3_tokenizer

    tok = qwen3_tokenizer()
    fmt = FormatReward(tokenizer=tok)
    rng = random.Random(9)
    words = [' step', ' 42', '\n', ' so', ' the answer', '<', '</', 'think', '>', '😀', '中文']
    texts = [
        f'<think>{"".join(rng.choice(words) for _ in range(rng.randrange(50, 700)))}</think>\n'
        f'<answer>{i}</answer>'
        for i in range(12)
    ]
    enc = [tok.encode(t, add_special_tokens=False) for t in texts]
    ids, lengths = pad_ids(enc)
    args = (ids, lengths, fmt.token_class_ids, fmt.token_tables, fmt.token_starts, fmt.token_dead)
    for chunk in (8, 64):
        assert_matches_reference(emu, args, chunk)


@pytest.mark.parametrize(
    'pattern,mode',
    [
        (r'<think>.*?</think>', 'search'),
        (r'(?s)<a>.*</a>\s*', 'fullmatch'),
        (r'[^<]*', 'fullmatch'),
        (r'x', 'search'),
        (r'(?s)ab.*', 'match'),
    ],
)
def test_emulated_byte_dfas(emu, pattern, mode):
    """Real byte DFAs: a search's accepting sink (the kernel's sink mode), a dead sink, no sink."""
    import random

    from twinkle.dfa import compile_regex
    from twinkle.dfa.tokens import byte_table, token_classes

    tc = token_classes(compile_regex(pattern, 0, mode), byte_table())
    rng = random.Random(17)
    alphabet = b'<>/thinkabx \n\xe4\xbd\xa0\xff'
    rows = [
        bytes(
            rng.choice(alphabet) if rng.random() < 0.4 else rng.randrange(256)
            for _ in range(rng.randrange(0, 700))
        )
        for _ in range(20)
    ]
    rows += [b'<think>' * 200, b'<a>' + b'z' * 900 + b'</a> ', b'x' * 800, b'ab' + b'\x00' * 600]
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r))
    lengths = torch.tensor([len(r) for r in rows])
    args = (
        ids,
        lengths,
        torch.from_numpy(tc.class_ids.copy())[None],
        torch.from_numpy(tc.transitions.copy())[None],
        torch.tensor([tc.start], dtype=torch.int32),
        torch.tensor([tc.dead], dtype=torch.int32),
    )
    for chunk in (0, 2, 64):
        assert_matches_reference(emu, args, chunk)
