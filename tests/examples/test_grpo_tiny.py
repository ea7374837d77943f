"""examples/grpo_tiny.py: a short run learns the format and writes its plot."""

import importlib.util
import json
import math
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load():
    path = os.path.join(ROOT, 'examples', 'grpo_tiny.py')
    spec = importlib.util.spec_from_file_location('grpo_tiny_example', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_short_run_learns_and_plots(tmp_path):
    pytest.importorskip('matplotlib', reason='matplotlib is needed for the plot')
    ex = _load()
    plot, out = tmp_path / 'curve.png', tmp_path / 'curve.json'
    summary = ex.main(['--steps', '30', '--plot', str(plot), '--json', str(out), '--quiet'])
    hist = summary['history']
    assert len(hist) == 30 and all(math.isfinite(h['reward']) for h in hist)
    assert {'starts', 'format', 'math'} <= set(hist[0])
    first = sum(h['reward'] for h in hist[:5]) / 5
    last = sum(h['reward'] for h in hist[-5:]) / 5
    assert last > first + 0.2, (first, last)  # the format is learnt within 30 steps
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert json.loads(out.read_text())['steps'] == 30


def test_pack_marks_completion_targets():
    ex = _load()
    ids, attn, mask = ex.pack([[5, 6], [7]], [[1, 2, 3], [4], [8, 9], []], 2, pad_id=0)
    assert ids.tolist() == [[5, 6, 1, 2, 3], [5, 6, 4, 0, 0], [7, 8, 9, 0, 0], [7, 0, 0, 0, 0]]
    assert attn.sum(1).tolist() == [5, 3, 3, 1]
    # targets ids[:, 1:]; completion tokens of row 0 are targets 1..3
    assert mask.tolist() == [[0, 1, 1, 1], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
