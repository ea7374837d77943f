"""Process-wide tally of differential cases (read by conftest's terminal summary)."""

COUNTS = {'cases': 0, 'mismatches': 0}
