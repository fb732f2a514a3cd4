"""Which index a setting names: the embedded Qdrant Edge folder or a Qdrant server."""

from __future__ import annotations

import contextlib
from pathlib import Path

from search.edge_index import EdgeFaceIndex
from search.index import FaceIndex
from search.index_owner import serving_while_unowned
from search.server_index import ServerFaceIndex


def open_face_index(
    backend: str,
    *,
    dimension: int,
    collection: str,
    path: str | Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
) -> FaceIndex:
    """The index of one collection: `edge` in `path / collection`, `server` at `url`
    (`":memory:"` for qdrant-client's in-process mode)."""
    if backend == "edge":
        if path is None:
            raise ValueError("the edge backend needs a folder (path)")
        return EdgeFaceIndex(Path(path) / collection, dimension)
    if backend == "server":
        if not url:
            raise ValueError("the server backend needs a URL (QDRANT_URL)")
        return ServerFaceIndex(url, collection, dimension, api_key)
    raise ValueError(f"unknown index backend {backend!r}: use 'edge' or 'server'")


def owned_while(backend: str, path: str | Path | None):
    """A context for a batch of index operations from one process: on `edge`, this process
    serves the folder while no owner does (search/index_owner.serving_while_unowned); a
    Qdrant server needs no owner."""
    if backend == "edge" and path is not None:
        return serving_while_unowned(Path(path))
    return contextlib.nullcontext()
