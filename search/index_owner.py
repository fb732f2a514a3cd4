"""The index owner: one process that keeps the Edge shards of a data folder loaded and serves
every other process (web server, workers, commands) over a Unix socket.

Why it exists is in `search/edge_index.py`. The socket is `<index folder>/owner.sock`; requests
are authenticated with a random key in `owner.key` (readable by the same user only), because the
messages are pickled. A client that finds no owner, or loses it, works on the folder directly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import threading
import weakref
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path

from search.edge_index import OwnedEdgeIndex

logger = logging.getLogger(__name__)

SOCKET_NAME = "owner.sock"
KEY_NAME = "owner.key"

# A forked child (django-q2 starts its workers that way) must not share its parent's socket:
# both would read and write one stream and take each other's answers.
_clients: weakref.WeakSet[OwnerClient] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    for client in list(_clients):
        client._connection = None
        client._lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_connections_after_fork)


class OwnerClient:
    """One process's connection to the owner of an index folder, if there is one."""

    def __init__(self, index_root: Path) -> None:
        self.socket_path = Path(index_root) / SOCKET_NAME
        self.key_path = Path(index_root) / KEY_NAME
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        _clients.add(self)

    def _connect(self) -> Connection | None:
        if self._connection is not None:
            return self._connection
        if not self.socket_path.exists():
            return None
        try:
            key = self.key_path.read_bytes()
            self._connection = Client(str(self.socket_path), family="AF_UNIX", authkey=key)
        except (OSError, EOFError):  # a socket left by an owner that died
            self._connection = None
        return self._connection

    def answers(self) -> bool:
        with self._lock:
            return self._connect() is not None

    def call(self, folder: Path, dimension: int, method: str, args, kwargs):
        """(True, result) from the owner, or (False, None) when no owner answers."""
        with self._lock:
            connection = self._connect()
            if connection is None:
                return False, None
            try:
                connection.send((str(folder), dimension, method, args, kwargs))
                ok, value = connection.recv()
            except (OSError, EOFError):
                self._drop()
                return False, None
        if not ok:
            raise value
        return True, value

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class IndexOwner:
    """Serves every collection folder under `index_root` until stopped."""

    def __init__(self, index_root: Path) -> None:
        self.index_root = Path(index_root)
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
        logger.info("index owner serving %s", self.index_root)

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
        try:
            result = (True, getattr(self._index(folder, dimension), method)(*args, **kwargs))
        except Exception as error:  # sent back and raised in the caller
            result = (False, error)
        try:
            connection.send(result)
        except (OSError, EOFError):
            return False
        return True

    def serve_forever(self) -> None:
        self.start()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())
        self._stopping.wait()
        self.stop()

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
