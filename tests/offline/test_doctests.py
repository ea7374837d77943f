"""The ``>>>`` examples in twinkle.offline's docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    'twinkle.offline.io',
    'twinkle.offline.summary',
    'twinkle.offline.compare',
    'twinkle.offline.run',
    'twinkle.offline.ray_data',
]


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
