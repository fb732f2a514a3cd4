"""Building an Edge shard's search graph beside the index owner, so searches never wait for it.

Qdrant Edge builds HNSW graphs (and merges and vacuums segments) only when `EdgeShard.optimize()`
is called, and qdrant-edge-py 0.9.0 holds the GIL for the whole call (measured: a Python thread
got no time during a 26 s build), so the owner cannot optimise its own shard and keep answering.
Until a segment is optimised its points are searched exactly (plain segments: correct, slower).

So the owner optimises a copy: it flushes the shard and copies its folder to `<name>.optimising`
(under its lock: a write-consistent copy), a child process (`optimise_folder`, lower priority)
optimises the copy while the owner goes on serving, and every write the owner applies meanwhile
is kept in a journal. Then the journal is replayed on the optimised copy, and, under the lock,
the rest of it, the old shard closed, the folders swapped (`<name>` -> `<name>.previous`,
`<name>.optimising` -> `<name>`) and the new one loaded (`OwnedEdgeIndex.optimize`). A swap a
crash interrupted is finished or undone when the folder is next opened (`edge_index.recover`);
both folders are complete at every step. Plain Python: no Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from search.edge_index import (
    ASIDE_SUFFIX,
    LOCK_WAIT_S,
    OPTIMISE_AFTER_CHANGES,
    PREVIOUS_SUFFIX,
    EdgeOperations,
    layout_outdated,
    load_shard,
    open_shard,
    sibling,
    take_folder_lock,
)
from search.index import FaceIndexError, IndexStatus

logger = logging.getLogger(__name__)

NOTHING_TO_DO_EXIT = 3  # the child's exit code when the copy needed no optimisation
# Writes kept for replay while a copy is optimised; past this the copy is given up (it would be
# stale) and optimised again when the owner is next idle.
JOURNAL_LIMIT = 200_000
RETRY_AFTER_FAILURE_S = 600.0


def optimise_folder(folder: str, dimension: int) -> None:
    """The child process: load the copy, optimise it, flush, close. Exits NOTHING_TO_DO_EXIT
    when the optimisers found nothing to do."""
    with contextlib.suppress(OSError):
        os.nice(10)  # the owner, the web server and the workers come first
    shard = load_shard(Path(folder), dimension)
    changed = shard.optimize()
    shard.flush()
    shard.close()
    if not changed:
        raise SystemExit(NOTHING_TO_DO_EXIT)


def start_optimising_copy(copy: Path, dimension: int) -> multiprocessing.process.BaseProcess:
    """The child that optimises `copy` (spawned: the owner's threads and shard stay its own)."""
    process = multiprocessing.get_context("spawn").Process(
        target=optimise_folder, args=(str(copy), dimension), name="index-optimiser", daemon=True
    )
    process.start()
    return process


def swap_in(folder: Path, copy: Path) -> None:
    """Put the optimised copy where the shard was (both closed); the old folder goes."""
    previous = sibling(folder, PREVIOUS_SUFFIX)
    shutil.rmtree(previous, ignore_errors=True)
    folder.rename(previous)
    copy.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)


