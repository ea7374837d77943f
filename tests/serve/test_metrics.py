"""Metrics: percentiles, counters and the Prometheus text format."""

import math
import re

import pytest

from twinkle.serve.metrics import Metrics, percentile


@pytest.mark.parametrize(
    'values,q,expected',
    [
        ([], 0.5, math.nan),
        ([3.0], 0.99, 3.0),
        ([1, 2, 3, 4], 0.5, 2.5),
        (list(range(101)), 0.99, 99.0),
        ([5, 1, 3], 0.0, 1.0),
        ([5, 1, 3], 1.0, 5.0),
    ],
)
def test_percentile(values, q, expected):
    got = percentile(values, q)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_window_keeps_recent_values_and_counts_all():
    m = Metrics(window=10)
    for i in range(100):
        m.record_request('/score', 200, float(i), samples=2)
    lat = m.snapshot()['latency_s']['/score']
    assert lat['count'] == 100 and lat['sum'] == sum(range(100))
    assert lat['p50'] == pytest.approx(94.5)  # the last ten: 90..99
    assert m.snapshot()['samples'] == {'/score': 200}


def test_prometheus_text_format():
    m = Metrics(gauges={'queued_samples': lambda: 3})
    m.record_request('/get_reward', 200, 0.01, 1)
    m.record_request('/get_reward', 504, 2.0, 1)
    m.record_batch(2, 5, 0.003)
    m.record_outcomes('math', ['correct', 'unparsable'])
    m.record_event('request_timeouts')
    text = m.prometheus()
    sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (NaN|[-+0-9.e]+)$')
    for line in text.splitlines():
        assert line.startswith('# HELP ') or line.startswith('# TYPE ') or sample.match(line), line
    assert 'twinkle_requests_total{route="/get_reward",status="504"} 1' in text
    assert 'twinkle_outcomes_total{reward="math",outcome="unparsable"} 1' in text
    assert 'twinkle_outcomes_total{reward="math",outcome="timeout"} 0' in text
    assert 'twinkle_batch_samples_sum 5.0' in text
    assert 'twinkle_queued_samples 3' in text
    assert text.count('# TYPE twinkle_request_latency_seconds summary') == 1


def test_snapshot_has_no_nan():
    snap = Metrics().snapshot()
    assert snap['batch']['samples']['p50'] is None
