"""Writing what the pipeline found in a video into the catalog: tracks, faces, crops."""

from __future__ import annotations

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction

from catalog.grouping import track_template
from catalog.models import Face, Track, Video, video_crops_folder
from catalog.services.catalog_tracks import NO_TEMPLATE
from ingestion.pipeline.video import VideoFaces


def delete_video_faces(video: Video) -> list[int]:
    """Remove a video's tracks and faces and their crop files, with any crop an interrupted
    earlier attempt wrote to the video's folder; returns the removed face ids."""
    faces = list(Face.objects.filter(video=video).only("id", "crop"))
    folder = video_crops_folder(video.id) + "/"
    for face in faces:
        # Crops in the video's folder go with it below; older ones (dated folders) one by one.
        if face.crop and not face.crop.name.startswith(folder):
            face.crop.delete(save=False)
    _clear_crops_folder(video.id)
    Track.objects.filter(video=video).delete()  # cascades to the faces
    return [face.id for face in faces]


def _clear_crops_folder(video_id: int) -> None:
    storage = Face._meta.get_field("crop").storage
    folder = video_crops_folder(video_id)
    try:
        _, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        storage.delete(f"{folder}/{name}")


@transaction.atomic
def save_video_faces(video: Video, found: VideoFaces, model_name: str) -> list[Face]:
    """Replace the video's tracks and faces with `found`, so running a job twice is harmless."""
    delete_video_faces(video)
    faces: list[Face] = []
    for track_result in found.tracks:
        best = track_result.best_faces
        template = NO_TEMPLATE
        if best:
            # As catalog_tracks.store_track_templates computes it from these rows (no face of
            # a new video is "not a face" yet), from the vectors still in memory.
            vectors = [face.embedding.astype(np.float32) for face in best]
            template = track_template(vectors, [face.quality for face in best]).tobytes()
        track = Track.objects.create(
            video=video,
            index_in_video=track_result.index,
            start_time_s=track_result.start_time_s,
            end_time_s=track_result.end_time_s,
            detections=track_result.detections,
            template=template,
            template_model=model_name if template else "",
        )
        for found_face in best:
            x, y, w, h = (max(0, round(v)) for v in found_face.box)
            face = Face(
                video=video,
                track=track,
                time_s=found_face.time_s,
                frame_index=found_face.frame_index,
                box_x=x,
                box_y=y,
                box_w=w,
                box_h=h,
                detector_confidence=found_face.confidence,
                quality=found_face.quality,
                embedding=found_face.embedding.astype(np.float32).tobytes(),
                embedding_model=model_name,
                embedding_dim=int(found_face.embedding.shape[0]),
            )
            name = f"t{track_result.index}_f{found_face.frame_index}.jpg"
            face.crop.save(name, ContentFile(found_face.crop_jpeg), save=False)
            faces.append(face)
    return Face.objects.bulk_create(faces)
