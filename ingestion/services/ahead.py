"""Finding the next videos' faces while the current one is saved, grouped and indexed.

`manage.py ingest` of several files processes them one after the other, and each video ends
with work on one core (saving crops, grouping, indexing) while the other waits. Finding faces
writes nothing to the catalog (`processing.detect_faces`), so the next videos' can run in a
thread of their own meanwhile; saving and grouping still happen one video at a time in the
order given, so the people come out as without the look-ahead.

At most `depth` videos are looked at ahead of the one being saved, so a long batch holds a few
videos' faces (JPEG crops and vectors), never all of them.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from catalog.models import Video
from ingestion.pipeline.progress import ProgressCallback
from ingestion.pipeline.video import VideoFaces
from ingestion.services.processing import DetectFaces, detect_faces

LOOK_AHEAD_VIDEOS = 2


class Stopped(Exception):
    """Raised inside a look-ahead when the batch is over (interrupted): it stops at once."""


class FacesAhead:
    """Faces of a batch's videos, found in order by one background thread.

    `detector(position)` is what the job at that position of the batch uses to find its faces:
    it waits for the look-ahead (or finds them itself when there was none) and starts the next.
    Use as a context manager: leaving it stops whatever is still running.
    """

    def __init__(self, videos: list[Video | None], depth: int = LOOK_AHEAD_VIDEOS) -> None:
        self._videos = videos  # None: nothing to look at ahead (a URL still to download)
        self._depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faces-ahead")
        self._futures: dict[int, Future[VideoFaces]] = {}
        self._stopped = threading.Event()
        for position in range(min(depth, len(videos))):
            self._start(position)

    def _start(self, position: int) -> None:
        if position >= len(self._videos) or position in self._futures:
            return
        video = self._videos[position]
        if video is None or video.status == Video.Status.READY:
            return  # a URL, or a file already in the catalog: nothing to find
        if any(other is not None and other.id == video.id for other in self._videos[:position]):
            return  # the same file twice: the second job finds it in the catalog
        self._futures[position] = self._pool.submit(detect_faces, video, self._check_stopped)

    def _check_stopped(self, fraction: float) -> None:
        if self._stopped.is_set():
            raise Stopped()

    def detector(self, position: int) -> DetectFaces:
        def detect(video: Video, on_progress: ProgressCallback | None = None) -> VideoFaces:
            future = self._futures.pop(position, None)
            self._start(position + self._depth)
            if future is None:  # nothing was looked at ahead for this position
                return detect_faces(video, on_progress)
            found = future.result()  # the look-ahead's error, if it failed, is this job's
            if on_progress:
                on_progress(1.0)
            return found

        return detect

    def __enter__(self) -> FacesAhead:
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
