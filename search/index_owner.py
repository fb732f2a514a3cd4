"""The index owner: one process that keeps the Edge shards of a data folder loaded and serves
every other process (web server, workers, commands) over a Unix socket.

Why it exists is in `search/edge_index.py`; how the others reach it (socket, key), in
`search/index_owner_client.py`. When no request has come for a few seconds, it optimises the
indexes written to since their last optimisation (their search graphs built on a copy while it
goes on serving: `search/edge_optimiser.py`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, Listener
from pathlib import Path

from search.edge_optimiser import OwnedEdgeIndex
from search.index_owner_client import KEY_NAME, SOCKET_NAME, OwnerClient

logger = logging.getLogger(__name__)

IDLE_S = 5.0  # no request for this long: time to optimise
# ... or, on an owner never idle that long, this long after an index needed it: the copy is
# optimised by a child process at low priority, so serving goes on either way.
LONGEST_DEFERRAL_S = 60.0
OTHER_OWNER_POLL_S = 1.0  # how often a waiting owner looks whether the other one stopped


class IndexOwner:
    """Serves every collection folder under `index_root` until stopped; optimises them when no
    request came for `idle_s` (None: never by itself, only when asked)."""

    def __init__(self, index_root: Path, idle_s: float | None = IDLE_S) -> None:
        self.index_root = Path(index_root)
        self.idle_s = idle_s
        self._last_request = time.monotonic()
        self.index_root.mkdir(parents=True, exist_ok=True)
        self.socket_path = self.index_root / SOCKET_NAME
        self._indexes: dict[str, OwnedEdgeIndex] = {}
        self._indexes_lock = threading.Lock()
        self._listener: Listener | None = None
        self._connections: set[Connection] = set()
        self._stopping = threading.Event()

    def _index(self, folder: str, dimension: int) -> OwnedEdgeIndex:
        path = Path(folder).resolve()
        if path.parent != self.index_root.resolve():
            raise PermissionError(f"{folder} is not an index of {self.index_root}")
        with self._indexes_lock:
            if self._stopping.is_set():
                raise RuntimeError("the index owner is stopping")
            if folder not in self._indexes:
                self._indexes[folder] = OwnedEdgeIndex(path, dimension)
            return self._indexes[folder]

    def start(self) -> None:
        if OwnerClient(self.index_root).answers():
            raise RuntimeError(f"another index owner already serves {self.index_root}")
        self.socket_path.unlink(missing_ok=True)
        key = secrets.token_bytes(32)
        key_path = self.index_root / KEY_NAME
        key_path.touch(mode=0o600)
        key_path.write_bytes(key)
        os.chmod(key_path, 0o600)
        self._listener = Listener(str(self.socket_path), family="AF_UNIX", authkey=key)
        os.chmod(self.socket_path, 0o600)
        threading.Thread(target=self._accept, name="index-owner-accept", daemon=True).start()
        if self.idle_s is not None:
            threading.Thread(
                target=self._optimise_when_idle, name="index-owner-optimise", daemon=True
            ).start()
        logger.info("index owner serving %s", self.index_root)

    def _optimise_when_idle(self) -> None:
        due_since: dict[str, float] = {}
        while not self._stopping.wait(min(1.0, self.idle_s)):
            now = time.monotonic()
            idle = now - self._last_request >= self.idle_s
            with self._indexes_lock:
                waiting = {f: i for f, i in self._indexes.items() if i.wants_optimising()}
            due_since = {f: due_since.get(f, now) for f in waiting}
            for folder, index in waiting.items():
                if not idle and now - due_since[folder] < LONGEST_DEFERRAL_S:
                    continue
                if self._stopping.is_set():
                    return
                due_since.pop(folder)
                try:
                    index.optimize()
                except Exception:  # the index goes on serving unoptimised; tried again later
                    logger.exception("index owner: optimising %s failed", index.folder)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection = self._listener.accept()
            except (OSError, EOFError) as error:
                if self._stopping.is_set():
                    return
                logger.warning("index owner: refused a connection (%s)", error)
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with self._indexes_lock:
            self._connections.add(connection)
        try:
            while self._answer(connection):
                pass
        finally:
            with self._indexes_lock:
                self._connections.discard(connection)
            with contextlib.suppress(OSError):  # stop() may have closed it already
                connection.close()

    def _answer(self, connection: Connection) -> bool:
        """Serve one request; False when the connection is done."""
        try:
            folder, dimension, method, args, kwargs = connection.recv()
        except (OSError, EOFError, TypeError):  # TypeError: closed by stop() meanwhile
            return False
        if self._stopping.is_set():
            return False  # the caller sees the connection close and works directly
        self._last_request = time.monotonic()
        try:
            result = (True, getattr(self._index(folder, dimension), method)(*args, **kwargs))
        except Exception as error:  # sent back and raised in the caller
            result = (False, error)
        try:
            connection.send(result)
        except (OSError, EOFError):
            return False
        return True

    def serve_forever(self, wait_for_other_owner: bool = False) -> None:
        """Serve until SIGINT or SIGTERM (call from the main thread). If another owner serves
        the folder (a `manage.py ingest` batch owning it for a while), raise RuntimeError, or
        with `wait_for_other_owner` take over once it stops (the others are served by it
        meanwhile)."""
        handlers = {
            signum: signal.signal(signum, lambda *_: self._stopping.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            said = False
            while not self._stopping.is_set():
                try:
                    self.start()
                    break
                except RuntimeError as error:
                    if not wait_for_other_owner:
                        raise
                    if not said:
                        logger.warning("%s: serving it once that owner stops", error)
                        said = True
                    self._stopping.wait(OTHER_OWNER_POLL_S)
            self._stopping.wait()
            self.stop()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.socket_path.unlink(missing_ok=True)
        with self._indexes_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.close()
            self._connections.clear()
            for index in self._indexes.values():
                index.close()
            self._indexes.clear()
        logger.info("index owner stopped")


@contextlib.contextmanager
def serving_while_unowned(index_root: Path) -> Iterator[IndexOwner | None]:
    """This process owns the index for the length of the block if no owner serves it (a batch
    run from the command line without `make run`), and serves the other processes meanwhile.

    Without an owner every operation loads the shard and closes it again, and a load holds the
    GIL (qdrant-edge does not release it): in `manage.py ingest` of 16 videos, 4.7 s of a 21 s
    run in which decoding and detection of the next videos stood still. Owned, the shard is
    loaded once. The search graph is not built meanwhile (as without an owner): `make run`'s
    owner builds it when idle. Yields the owner, or None when another one serves the index."""
    owner = IndexOwner(index_root, idle_s=None)
    try:
        owner.start()
    except RuntimeError:  # another owner answers
        yield None
        return
    try:
        yield owner
    finally:
        owner.stop()
