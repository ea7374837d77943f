"""The Python enums of twinkle.constants equal their C++ mirrors in csrc/include/twinkle."""

import os
import re

import pytest

from twinkle.constants import CPP_MIRRORS

INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'csrc', 'include')


def cpp_enum(header: str, name: str) -> dict:
    """{enumerator: value} of ``enum <name> : <type> { ... };`` in ``header``."""
    with open(os.path.join(INCLUDE, header)) as f:
        text = re.sub(r'//[^\n]*', '', f.read())
    found = re.findall(r'\benum\s+' + name + r'\s*(?::\s*\w+\s*)?\{([^}]*)\}', text)
    assert len(found) == 1, f'{header}: expected one enum {name}, found {len(found)}'
    members = {}
    for item in filter(None, (s.strip() for s in found[0].split(','))):
        key, value = (s.strip() for s in item.split('='))
        members[key] = int(value)
    return members


def cpp_name(prefix: str, member: str) -> str:
    """``BAD_ID`` with prefix ``kDfa`` -> ``kDfaBadId``."""
    return prefix + ''.join(w.capitalize() for w in member.split('_'))


@pytest.mark.parametrize('enum_cls', list(CPP_MIRRORS), ids=lambda e: e.__name__)
def test_python_enum_equals_cpp_enum(enum_cls):
    header, name, prefix = CPP_MIRRORS[enum_cls]
    want = {cpp_name(prefix, m.name): int(m) for m in enum_cls}
    assert cpp_enum(header, name) == want


def test_parser_reads_a_value_change():
    """The parser is not vacuous: it sees values and names."""
    assert cpp_enum('twinkle/dfa_scan.h', 'DfaError') == {'kDfaBadId': -1, 'kDfaBadTable': -2}
