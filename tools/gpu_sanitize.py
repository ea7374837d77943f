"""Small dfa_scan and group_advantage calls for compute-sanitizer on a GPU machine.

Run as ``compute-sanitizer --tool memcheck python3 tools/gpu_sanitize.py`` (and with
``--tool racecheck`` for shared-memory races in the chunked kernel's tile loop). Covers the
one-thread-per-row kernel, the column-summary kernel and the chunked kernel (several tiles,
sink mode, bad ids and classes, an unchunkable pattern), checks every result against the
pure-torch reference and exits non-zero on a mismatch. Inputs are kept small: the sanitizers
slow kernels down by orders of magnitude.
"""

import sys

import torch

from twinkle import reference


def main() -> int:
    if not torch.cuda.is_available():
        print('gpu_sanitize: no CUDA device')
        return 1
    import twinkle._C  # noqa: F401  (registers the ops)

    g = torch.Generator().manual_seed(0)
    k, s, c, v = 3, 9, 6, 50
    tables = torch.randint(0, s - 1, (k, s, c), generator=g, dtype=torch.int32)
    tables[:, :, 0] = torch.arange(s, dtype=torch.int32)  # identity column
    tables[:, :, 1] %= 2  # narrow column
    tables[:, s - 1] = s - 1  # sink
    dead = torch.tensor([s - 1, -1, s - 1], dtype=torch.int32)
    tables[1, 2] = 2  # a non-dead sink in pattern 1
    class_ids = torch.randint(0, c, (k, v), generator=g, dtype=torch.int32)
    class_ids[2, 5] = c  # a class out of range
    starts = torch.tensor([0, 1, s - 1], dtype=torch.int32)  # pattern 2 starts dead
    ids = torch.randint(0, v, (6, 700), generator=g)
    ids[1, 300] = v  # a bad id
    ids[2, 0] = -1
    lengths = torch.tensor([700, 699, 650, 1, 0, 513])
    bad_tables = tables.clone()
    bad_tables[0, 3, 2] = s + 4  # unchunkable: out of range
    failures = 0
    for tab in (tables, bad_tables):
        want = reference.dfa_scan(ids, lengths, class_ids, tab, starts, dead)
        for chunk in (0, 1, 7, 64, 128):
            for dtype in (torch.int64, torch.int32):
                got = torch.ops.twinkle.dfa_scan(
                    ids.to(dtype).cuda(),
                    lengths.cuda(),
                    class_ids.cuda(),
                    tab.cuda(),
                    starts.cuda(),
                    dead.cuda(),
                    chunk,
                )
                torch.cuda.synchronize()
                ok = torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])
                failures += not ok
                print(
                    f'dfa_scan chunk={chunk} ids={dtype} tables={"bad" if tab is bad_tables else "ok"}: '
                    f'{"ok" if ok else "MISMATCH"}'
                )
    r = torch.randn(1000, generator=g)
    r[::7] = float('nan')
    sorted_ids, order = torch.sort(torch.randint(0, 60, (1000,), generator=g), stable=True)
    for args in ((r, None, None, 8, 1, 1, 1e-6, True), (r, order, sorted_ids, 0, 0, 1, 1e-4, False)):
        want = reference.group_advantage(*args)
        cuda_args = tuple(a.cuda() if isinstance(a, torch.Tensor) else a for a in args)
        got = torch.ops.twinkle.group_advantage(*cuda_args)
        torch.cuda.synchronize()
        ok = torch.equal(got[1].cpu(), want[1]) and torch.allclose(
            got[0].cpu(), want[0], rtol=2e-6, atol=1e-6
        )
        failures += not ok
        print(f'group_advantage ragged={args[1] is not None}: {"ok" if ok else "MISMATCH"}')
    print('gpu_sanitize:', 'all ok' if not failures else f'{failures} mismatches')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
