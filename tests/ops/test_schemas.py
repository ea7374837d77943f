"""Every reference op takes exactly its schema's arguments (csrc/torch_bindings.cpp), and
every schema has a reference: parsed from the source, so no compiled library is needed."""

import inspect
import os
import re

import pytest
import torch

from twinkle import reference

BINDINGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'csrc', 'torch_bindings.cpp'
)


def schemas() -> dict:
    """{op name: torch FunctionSchema} of every ``m.def(...)`` in torch_bindings.cpp."""
    with open(BINDINGS) as f:
        text = f.read()
    out = {}
    for call in re.findall(r'm\.def\(\s*((?:"[^"]*"\s*)+)\)', text):
        schema = torch._C.parse_schema(''.join(re.findall(r'"([^"]*)"', call)))
        out[schema.name] = schema
    return out


SCHEMAS = schemas()


def test_every_schema_has_a_reference():
    assert sorted(SCHEMAS) == sorted(reference.__all__)


@pytest.mark.parametrize('op', sorted(SCHEMAS))
def test_reference_signature_is_the_schema(op):
    params = list(inspect.signature(getattr(reference, op)).parameters.values())
    args = SCHEMAS[op].arguments
    assert [p.name for p in params] == [a.name for a in args]
    for p, a in zip(params, args):
        want = a.default_value if a.has_default_value() else inspect.Parameter.empty
        assert p.default == want, f'{op}({p.name}): default {p.default!r}, schema {want!r}'
