"""Loading the compiled library: prebuilt, built on first use, or absent."""

import json
import os
import subprocess
import sys

import pytest

import twinkle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = r"""
import json, logging, torch
logging.basicConfig(level=logging.INFO)
import twinkle
from twinkle.advantage import GRPOAdvantage
from twinkle import _ext
from twinkle.reward import FormatReward
adv = GRPOAdvantage()([0, 1, 0, 1, 1, 0, 0, 0], num_generations=4, scale='none')
fmt = FormatReward(r'\d', mode='search')(['x1', 'x', '\u4f60 2'])
print(json.dumps({'info': twinkle.extension_info(), 'adv': adv.tolist(), 'fmt': fmt,
                  'strings': _ext.string_scanner() is not None}))
"""


def _probe(env_extra):
    env = dict(os.environ, **env_extra)
    out = subprocess.run(
        [sys.executable, '-c', PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


EXPECTED = [-0.5, 0.5, -0.5, 0.5, 0.75, -0.25, -0.25, -0.25]


def test_extension_info_keys():
    info = twinkle.extension_info()
    assert {'cpu', 'cuda', 'source', 'path', 'error', 'torch'} <= set(info)
    assert isinstance(info['cpu'], bool) and isinstance(info['cuda'], bool)


def test_extension_info_per_op():
    """One entry per op (every op of twinkle.reference), each saying which backends are live;
    the global flags summarise them."""
    from twinkle import reference

    info = twinkle.extension_info()
    assert set(info['ops']) == set(reference.__all__)
    for backends in info['ops'].values():
        assert set(backends) == {'cpu', 'cuda', 'reference'} and backends['reference'] is True
        assert all(isinstance(v, bool) for v in backends.values())
    assert info['cpu'] == any(b['cpu'] for b in info['ops'].values())
    assert info['cuda'] == any(b['cuda'] for b in info['ops'].values())
    info['ops']['dfa_scan']['cpu'] = 'changed'  # a copy: the cached answer is untouched
    assert isinstance(twinkle.extension_info()['ops']['dfa_scan']['cpu'], bool)


def test_without_the_library_everything_runs_on_the_reference():
    res, log = _probe({'TWINKLE_DISABLE_EXT': '1'})
    assert res['info']['cpu'] is False and res['info']['source'] is None
    assert all(b == {'cpu': False, 'cuda': False, 'reference': True} for b in res['info']['ops'].values())
    assert 'TWINKLE_DISABLE_EXT' in res['info']['error']
    assert res['adv'] == EXPECTED
    assert res['strings'] is False and res['fmt'] == [1.0, 0.0, 1.0]  # the encoded path
    # logged once, and it says which backend runs
    assert log.count('running the pure-torch reference ops') == 1


@pytest.mark.slow
def test_on_first_use_build(tmp_path):
    """The cpp_extension.load path a source checkout takes when setup.py built nothing."""
    res, _ = _probe({'TWINKLE_FORCE_JIT': '1', 'TWINKLE_CACHE': str(tmp_path)})
    assert res['info']['source'] == 'jit' and res['info']['cpu'] is True, res['info']
    assert res['adv'] == EXPECTED
    # the string scanner is imported from the library built on first use
    assert res['strings'] is True and res['fmt'] == [1.0, 0.0, 1.0]


def test_a_library_lacking_a_function_gives_no_scanner(monkeypatch, caplog):
    """Callers use every function of the scanner module without probing: a library built
    from other sources that lacks one is refused whole, and says so."""
    from twinkle import _ext

    if _ext.string_scanner() is None:
        pytest.skip('the compiled library is not loaded')
    assert all(hasattr(_ext.string_scanner(), name) for name in _ext._SCANNER_FUNCTIONS)
    monkeypatch.setattr(_ext, '_SCANNER_FUNCTIONS', _ext._SCANNER_FUNCTIONS + ('no_such_function',))
    with caplog.at_level('WARNING', logger='twinkle'):
        assert _ext._load_scanner() is None
    assert 'no_such_function' in caplog.text
