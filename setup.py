"""Builds twinkle's compiled ops (twinkle/_C) when torch is importable at build time.

Without torch (or with TWINKLE_SKIP_BUILD=1) the package installs as pure Python and
builds the library on first use instead (see twinkle/_ext.py). Install with
``pip install --no-build-isolation -e .`` so the build sees the torch you run with.
"""

import os
import runpy

from setuptools import setup

here = os.path.dirname(os.path.abspath(__file__))
src = runpy.run_path(os.path.join(here, 'twinkle', '_sources.py'))

ext_modules, cmdclass = [], {}
if os.environ.get('TWINKLE_SKIP_BUILD', '') != '1':
    try:
        import torch
        from torch.utils import cpp_extension
    except ImportError:
        torch = None
    if torch is not None:
        with_cuda = src['want_cuda'](torch)
        sources, includes = src['sources'](os.path.join('csrc'), with_cuda)
        kind = cpp_extension.CUDAExtension if with_cuda else cpp_extension.CppExtension
        extra = {'cxx': src['CXX_FLAGS']}
        if with_cuda:
            extra['nvcc'] = src['NVCC_FLAGS']
        ext_modules.append(
            kind(
                src['EXT_NAME'],
                sources,
                include_dirs=[os.path.join(here, d) for d in includes],
                extra_compile_args=extra,
                extra_link_args=src['LINK_FLAGS'],
            )
        )
        cmdclass['build_ext'] = cpp_extension.BuildExtension.with_options(use_ninja=True)

setup(ext_modules=ext_modules, cmdclass=cmdclass)
