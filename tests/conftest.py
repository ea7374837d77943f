"""Shared fixtures: every op test runs on CPU, and on CUDA when a GPU is present."""

import os

import pytest
import torch

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.fixture(params=['cpu', 'cuda'])
def device(request):
    """A torch device; the CUDA case is skipped (never faked) without a GPU."""
    if request.param == 'cuda' and not torch.cuda.is_available():
        pytest.skip('no CUDA device on this machine')
    return torch.device(request.param)


def compiled_or_skip(op: str, device: torch.device) -> None:
    """Skips when the compiled op does not serve ``device``; fails instead under
    TWINKLE_REQUIRE_EXT=1 (CI sets it, so a broken build cannot hide behind skips)."""
    from twinkle import _ext

    if _ext.has_kernel(op, device.type):
        return
    info = _ext.extension_info()
    if os.environ.get('TWINKLE_REQUIRE_EXT', '') == '1' and device.type == 'cpu':
        pytest.fail(f'compiled op twinkle::{op} is not available on CPU: {info}')
    pytest.skip(f'compiled op twinkle::{op} not available on {device.type}: {info.get("error")}')
