"""Processing one stored video: find its faces, save them, group them into people, index them.

Each step replaces what an earlier run of the same step wrote, so a retried job never duplicates
a face. Saving and grouping each commit in one transaction; when an earlier attempt got past
both (it failed while indexing, or its worker died there), a retry only indexes: the faces stay
the ones a curator may have worked on since, and so does their work.
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

# How a video's faces are found: detect_faces, or faces found ahead (ingestion/services/ahead.py)
DetectFaces = Callable[[Video, ProgressCallback | None], VideoFaces]


def detect_faces(video: Video, on_progress: ProgressCallback | None = None) -> VideoFaces:
    """The face pipeline over the stored video. It writes nothing to the catalog, so it may run
    in another thread, ahead of the video before it being saved and grouped."""
    engine = get_face_engine()
    with local_video_path(video) as path:
        try:
            return process_video(path, engine, on_progress)
        except VideoDecodeError as error:
            raise VideoDecodeError(f"{video.original_name}: {error}") from error


def find_faces(
    video: Video,
    on_progress: ProgressCallback | None = None,
    detect: DetectFaces = detect_faces,
) -> VideoFaces:
    found = detect(video, on_progress)
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


def faces_already_grouped(video: Video) -> bool:
    """Whether an earlier attempt saved this video's faces and grouped them: every face that is
    a face has a person (saving leaves them without one, grouping gives each one)."""
    faces = Face.objects.filter(video=video, is_not_face=False)
    return faces.exists() and not faces.filter(person__isnull=True).exists()


def index_grouped_video(video: Video) -> int:
    """Index a video grouped by an earlier attempt: its faces, and every other face of their
    people, since grouping may have moved faces of other videos into them before the failure."""
    people = Face.objects.filter(video=video, person__isnull=False).values("person_id")
    faces = Face.objects.filter(person_id__in=people, is_not_face=False).select_related("person")
    return index_sync.index_faces(faces)


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
    found: VideoFaces | None  # None: an earlier attempt found and grouped them; only indexed now
    faces: list[Face]
    grouping: ClusteringSummary | None
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
    video: Video,
    report: Callable[[str, float], None] = lambda stage, fraction=0.0: None,
    warn: Callable[[list[str]], None] = lambda warnings: None,
    detect: DetectFaces = detect_faces,
) -> ProcessedVideo:
    """Every step from a stored video to indexed people; `report(stage, fraction)` hears it,
    `warn(warnings)` hears what the video's reading found wrong as soon as it is known."""
    mark_video(video, Video.Status.PROCESSING)
    if faces_already_grouped(video):
        report(IngestJob.Stage.INDEXING, 0.0)
        index_grouped_video(video)
        mark_video(video, Video.Status.READY)
        return ProcessedVideo(None, list(Face.objects.filter(video=video)), None, [])
    found = find_faces(video, lambda f: report(IngestJob.Stage.DETECTING, f), detect)
    warnings = read_to_the_end(found, get_face_engine().config.sample_fps)
    warn(warnings)
    report(IngestJob.Stage.SAVING, 0.0)
    faces = save_faces(video, found)
    report(IngestJob.Stage.CLUSTERING, 0.0)
    grouping = group_people(video)
    report(IngestJob.Stage.INDEXING, 0.0)
    index_video_faces(video, grouping)
    mark_video(video, Video.Status.READY)
    return ProcessedVideo(found, faces, grouping, warnings)
