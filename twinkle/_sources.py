"""Where the compiled ops' sources are and how to build them, for ``setup.py`` (run by path,
stdlib only) and the on-first-use build in ``twinkle._ext``, so both build the same library.
"""

import glob
import os

EXT_NAME = 'twinkle._C'
CXX_FLAGS = ['-O3', '-fopenmp']
NVCC_FLAGS = ['-O3', '-lineinfo']
LINK_FLAGS = ['-fopenmp']


def csrc_dir(root=None):
    """The csrc/ folder beside the package, or None where it was not shipped."""
    if root is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = os.path.join(root, 'csrc')
    return d if os.path.isdir(d) else None


def sources(csrc, with_cuda):
    """(sources, include_dirs): the CPU sources, plus the CUDA ones when asked."""
    srcs = [os.path.join(csrc, 'torch_bindings.cpp')]
    srcs += sorted(glob.glob(os.path.join(csrc, 'cpu', '*.cpp')))
    if with_cuda:
        srcs += sorted(glob.glob(os.path.join(csrc, 'cuda', '*.cu')))
        srcs += sorted(glob.glob(os.path.join(csrc, 'cuda', '*_cuda.cpp')))
    includes = [os.path.join(csrc, 'include'), os.path.join(csrc, 'cpu'), os.path.join(csrc, 'cuda')]
    return srcs, includes


def want_cuda(torch):
    """Build the CUDA sources: torch has CUDA, nvcc is found, and nobody said no."""
    if os.environ.get('TWINKLE_NO_CUDA', '') == '1' or torch.version.cuda is None:
        return False
    from torch.utils.cpp_extension import CUDA_HOME

    if CUDA_HOME is None:
        return False
    return torch.cuda.is_available() or os.environ.get('TWINKLE_FORCE_CUDA', '') == '1'
