"""How a process reaches the index owner of its data folder (`search/index_owner.py`), if one
runs: a Unix socket, `<index folder>/owner.sock`, and a random key in `owner.key` (readable by
the same user only) that authenticates requests, because the messages are pickled. A client that
finds no owner, or loses it, says so, and the caller works on the folder directly.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from multiprocessing.connection import Client, Connection
from pathlib import Path

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
