"""Model ids to local directories: ``ms://`` (ModelScope), ``hf://`` (Hugging Face), paths.

* An existing local directory is used as it is (no client, no network).
* ``ms://org/name`` downloads (or finds in the cache) through ``modelscope``.
* ``hf://org/name`` and a bare ``org/name`` go through ``huggingface_hub``.
"""

from __future__ import annotations

import importlib
import os
from typing import NamedTuple, Optional

__all__ = ['resolve_model_id']

_MS, _HF = 'ms://', 'hf://'


class _Hub(NamedTuple):
    """A model hub as the messages name it, and its client."""

    name: str  # "a <name> id"
    site: str  # "could not fetch ... from <site>"
    module: str  # the client's module and pip package, with a ``snapshot_download``
    client: str  # "<client> is not installed"
    note: str  # after "check the id and the network"


_MODELSCOPE = _Hub('ModelScope', 'ModelScope', 'modelscope', 'the modelscope client', '')
_HUGGING_FACE = _Hub(
    'Hugging Face',
    'the Hugging Face Hub',
    'huggingface_hub',
    'huggingface_hub',
    ' (HF_HUB_OFFLINE only finds cached models)',
)


def resolve_model_id(model_id: str, revision: Optional[str] = None) -> str:
    """The local directory holding ``model_id``'s files.

    Args:
        model_id: a local directory, ``ms://org/name``, ``hf://org/name`` or ``org/name``.
        revision: a branch, tag or commit for the hub download.

    Returns:
        A path to a directory.

    Raises:
        ImportError: the hub's client (modelscope / huggingface_hub) is not installed.
        OSError: the download failed (offline, unknown or gated id), or a local-looking
            path is not a directory.
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
        return _download(_MODELSCOPE, model_id, model_id[len(_MS) :], revision)
    repo = model_id[len(_HF) :] if model_id.startswith(_HF) else model_id
    if not model_id.startswith(_HF) and (model_id.startswith(('.', '/', '~')) or os.sep + os.sep in model_id):
        raise OSError(f'model_id {model_id!r} looks like a local path but is not a directory')
    return _download(_HUGGING_FACE, model_id, repo, revision)


def _download(hub: _Hub, model_id: str, repo: str, revision: Optional[str]) -> str:
    """``repo`` from ``hub`` (or its cache); the errors name ``model_id`` and say what to do."""
    try:
        snapshot_download = importlib.import_module(hub.module).snapshot_download
    except (ImportError, AttributeError):
        raise ImportError(
            f'model_id {model_id!r} is a {hub.name} id, but {hub.client} is not installed: '
            f'pip install {hub.module} (or pass a local directory)'
        ) from None
    kwargs = {'revision': revision} if revision else {}
    try:
        return snapshot_download(repo, **kwargs)
    except Exception as e:  # the clients' own error types vary by version: one OSError naming the id
        raise OSError(
            f'could not fetch model_id {model_id!r} from {hub.site} ({type(e).__name__}: {e}); '
            f'check the id and the network{hub.note}, or pass a local directory'
        ) from e
