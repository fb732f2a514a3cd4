"""Running a stage of the pipeline in its own thread, ahead of the stage that consumes it.

Decoding, converting (cut checks, colour), detection and embedding each run in a thread (FFmpeg,
OpenCV, onnxruntime and OpenVINO work without holding the GIL), so on two cores they overlap
instead of taking turns. Decoding alone is the longest of them, so it does nothing else.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Prefetcher(Generic[Item]):
    """Iterates `items` in a thread, up to `depth` items ahead; iterate it to get them.

    An exception raised by `items` is raised where the items are consumed. Use as a context
    manager: leaving it stops the thread (within 0.1 s) before what it reads is closed.
    """

    _DONE = object()

    def __init__(self, items: Iterator[Item], depth: int = 4, name: str = "prefetch") -> None:
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Prefetcher[Item]:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(self._DONE)
        except Exception as error:  # handed to the consumer, raised there
            self._put(error)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Item]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
