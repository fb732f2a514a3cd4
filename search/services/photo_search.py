"""Search by photo ("where is this person in my videos?") and "more like this face".

A photo is checked (a real image, under the size caps), its faces are found with the catalog's
own detector; the chosen one (default: the largest) is aligned and embedded with the catalog's
model, and the nearest faces in the index are grouped into people, ranked by their best match.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.engine import get_face_engine
from catalog.models import Face, Person, Track
from catalog.services.index_sync import get_face_index
from ingestion.pipeline.align import align_face
from ingestion.pipeline.detect import Detection
from ingestion.pipeline.thresholds import match_score

NEIGHBOURS_PER_PERSON = 20
BEST_FACES_PER_PERSON = 3
MOMENTS_PER_PERSON = 20


class PhotoError(ValueError):
    """The photo cannot be searched with; the message is meant for the user."""


class PhotoTooLarge(PhotoError):
    """The photo's file is larger than allowed."""


class NoSuchFace(PhotoError):
    """ "More like this face" names a face the catalog does not have."""


@dataclass(frozen=True)
class PhotoFace:
    number: int  # position in the photo, left to right, from 0
    box: tuple[int, int, int, int]
    confidence: float


@dataclass(frozen=True)
class FaceMatch:
    face_id: int
    video_id: int
    time_s: float
    similarity: float
    score: float


@dataclass(frozen=True)
class Moment:
    video_id: int
    video_title: str
    start_s: float
    end_s: float


@dataclass
class PersonMatch:
    person_id: int
    name: str
    score: float  # 0-1, calibrated per model (see ingestion/pipeline/thresholds.py)
    similarity: float
    best_faces: list[FaceMatch] = field(default_factory=list)
    moments: list[Moment] = field(default_factory=list)


@dataclass
class PhotoSearchResult:
    faces: list[PhotoFace]
    chosen_face: int
    people: list[PersonMatch]


def read_photo(data: bytes) -> np.ndarray:
    """The photo as a BGR array, upright (EXIF orientation applied), or a PhotoError."""
    if len(data) > settings.MAX_PHOTO_MB * 1024 * 1024:
        raise PhotoTooLarge(f"The photo is larger than the {settings.MAX_PHOTO_MB} MB allowed.")
    if not data:
        raise PhotoError("The photo is empty.")
    try:
        Image.MAX_IMAGE_PIXELS = settings.MAX_PHOTO_MEGAPIXELS * 1_000_000
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise PhotoError(f"The file is not an image that can be read ({error}).") from error
    return np.asarray(upright)[:, :, ::-1].copy()


def faces_in_photo(image_bgr: np.ndarray) -> list[Detection]:
    """The faces found, left to right."""
    engine = get_face_engine()
    found = [d for d in engine.detector.detect(image_bgr) if d.size_px >= settings.FACE_MIN_SIZE_PX]
    return sorted(found, key=lambda d: d.box[0])


def embed_photo_face(image_bgr: np.ndarray, detection: Detection) -> np.ndarray:
    engine = get_face_engine()
    crop = align_face(image_bgr, detection, engine.embedder.input_size_px, engine.config.alignment)
    return engine.embedder.embed([crop])[0]


def search_by_photo(
    data: bytes, face_number: int | None = None, top: int = 10
) -> PhotoSearchResult:
    image = read_photo(data)
    detections = faces_in_photo(image)
    if not detections:
        raise PhotoError("No face was found in the photo.")
    faces = [
        PhotoFace(i, tuple(round(v) for v in d.box), round(d.confidence, 4))
        for i, d in enumerate(detections)
    ]
    if face_number is None:
        face_number = max(range(len(detections)), key=lambda i: detections[i].size_px)
    if not 0 <= face_number < len(detections):
        raise PhotoError(
            f"The photo has {len(detections)} face(s); choose one from 0 to {len(detections) - 1}."
        )
    vector = embed_photo_face(image, detections[face_number])
    engine = get_face_engine()
    people = search_people(vector, engine.config.recognition_model, engine.embedding_dimension, top)
    return PhotoSearchResult(faces=faces, chosen_face=face_number, people=people)


def search_like_face(face_id: int, top: int = 10) -> list[PersonMatch]:
    """People who look like a face of the catalog (its own person first, usually)."""
    face = Face.objects.filter(pk=face_id, is_not_face=False).first()
    if face is None:
        raise NoSuchFace(f"There is no face {face_id}.")
    return search_people(face.vector, face.embedding_model, face.embedding_dim, top, {face.id})


def search_people(
    vector: np.ndarray,
    model_name: str,
    dimension: int,
    top: int,
    exclude_face_ids: set[int] = frozenset(),
) -> list[PersonMatch]:
    """People ranked by their best matching face among the nearest faces of the index."""
    index = get_face_index(model_name, dimension)
    hits = index.search(vector, limit=max(50, top * NEIGHBOURS_PER_PERSON), exclude_hidden=True)
    # Points of faces deleted since they were indexed (a failed clean-up) are left out.
    face_times = dict(
        Face.objects.filter(id__in=[h.face_id for h in hits], is_not_face=False).values_list(
            "id", "time_s"
        )
    )
    wanted = face_times.keys() - exclude_face_ids
    by_person: dict[int, list] = defaultdict(list)
    for hit in hits:
        if hit.person_id is not None and hit.face_id in wanted:
            by_person[hit.person_id].append(hit)
    ranked = sorted(by_person.items(), key=lambda item: -item[1][0].similarity)[:top]
    names = dict(Person.objects.filter(id__in=[p for p, _ in ranked]).values_list("id", "name"))
    people = []
    for person_id, person_hits in ranked:
        if person_id not in names:  # deleted since it was indexed
            continue
        best = person_hits[0].similarity
        people.append(
            PersonMatch(
                person_id=person_id,
                name=names[person_id] or f"Person {person_id}",
                score=round(match_score(best, model_name), 4),
                similarity=round(best, 4),
                best_faces=[
                    FaceMatch(
                        h.face_id,
                        h.video_id,
                        face_times[h.face_id],
                        round(h.similarity, 4),
                        round(match_score(h.similarity, model_name), 4),
                    )
                    for h in person_hits[:BEST_FACES_PER_PERSON]
                ],
                moments=appearances(person_id),
            )
        )
    return people


def appearances(person_id: int, limit: int = MOMENTS_PER_PERSON) -> list[Moment]:
    """Where and when a person is on screen: the time span of each of their tracks."""
    tracks = (
        Track.objects.filter(faces__person_id=person_id)
        .distinct()
        .select_related("video")
        .order_by("video_id", "start_time_s")[:limit]
    )
    return [
        Moment(t.video_id, str(t.video), round(t.start_time_s, 2), round(t.end_time_s, 2))
        for t in tracks
    ]
