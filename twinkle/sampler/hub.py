"""Model ids to local directories: ``ms://`` (ModelScope), ``hf://`` (Hugging Face), paths.

* An existing local directory is used as it is (no client, no network).
* ``ms://org/name`` downloads (or finds in the cache) through ``modelscope``.
* ``hf://org/name`` and a bare ``org/name`` go through ``huggingface_hub``.

A missing client is an ImportError and a failed download (offline, unknown id, gated
repo) an OSError; both name the id and say what to do.
"""

from __future__ import annotations

import os
from typing import Optional

__all__ = ['resolve_model_id']

_MS, _HF = 'ms://', 'hf://'


def resolve_model_id(model_id: str, revision: Optional[str] = None) -> str:
    """The local directory holding ``model_id``'s files.

    Args:
        model_id: a local directory, ``ms://org/name``, ``hf://org/name`` or ``org/name``.
        revision: a branch, tag or commit for the hub download.

    Returns:
        A path to a directory.

    Raises:
        ImportError: the hub's client (modelscope / huggingface_hub) is not installed.
        OSError: the download failed (offline, unknown or gated id).
        ValueError: ``model_id`` is not a non-empty string.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> resolve_model_id(d) == d
    True
    """
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f'model_id must be a non-empty string, got {model_id!r}')
    if os.path.isdir(model_id):
        return model_id
    if model_id.startswith(_MS):
        return _download_modelscope(model_id, model_id[len(_MS) :], revision)
    repo = model_id[len(_HF) :] if model_id.startswith(_HF) else model_id
    if not model_id.startswith(_HF) and (model_id.startswith(('.', '/', '~')) or os.sep + os.sep in model_id):
        raise OSError(f'model_id {model_id!r} looks like a local path but is not a directory')
    return _download_hf(model_id, repo, revision)


def _download_modelscope(model_id: str, repo: str, revision: Optional[str]) -> str:
    try:
        from modelscope import snapshot_download
    except ImportError:
        raise ImportError(
            f'model_id {model_id!r} is a ModelScope id, but the modelscope client '
            'is not installed: pip install modelscope (or pass a local '
            'directory)'
        ) from None
    kwargs = {'revision': revision} if revision else {}
    try:
        return snapshot_download(repo, **kwargs)
    except Exception as e:  # the client's own error types vary by version; we re-raise
        raise OSError(
            f'could not fetch model_id {model_id!r} from ModelScope ({type(e).__name__}: '
            f'{e}); check the id and the network, or pass a local directory'
        ) from e


def _download_hf(model_id: str, repo: str, revision: Optional[str]) -> str:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ImportError(
            f'model_id {model_id!r} is a Hugging Face id, but huggingface_hub is not '
            'installed: pip install huggingface_hub (or pass a local '
            'directory)'
        ) from None
    try:
        return snapshot_download(repo, revision=revision)
    except Exception as e:  # HTTP, offline and validation errors; we re-raise with the id
        raise OSError(
            f'could not fetch model_id {model_id!r} from the Hugging Face Hub '
            f'({type(e).__name__}: {e}); check the id and the network (HF_HUB_OFFLINE '
            'only finds cached models), or pass a local directory'
        ) from e