class OwnedEdgeIndex(EdgeOperations):
    """The owner's view: the folder's lock held for life, the shard loaded once, optimised on a
    copy beside it (`search/edge_optimiser.py`) while it goes on serving."""

    def __init__(self, folder: Path, dimension: int) -> None:
        super().__init__(folder, dimension)
        self._lock_file = take_folder_lock(self.folder, LOCK_WAIT_S)
        self._thread_lock = threading.RLock()
        self._optimising = threading.Lock()  # one optimisation at a time
        self._shard = None
        self._closed = False
        self._child = None
        self._journal: list | None = None  # writes since the copy, while one is optimised
        self._journal_changes = 0
        self._retry_at = 0.0  # after a failed optimisation, not before this (monotonic)
        # Written since the last optimisation: unknown when the folder says nothing (written
        # without an owner, or never optimised), so it is looked at once; so is a shard made
        # before its memory placement or graph links were set, which its segments take when
        # optimised.
        looked_at = self._optimised_marker().exists() and not layout_outdated(self.folder)
        self._changes = 0 if looked_at else OPTIMISE_AFTER_CHANGES

    @contextmanager
    def session(self, create: bool = False) -> Iterator:
        with self._thread_lock:
            if self._closed:
                raise FaceIndexError(f"the index at {self.folder} is closed")
            if self._shard is None:
                self._shard = open_shard(self.folder, self.dimension, create)
            yield self._shard

    def _write(self, operations: Iterable, changes: int = 1) -> None:
        operations = list(operations)
        with self._thread_lock:
            super()._write(operations, changes)
            if self._changes == 0:
                self._optimised_marker().unlink(missing_ok=True)
            self._changes += changes
            if self._journal is not None:
                self._journal.extend(operations)
                self._journal_changes += changes
                if self._journal_changes > JOURNAL_LIMIT:
                    logger.info("index %s: too many writes to replay, optimised later", self.folder)
                    self._journal = None
                    self._child.terminate()

    def wants_optimising(self) -> bool:
        return (
            self._shard is not None
            and not self._closed
            and self._changes >= OPTIMISE_AFTER_CHANGES
            and time.monotonic() >= self._retry_at
        )

    def optimize(self) -> None:
        """Optimise a copy in a child process while this shard goes on serving, then swap it
        in with the writes made meanwhile; returns when done (or given up)."""
        with self._optimising:
            copy = sibling(self.folder, ASIDE_SUFFIX)
            with self.session(create=True) as shard:
                shard.flush()
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(self.folder, copy)
                changes_copied, self._journal, self._journal_changes = self._changes, [], 0
                self._child = start_optimising_copy(copy, self.dimension)
            started = time.monotonic()
            self._child.join()
            try:
                outcome = self._child.exitcode
                if outcome == 0 and self._journal is not None:
                    self._swap_in(copy)
                if outcome in (0, NOTHING_TO_DO_EXIT) and self._journal is not None:
                    with self._thread_lock:
                        self._changes -= changes_copied
                        if self._changes == 0:
                            self._optimised_marker().touch()
                    logger.info(
                        "index %s optimised in %.1f s%s", self.folder, time.monotonic() - started,
                        "" if outcome == 0 else " (nothing to do)",
                    )  # fmt: skip
                elif not self._closed and self._journal is not None:
                    logger.warning("index %s: optimising a copy failed (%s)", self.folder, outcome)
                    self._retry_at = time.monotonic() + RETRY_AFTER_FAILURE_S
            finally:
                with self._thread_lock:
                    self._journal, self._child = None, None
                shutil.rmtree(copy, ignore_errors=True)

    def _swap_in(self, copy: Path) -> None:
        fresh = load_shard(copy, self.dimension)
        journal, replayed = self._journal, 0  # a list _write appends to (or drops: given up)

        def replay() -> None:
            nonlocal replayed
            pending = journal[replayed:]
            for operation in pending:
                fresh.update(operation)
            replayed += len(pending)

        replay()  # most of the writes made meanwhile, while the shard still serves
        with self._thread_lock:  # the rest, and the swap: searches wait this long only
            if self._closed or self._journal is None:
                fresh.close()
                return
            replay()
            fresh.flush()
            fresh.close()
            self._shard.close()
            self._shard = None
            swap_in(self.folder, copy)
            self._shard = open_shard(self.folder, self.dimension, create=False)

    def status(self) -> IndexStatus:
        with self._thread_lock:
            points = self.count()
            due = self._changes >= OPTIMISE_AFTER_CHANGES or self._child is not None
            return IndexStatus(points, optimising=self._child is not None, optimised=not due)

    def close(self) -> None:
        with self._thread_lock:
            self._closed = True
            if self._child is not None:
                self._child.terminate()  # the copy is dropped; the shard is complete
            if self._shard is not None:
                self._shard.close()
                self._shard = None
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None
