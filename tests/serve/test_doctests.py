"""The ``>>>`` examples in twinkle.serve's docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    'twinkle.serve.scorer',
    'twinkle.serve.batcher',
    'twinkle.serve.metrics',
    'twinkle.serve.config',
    'twinkle.serve.protocol',
    'twinkle.serve.app',
    'twinkle.serve.server',
    'twinkle.__main__',
]


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    if name == 'twinkle.serve.app':
        pytest.importorskip('starlette')
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
