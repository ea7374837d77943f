"""Loads twinkle's compiled ops, once, and says which backends are live.

Order: the library ``setup.py`` built (``twinkle/_C``); else, in a source checkout with a
C++ compiler, an on-first-use build with ``torch.utils.cpp_extension.load`` (ninja,
cached under ``$TWINKLE_CACHE`` or ``~/.cache/twinkle``); else nothing, and every op runs
its pure-torch reference. Loading never raises: the outcome is logged once and reported
by :func:`extension_info`. ``TWINKLE_DISABLE_EXT=1`` skips the library altogether;
``TWINKLE_FORCE_JIT=1`` ignores a prebuilt one and builds on first use.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
import threading
from typing import Any, Dict

from twinkle import _sources

logger = logging.getLogger('twinkle')

_lock = threading.Lock()
_state: Dict[str, Any] = {}


def _jit_build(torch) -> Dict[str, Any]:
    csrc = _sources.csrc_dir()
    if csrc is None:
        return {'error': 'no compiled library and no csrc/ to build one from'}
    if shutil.which(os.environ.get('CXX', 'c++')) is None:
        return {'error': 'no compiled library and no C++ compiler to build one'}
    from torch.utils import cpp_extension

    with_cuda = _sources.want_cuda(torch)
    srcs, includes = _sources.sources(csrc, with_cuda)
    tag = f'torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}'
    tag += '-cuda' if with_cuda else '-cpu'
    cache = os.environ.get('TWINKLE_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'twinkle')
    build_dir = os.path.join(cache, tag.replace('+', '_'))
    os.makedirs(build_dir, exist_ok=True)
    logger.warning('twinkle: building the compiled ops on first use in %s (once; takes a minute)', build_dir)
    cpp_extension.load(
        name='twinkle_C',
        sources=srcs,
        extra_include_paths=includes,
        extra_cflags=_sources.CXX_FLAGS,
        extra_cuda_cflags=_sources.NVCC_FLAGS,
        extra_ldflags=_sources.LINK_FLAGS,
        build_directory=build_dir,
        with_cuda=with_cuda,
        is_python_module=False,
        verbose=False,
    )
    return {'source': 'jit', 'path': os.path.join(build_dir, 'twinkle_C.so'), 'cuda_built': with_cuda}


def _load() -> Dict[str, Any]:
    import torch

    info: Dict[str, Any] = {
        'cpu': False,
        'cuda': False,
        'source': None,
        'path': None,
        'error': None,
        'torch': torch.__version__,
    }
    if os.environ.get('TWINKLE_DISABLE_EXT', '') == '1':
        info['error'] = 'disabled by TWINKLE_DISABLE_EXT=1'
    else:
        try:
            if os.environ.get('TWINKLE_FORCE_JIT', '') == '1':
                raise ImportError('skipped by TWINKLE_FORCE_JIT=1')
            mod = importlib.import_module('twinkle._C')
            info.update(source='setup.py', path=getattr(mod, '__file__', None))
        except ImportError as e:
            first_error = f'twinkle._C: {e}'
            try:
                info.update(_jit_build(torch))
            except Exception as e2:  # noqa: BLE001 - a failed build must never break import
                info['error'] = f'{first_error}; on-first-use build failed: {type(e2).__name__}: {e2}'
    info['ops'] = _op_backends(torch, info['source'] is not None)
    info['cpu'] = any(op['cpu'] for op in info['ops'].values())
    info['cuda'] = any(op['cuda'] for op in info['ops'].values())
    info.pop('cuda_built', None)
    if info['cpu']:
        logger.info(
            'twinkle: compiled ops loaded from %s (cpu=%s, cuda=%s)', info['path'], info['cpu'], info['cuda']
        )
    else:
        logger.warning(
            'twinkle: compiled ops unavailable (%s); running the pure-torch reference ops', info['error']
        )
    return info


def _op_backends(torch, loaded: bool) -> Dict[str, Dict[str, bool]]:
    """{op: {'cpu', 'cuda', 'reference'}} for every op (each has a pure-torch reference)."""
    from twinkle import reference

    cuda = torch.cuda.is_available()

    def compiled(op: str, key: str) -> bool:
        try:
            return bool(torch._C._dispatch_has_kernel_for_dispatch_key(f'twinkle::{op}', key))
        except RuntimeError:  # a library built before this op existed
            return False

    return {
        op: {
            'cpu': loaded and compiled(op, 'CPU'),
            'cuda': loaded and cuda and compiled(op, 'CUDA'),
            'reference': True,
        }
        for op in reference.__all__
    }


def _ensure() -> Dict[str, Any]:
    if not _state:
        with _lock:
            if not _state:
                _state.update(_load())
    return _state


def extension_info() -> Dict[str, Any]:
    """Which compiled backends are live and where the library came from.

    Returns:
        A dict with ``cpu`` and ``cuda`` (bool: compiled ops loaded for that device),
        ``source`` ('setup.py', 'jit' or None), ``path``, ``error`` (why not, or None),
        ``torch`` (the torch version) and ``ops``: for each op, which backends are live,
        ``{'group_advantage': {'cpu': bool, 'cuda': bool, 'reference': True}, ...}``
        (an op runs its pure-torch reference on a device without a compiled kernel).

    >>> info = extension_info()
    >>> isinstance(info['cpu'], bool) and isinstance(info['cuda'], bool)
    True
    >>> info['ops']['group_advantage']['reference']
    True
    """
    info = dict(_ensure())
    info['ops'] = {op: dict(backends) for op, backends in info['ops'].items()}
    return info


_scanner: Dict[str, Any] = {}

# The library's plain Python functions (``PyInit__C`` in csrc/torch_bindings.cpp): the string
# scanner, the direct id scanner and the token lift.
_SCANNER_FUNCTIONS = (
    'byte_program',
    'scan_strings',
    'token_program',
    'scan_ids',
    'lift_tokens',
    'accept_values',
    'all_str',
    'all_float',
    'gather_lists',
)


def string_scanner() -> Any:
    """The compiled library's module, with every function of ``_SCANNER_FUNCTIONS``, or None.

    Plain functions in the ops' library, since an op schema cannot take a list of str. A
    library that lacks one of them (built from other sources) gives None, logged once.
    """
    if 'mod' not in _scanner:
        _ensure()  # takes _lock itself: first, not inside it
        with _lock:
            if 'mod' not in _scanner:
                _scanner['mod'] = _load_scanner()
    return _scanner['mod']


def loaded_scanner() -> Any:
    """:func:`string_scanner`'s module if a call has loaded it already, else None (loads
    nothing, so a caller that may run without torch stays light)."""
    return _scanner.get('mod')


def _load_scanner() -> Any:
    info = _ensure()
    if info['source'] is None or not info['cpu']:
        return None
    try:
        if info['source'] == 'setup.py':
            mod = importlib.import_module('twinkle._C')
        else:
            from importlib import machinery, util

            loader = machinery.ExtensionFileLoader('twinkle._C', info['path'])
            spec = util.spec_from_file_location('twinkle._C', info['path'], loader=loader)
            mod = util.module_from_spec(spec)
            loader.exec_module(mod)
    except ImportError as e:
        logger.warning(
            'twinkle: the string scanner is unavailable (%s); strings are encoded '
            'and scanned by the dfa_scan op',
            e,
        )
        return None
    missing = [name for name in _SCANNER_FUNCTIONS if not hasattr(mod, name)]
    if missing:
        logger.warning(
            'twinkle: the compiled library %s lacks %s (built from other sources: rebuild it); '
            'strings are encoded and scanned by the dfa_scan op',
            info['path'],
            ', '.join(missing),
        )
        return None
    return mod


def has_kernel(op: str, device_type: str) -> bool:
    """True when the compiled op ``twinkle::<op>`` (e.g. 'group_advantage') serves tensors on
    ``device_type`` ('cpu' or 'cuda'; other devices always use the reference).
    """
    if device_type not in ('cpu', 'cuda'):
        return False
    return _ensure()['ops'].get(op, {}).get(device_type, False)
