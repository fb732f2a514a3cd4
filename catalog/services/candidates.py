"""Which existing people a new video's tracks could be: asked of the vector index, not read from
the whole catalog, so grouping one video costs the same at a million faces as at a thousand.

The grouping compares two groups only where a pair of their tracks' templates is within its
threshold, so the people a new track may join are those of the catalog's tracks within the
threshold of it: what the index of track templates (index_sync.get_track_index) answers, the k
nearest tracks, ranked and scored on its in-memory int8 copies (the float vectors, cold on disk
in a large catalog, are not read). A track whose int8 score is too close to the threshold to
tell is judged on its template stored in the database (a few a video). The people of the close
tracks are who the database says now (a payload may lag behind a curator's change by a moment);
so are the people of videos still being processed (grouped, maybe not yet indexed). When the
index cannot be trusted (unreachable, or lacking tracks of the catalog's finished videos:
deleted, half rebuilt, another backend) the answer is None and the caller reads the catalog from
the database instead: slower, never a wrong person. An index holding under half the catalog's
tracks (emptied, or never filled: a catalog from before the track index, after an upgrade) is
filled from the database first, once (fill_track_index_if_empty).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

import numpy as np
from django.db.models import Q

from catalog.grouping import cosine_distances
from catalog.models import Face, Track, Video
from catalog.services import index_sync
from catalog.services.catalog_tracks import track_people, track_templates
from search.index import FaceIndexError, IndexHit

logger = logging.getLogger(__name__)

# Nearest tracks asked of the index per new track. Only those within the threshold come back,
# so this bounds how many tracks of one person can crowd the others out of the answer.
CANDIDATE_TRACKS = 64
# How far a similarity computed on the index's int8 copies can be from the exact one, at most:
# measured 0.0017 on average and 0.0128 at worst over 3,626 hits of the track index of a 10^6
# faces synthetic catalog (0.0155 over the face index's; benchmarks/README.md, "Catalog
# scale"); about twice the worst, so the bound stays a bound.
QUANTIZED_SIMILARITY_ERROR = 0.03
# Tracks looked up in the index before it is trusted (tracks_missing_from_index): the newest
# this many, and those among this many ids drawn at random that are tracks it should hold.
NEWEST_CHECKED = 32
RANDOM_DRAWN = 64


def tracks_missing_from_index(
    index, model_name: str, own_track_ids: Collection[int], unfinished: Collection[int]
) -> int:
    """How many of a sample of the tracks the index should hold it lacks (0: it can be used).

    The tracks it should hold: those with a template of this model (a face that is a face) or
    none computed yet, less those of unfinished videos (perhaps not indexed yet) and those
    being grouped. Not all of them are checked, which would cost a pass over the catalog per
    video: the newest (a rebuild half done, or an older copy put back, lacks those) and some
    picked at random (a folder deleted, another backend never filled, lacks nearly all). A
    video whose indexing failed is unfinished: its people are candidates anyway
    (candidate_people). `unfinished`: the videos not ready (unfinished_videos)."""
    own, unfinished = set(own_track_ids), set(unfinished)

    def expected(rows) -> list[int]:
        # A track stored before tracks had templates (null) counts too: from a version that
        # never wrote the track index, it is what shows the index is not filled.
        return [
            track_id
            for track_id, video_id, model, template in rows
            if (template is None or (model == model_name and template))
            and video_id not in unfinished
            and track_id not in own
        ]

    # Only primary-key lookups and ranges (a filter on other columns ordered by id makes the
    # database sort every row).
    columns = ("id", "video_id", "template_model", "template")
    ids = Track.objects.values_list("id", flat=True)
    # (two queries: SQLite finds a MIN or a MAX from the index, both at once by a scan)
    first_id, last_id = ids.order_by("id").first(), ids.order_by("-id").first()
    if last_id is None:
        return 0
    newest: list[int] = []
    window = len(own) + 4 * NEWEST_CHECKED  # the tracks being grouped are the newest rows
    while len(newest) < NEWEST_CHECKED:
        since = last_id - window
        rows = Track.objects.filter(id__gt=since).order_by("-id").values_list(*columns)
        newest = expected(rows)[:NEWEST_CHECKED]
        if since < first_id:
            break
        window *= 4
    if not newest:
        return 0
    draws = np.random.default_rng(last_id)  # the same draws for the same catalog
    drawn = draws.integers(first_id, last_id, size=RANDOM_DRAWN, endpoint=True)
    picked = Track.objects.filter(id__in=sorted(set(drawn.tolist()))).values_list(*columns)
    sample = set(newest) | set(expected(picked))
    return len(sample - index.held(sample))


def fill_track_index_if_empty(
    index,
    model_name: str,
    dimension: int,
    own_track_ids: Collection[int],
    unfinished: Collection[int],
) -> bool:
    """Fill the index of track templates from the database when it holds under half of the
    tracks it should (as tracks_missing_from_index counts them: those with the model's
    template or none computed yet, of finished videos, not being grouped); whether it did.

    Such an index was emptied, or never filled: a catalog indexed by a version before the
    track index. Filling it once while this video waits (rebuild_track_index: ~30 s at 10^6
    faces, templates computed where they were never stored) costs less than every video after
    it reading the whole catalog until someone runs `manage.py reindex`. An index with most
    tracks but some missing is not refilled here: `manage.py check_index --fix` repairs it."""
    expected = (
        Track.objects.filter(Q(template_model=model_name) | Q(template=None))
        .exclude(video_id__in=list(unfinished))
        .exclude(id__in=list(own_track_ids))
        .count()
    )
    held = index.count()
    if 2 * held >= expected:
        return False
    logger.warning(
        "the track index holds %d of %d tracks: filling it from the database once", held, expected
    )
    index_sync.rebuild_track_index(model_name, dimension)
    return True


def unfinished_videos() -> list[int]:
    return list(Video.objects.exclude(status=Video.Status.READY).values_list("id", flat=True))


def candidate_people(
    vectors: np.ndarray,
    rejected: Sequence[Collection[int]],
    own_track_ids: Collection[int],
    model_name: str,
    dimension: int,
    threshold: float,
    k: int = CANDIDATE_TRACKS,
) -> set[int] | None:
    """The people any of these track vectors may join (rejected[i]: people track i may not
    join, left out of its search so they do not crowd out the others; own_track_ids: the
    tracks being grouped; threshold: the grouping's cosine distance), or None when the index
    cannot say (module docstring)."""
    own_track_ids = set(own_track_ids)
    unfinished = unfinished_videos()
    needed = 1.0 - threshold
    try:
        index = index_sync.get_track_index(model_name, dimension)
        missing = tracks_missing_from_index(index, model_name, own_track_ids, unfinished)
        if missing and fill_track_index_if_empty(
            index, model_name, dimension, own_track_ids, unfinished
        ):
            missing = tracks_missing_from_index(index, model_name, own_track_ids, unfinished)
        if missing:
            logger.warning(
                "the track index lacks tracks of the catalog (%d of those looked up): grouping "
                "reads the whole catalog instead (run `manage.py reindex`)",
                missing,
            )
            return None
        hits = index.search_batch(
            list(vectors),
            limit=k,
            exclude_people=[sorted(r) for r in rejected],
            min_similarity=needed - QUANTIZED_SIMILARITY_ERROR,
            rescore=False,
        )
    except FaceIndexError as error:
        logger.warning("the track index cannot be used (%s): grouping reads the catalog", error)
        return None
    close = tracks_within(vectors, hits, own_track_ids, model_name, threshold)
    # Grouped but perhaps not indexed yet: another worker's video between its grouping and its
    # indexing, or one whose indexing failed. Their people are all candidates.
    unfinished = set(
        Face.objects.filter(video_id__in=unfinished)
        .exclude(person=None)
        .exclude(track_id__in=own_track_ids)
        .order_by()
        .values_list("person_id", flat=True)
        .distinct()
    )
    return unfinished | people_of_tracks(close, model_name)


def tracks_within(
    vectors: np.ndarray,
    hits: Sequence[Sequence[IndexHit]],
    own: Collection[int],
    model_name: str,
    threshold: float,
) -> set[int]:
    """The tracks among the hits (hits[i]: the track index's answer for vectors[i], int8
    scores) whose template is within `threshold` of that vector, own tracks left out: certain
    from the score where it is further from the bound than the int8 error, else from the
    template stored in the database."""
    needed = 1.0 - threshold
    close: set[int] = set()
    undecided: dict[int, set[int]] = {}  # track -> the searches it was undecided in
    for search, found in enumerate(hits):
        for hit in found:
            if hit.face_id in own:
                continue
            if hit.similarity >= needed + QUANTIZED_SIMILARITY_ERROR:
                close.add(hit.face_id)
            else:
                undecided.setdefault(hit.face_id, set()).add(search)
    undecided = {t: searches for t, searches in undecided.items() if t not in close}
    templates = track_templates(undecided, model_name)
    for track_id, template in templates.items():
        searched = np.asarray(vectors)[sorted(undecided[track_id])]
        if (cosine_distances(searched, template[None, :]) < threshold).any():
            close.add(track_id)
    return close


def people_of_tracks(track_ids: Collection[int], model_name: str) -> set[int]:
    """The people (now, in the database) of these tracks, as grouping reads a track's person
    (catalog_tracks.track_people): a track most of whose faces are in no person gives none."""
    people = track_people(track_ids, model_name).values()
    return {person_id for _, person_id in people if person_id is not None}
