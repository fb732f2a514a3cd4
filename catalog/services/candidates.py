"""Which existing people a new video's tracks could be: asked of the vector index, not read from
the whole catalog, so grouping one video costs the same at a million faces as at a thousand.

The index answers with the k nearest faces of each new track; the database says who those faces
belong to now (a payload may lag behind a curator's change by a moment), plus the people of
videos still being processed (grouped, maybe not yet indexed). When the index cannot be trusted
(unreachable, or holding fewer faces than the catalog's finished videos: deleted, half rebuilt,
another backend) the answer is None and the caller reads the catalog from the database instead:
slower, never a wrong person.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

import numpy as np
from django.db.models import Q

from catalog.models import Face, Video
from catalog.services import index_sync
from search.index import FaceIndexError

logger = logging.getLogger(__name__)

# Nearest faces asked of the index per new track. A person is a candidate when one of their
# faces is among them; the grouping then decides on the candidates' tracks exactly as it would
# on the whole catalog. ~3 faces a track, so 64 faces reach past the ~20 nearest tracks.
CANDIDATE_FACES = 64
# Faces less similar than this share of the grouping's similarity bound are no candidates. Safe:
# a track's template is its faces' weighted mean m over |m|, so some face of it is at least
# (template similarity) x |m| similar to the query, and the faces of one track point the same
# way (|m| ~0.85-0.95 for real tracks; 0.6 is far below).
MIN_MEAN_LENGTH = 0.6


def faces_missing_from_index(index, model_name: str, own_face_ids: Collection[int]) -> int:
    """How many more faces the finished videos have than the index holds, the faces being
    grouped left out (a cheap count each side; a missing or partly rebuilt index shows here)."""
    expected = (
        Face.objects.filter(
            embedding_model=model_name, is_not_face=False, video__status=Video.Status.READY
        )
        .exclude(id__in=own_face_ids)
        .count()
    )
    return max(0, expected - index.count()) if expected else 0


def candidate_people(
    vectors: np.ndarray,
    rejected: Sequence[Collection[int]],
    own_face_ids: Collection[int],
    model_name: str,
    dimension: int,
    threshold: float,
    k: int = CANDIDATE_FACES,
) -> set[int] | None:
    """The people any of these track vectors may join (rejected[i]: people track i may not
    join, left out of its search so they do not crowd out the others; threshold: the
    grouping's cosine distance), or None when the index cannot say (module docstring)."""
    own_face_ids = list(own_face_ids)
    try:
        index = index_sync.get_face_index(model_name, dimension)
        missing = faces_missing_from_index(index, model_name, own_face_ids)
        if missing:
            logger.warning(
                "the face index lacks %d faces of the catalog: grouping reads the whole "
                "catalog instead (run `manage.py reindex`)",
                missing,
            )
            return None
        hits = index.search_batch(
            list(vectors),
            limit=k,
            exclude_people=[sorted(r) for r in rejected],
            min_similarity=(1.0 - threshold) * MIN_MEAN_LENGTH,
        )
    except FaceIndexError as error:
        logger.warning("the face index cannot be used (%s): grouping reads the catalog", error)
        return None
    face_ids = {hit.face_id for found in hits for hit in found} - set(own_face_ids)
    nearby = Q(id__in=face_ids)
    # Grouped but perhaps not indexed yet: another worker's video between its grouping and its
    # indexing, or one whose indexing failed.
    unfinished = Q(video__in=Video.objects.exclude(status=Video.Status.READY))
    return set(
        Face.objects.filter(nearby | unfinished, embedding_model=model_name, is_not_face=False)
        .exclude(person=None)
        .exclude(id__in=own_face_ids)
        .values_list("person_id", flat=True)
        .distinct()
    )
