"""Processing one stored video: find its faces, save them, group them into people, index them.

Each step replaces what an earlier run of the same step wrote, so a retried job never duplicates
a face.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from catalog.engine import get_face_engine
from catalog.models import Face, Video
from catalog.services import index_sync
from catalog.services.clustering import ClusteringSummary, assign_people_to_video
from catalog.services.faces import save_video_faces
from ingestion.models import IngestJob
from ingestion.pipeline.frames import VideoDecodeError
from ingestion.pipeline.progress import ProgressCallback
from ingestion.pipeline.video import VideoFaces, process_video
from ingestion.services.intake import local_video_path


def find_faces(video: Video, on_progress: ProgressCallback | None = None) -> VideoFaces:
    engine = get_face_engine()
    with local_video_path(video) as path:
        try:
            found = process_video(path, engine, on_progress)
        except VideoDecodeError as error:
            raise VideoDecodeError(f"{video.original_name}: {error}") from error
    video.fps = found.info.fps
    video.duration_s = found.info.duration_s
    video.width, video.height = found.info.width, found.info.height
    video.save(update_fields=["fps", "duration_s", "width", "height"])
    return found


def save_faces(video: Video, found: VideoFaces) -> list[Face]:
    """Replace the video's faces; every index point of the video goes too (those of an earlier
    attempt's faces, even one that crashed), and indexing writes the new ones."""
    engine = get_face_engine()
    faces = save_video_faces(video, found, engine.config.recognition_model)
    index_sync.remove_video(video.id, engine.config.recognition_model, engine.embedding_dimension)
    return faces


def group_people(video: Video) -> ClusteringSummary:
    return assign_people_to_video(video)


def index_video_faces(video: Video, grouping: ClusteringSummary) -> int:
    """Write the video's faces to the index once, with the people grouping gave them, and
    rewrite the points of any other video's faces that grouping moved."""
    faces = list(Face.objects.filter(video=video).select_related("person"))
    indexed = index_sync.index_faces(faces)
    written = {face.id for face in faces}
    moved_elsewhere = {
        person_id: [face_id for face_id in face_ids if face_id not in written]
        for person_id, face_ids in grouping.moved_faces.items()
    }
    return indexed + index_sync.reindex_moved_faces(moved_elsewhere)


def mark_video(video: Video, status: str, error: str = "") -> None:
    video.status = status
    video.error = error
    fields = ["status", "error"]
    if status == Video.Status.READY:
        video.processed_at = timezone.now()
        fields.append("processed_at")
    with transaction.atomic():
        video.save(update_fields=fields)


@dataclass(frozen=True)
class ProcessedVideo:
    found: VideoFaces
    faces: list[Face]
    grouping: ClusteringSummary
    warnings: list[str]


def read_to_the_end(found: VideoFaces, sample_fps: float) -> list[str]:
    """A warning when the frames stop well before the duration the file announces: a file cut
    short (a broken upload or download) is processed up to where it breaks, and says so."""
    duration_s = found.info.duration_s
    if not duration_s or not found.sample_times_s:
        return []
    reached_s = found.sample_times_s[-1]
    if duration_s - reached_s <= max(2.0 / sample_fps, 2.0):
        return []
    return [
        f"The video ends early: frames could be read up to {reached_s:.1f} s of the "
        f"{duration_s:.1f} s it announces (the file is probably cut short); the faces up to "
        "there are kept."
    ]


def process_stored_video(
    video: Video, report: Callable[[str, float], None] = lambda stage, fraction=0.0: None
) -> ProcessedVideo:
    """Every step from a stored video to indexed people; `report(stage, fraction)` hears it."""
    mark_video(video, Video.Status.PROCESSING)
    found = find_faces(video, lambda fraction: report(IngestJob.Stage.DETECTING, fraction))
    report(IngestJob.Stage.SAVING, 0.0)
    faces = save_faces(video, found)
    report(IngestJob.Stage.CLUSTERING, 0.0)
    grouping = group_people(video)
    report(IngestJob.Stage.INDEXING, 0.0)
    index_video_faces(video, grouping)
    mark_video(video, Video.Status.READY)
    warnings = read_to_the_end(found, get_face_engine().config.sample_fps)
    return ProcessedVideo(found, faces, grouping, warnings)
