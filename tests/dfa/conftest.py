"""Counts the cases the differential tests compare and reports them in the pytest summary."""

import pytest

from . import _counter


def pytest_terminal_summary(terminalreporter):
    if _counter.COUNTS['cases']:
        terminalreporter.write_line(
            f'twinkle.dfa differential: {_counter.COUNTS["cases"]} cases compared against re, '
            f'{_counter.COUNTS["mismatches"]} mismatches'
        )


@pytest.fixture
def case_counter():
    """The shared tally: tests add the number of (pattern, text, mode) cases they compared."""
    return _counter.COUNTS
