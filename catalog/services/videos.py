"""Removing a video from the catalog, with everything that came from it.

The database rows go in one transaction; files and index points go once it has committed, so a
failure there never leaves rows pointing at missing files. An index point left behind by such a
failure is harmless (search drops faces the database no longer has) and `manage.py check_index
--fix` removes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from catalog.models import Face, Person, Video
from catalog.services import index_sync
from catalog.services.clustering import refresh_cover_faces

logger = logging.getLogger(__name__)


class VideoBusy(ValueError):
    """The video is being processed; deleting it now would fail its job halfway."""


@dataclass(frozen=True)
class DeletedVideo:
    video_id: int
    faces: int
    people_removed: int  # people left with no face and no curator's name


def delete_video(video: Video) -> DeletedVideo:
    """Delete a video, its tracks, faces, crops, file and index points. People it leaves empty
    go too, unless a curator named or locked them: a curated name never vanishes."""
    if video.status == Video.Status.PROCESSING:
        raise VideoBusy(f"Video {video.id} is being processed; delete it when its job is done.")
    video_id = video.id
    faces = list(
        Face.objects.filter(video=video).values_list(
            "embedding_model", "embedding_dim", "person_id", "crop"
        )
    )
    models = {(model_name, dimension) for model_name, dimension, _, _ in faces}
    people = {person_id for _, _, person_id, _ in faces if person_id is not None}
    # Crops and the video may live in different storages (crops in S3, the video on disk).
    crop_storage = Face._meta.get_field("crop").storage
    files = [(crop_storage, crop) for *_, crop in faces if crop]
    if video.file:
        files.append((video.file.storage, video.file.name))
    with transaction.atomic():
        video.delete()  # cascades to tracks and faces; jobs keep their record (video set null)
        people_removed = Person.objects.filter(id__in=people).delete_left_empty()
        refresh_cover_faces(people)
        transaction.on_commit(lambda: _remove_files_and_points(files, video_id, models))
    return DeletedVideo(video_id, len(faces), people_removed)


def _remove_files_and_points(files: list[tuple], video_id: int, models) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception as error:  # any storage's error: the rows are gone, a file may stay
            logger.warning("could not delete %s of video %s: %s", name, video_id, error)
    for model_name, dimension in models:
        try:
            index_sync.remove_video(video_id, model_name, dimension)
        except Exception as error:  # the index may be unreachable; search skips stale points
            logger.warning(
                "index points of video %s stay until `check_index --fix`: %s", video_id, error
            )
