"""Builds twinkle's CUDA kernels for the host under the CUDA emulation in this folder.

``build(name)`` compiles ``<name>_emu.cpp`` (which includes ``csrc/cuda/<name>_kernels.cuh``
and ``cuda_emu.h``) into a shared library, cached by the hash of every source it reads, and
returns it loaded with ctypes. ``TWINKLE_EMU_SANITIZE=1`` builds with AddressSanitizer and
UBSan (then run pytest with ``LD_PRELOAD=$(g++ -print-file-name=libasan.so)`` and
``ASAN_OPTIONS=detect_leaks=0``, as ``bash run.sh test`` does). Skips the calling test when
g++ is missing.
"""

import ctypes
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
INCLUDES = [HERE, os.path.join(ROOT, 'csrc', 'include'), os.path.join(ROOT, 'csrc', 'cuda')]


def build(name: str) -> ctypes.CDLL:
    if shutil.which('g++') is None:
        pytest.skip('g++ not found: the CUDA emulation is not built')
    main = os.path.join(HERE, f'{name}_emu.cpp')
    sources = (
        [main]
        + sorted(glob.glob(os.path.join(HERE, '*.h')))
        + sorted(glob.glob(os.path.join(ROOT, 'csrc', 'cuda', '*.cuh')))
        + [os.path.join(ROOT, 'csrc', 'cuda', 'launchers.h')]
        + sorted(glob.glob(os.path.join(ROOT, 'csrc', 'include', 'twinkle', '*.h')))
    )
    flags = ['-std=c++20', '-O1', '-fPIC', '-shared', '-pthread']
    if os.environ.get('TWINKLE_EMU_SANITIZE') == '1':
        flags += ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-g']
    digest = hashlib.sha256(
        b''.join(open(p, 'rb').read() for p in sources) + repr(flags).encode()
    ).hexdigest()[:16]
    out = os.path.join(tempfile.gettempdir(), f'twinkle_{name}_emu_{digest}.so')
    if not os.path.exists(out):
        tmp = f'{out}.{os.getpid()}'
        cmd = ['g++', *flags] + [f'-I{d}' for d in INCLUDES] + [main, '-o', tmp]
        subprocess.run(cmd, check=True)
        os.replace(tmp, out)
    return ctypes.CDLL(out)
