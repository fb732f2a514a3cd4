"""Which existing people a new video's tracks could be: asked of the vector index, not read from
the whole catalog, so grouping one video costs the same at a million faces as at a thousand.

The index answers with the k nearest faces of each new track, ranked on its in-memory int8
copies (the float vectors, cold on disk in a large catalog, are not read); their tracks, read
from the database, are candidates when their template is within the grouping threshold of a new
track (the only pairs the grouping measures), and their people are who the database says now (a
payload may lag behind a curator's change by a moment); so are the people of videos still being
processed (grouped, maybe not yet indexed). Most hits are strangers: a hit's similarity and its
track's length (in the payload) bound how close that track's template can be, and a track that
cannot be within the threshold is not read at all (tracks_worth_reading). When the index
cannot be trusted (unreachable, or lacking faces of the catalog's finished videos: deleted, half
rebuilt, another backend) the answer is None and the caller reads the catalog from the
database instead: slower, never a wrong person.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np

from catalog.grouping import cosine_distances
from catalog.models import Face, Video
from catalog.services import index_sync
from catalog.services.catalog_tracks import track_templates
from search.index import FaceIndexError, IndexHit

logger = logging.getLogger(__name__)

# Nearest faces asked of the index per new track (~3 faces a track: past the ~20 nearest tracks).
# The grouping then decides on the candidates' tracks exactly as it would on the whole catalog.
CANDIDATE_FACES = 64
# Faces less similar than this share of the grouping's similarity bound are no candidates. Safe:
# a track's template is its faces' weighted mean m over |m|, so some face of it is at least
# (template similarity) x |m| similar to the query, and the faces of one track point the same
# way (|m| ~0.85-0.95 for real tracks; 0.6 is far below).
MIN_MEAN_LENGTH = 0.6
# How far a similarity computed on the index's int8 copies can be from the exact one, at most:
# measured 0.0017 on average and 0.0155 at worst over 3,633 hits at 10^6 synthetic faces
# (benchmarks/README.md, "Catalog scale"); twice the worst, so the bound stays a bound.
QUANTIZED_SIMILARITY_ERROR = 0.03
# Faces looked up in the index before it is trusted (faces_missing_from_index): the newest
# this many, and those among this many ids drawn at random that are faces it should hold.
NEWEST_CHECKED = 32
RANDOM_DRAWN = 64


def faces_missing_from_index(
    index, model_name: str, own_face_ids: Collection[int], unfinished: Collection[int]
) -> int:
    """How many of a sample of the faces the index should hold it lacks (0: it can be used).

    The faces it should hold: those with a person (never a "not a face": marking one takes its
    person) of this model, less those of unfinished videos (perhaps not indexed yet) and those
    being grouped. Not all of them are checked, which would cost counts of the whole catalog
    per video (50-80 ms at 10^6 faces on SQLite, cached; this: ~5 ms): the newest (a rebuild
    half done, or an older copy put back, lacks those) and some picked at random (a folder
    deleted, another backend never filled, lacks nearly all). A video whose indexing failed
    is unfinished: its people are candidates anyway (candidate_people). `unfinished`: the
    videos not ready (unfinished_videos)."""
    own, unfinished = set(own_face_ids), set(unfinished)

    def expected(rows) -> list[int]:
        return [
            face_id
            for face_id, person_id, model, video_id in rows
            if person_id is not None
            and model == model_name
            and video_id not in unfinished
            and face_id not in own
        ]

    # Only primary-key lookups and ranges: a filter on the other columns ordered by id makes
    # the database sort every face of the model (seconds at 10^6).
    columns = ("id", "person_id", "embedding_model", "video_id")
    ids = Face.objects.values_list("id", flat=True)
    # (two queries: SQLite finds a MIN or a MAX from the index, both at once by a scan)
    first_id, last_id = ids.order_by("id").first(), ids.order_by("-id").first()
    if last_id is None:
        return 0
    newest: list[int] = []
    window = len(own) + 4 * NEWEST_CHECKED  # the faces being grouped are the newest rows
    while len(newest) < NEWEST_CHECKED:
        since = last_id - window
        rows = Face.objects.filter(id__gt=since).order_by("-id").values_list(*columns)
        newest = expected(rows)[:NEWEST_CHECKED]
        if since < first_id:
            break
        window *= 4
    if not newest:
        return 0
    draws = np.random.default_rng(last_id)  # the same draws for the same catalog
    drawn = draws.integers(first_id, last_id, size=RANDOM_DRAWN, endpoint=True)
    picked = Face.objects.filter(id__in=sorted(set(drawn.tolist()))).values_list(*columns)
    sample = set(newest) | set(expected(picked))
    return len(sample - index.held(sample))


def unfinished_videos() -> list[int]:
    return list(Video.objects.exclude(status=Video.Status.READY).values_list("id", flat=True))


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
    unfinished = unfinished_videos()
    min_similarity = (1.0 - threshold) * MIN_MEAN_LENGTH
    try:
        index = index_sync.get_face_index(model_name, dimension)
        missing = faces_missing_from_index(index, model_name, own_face_ids, unfinished)
        if missing:
            logger.warning(
                "the face index lacks faces of the catalog (%d of those looked up): grouping "
                "reads the whole catalog instead (run `manage.py reindex`)",
                missing,
            )
            return None
        hits = index.search_batch(
            list(vectors),
            limit=k,
            exclude_people=[sorted(r) for r in rejected],
            min_similarity=min_similarity,
            rescore=False,
        )
    except FaceIndexError as error:
        logger.warning("the face index cannot be used (%s): grouping reads the catalog", error)
        return None
    hit_tracks = tracks_worth_reading(hits, set(own_face_ids), k, min_similarity, threshold)
    # Grouped but perhaps not indexed yet: another worker's video between its grouping and its
    # indexing, or one whose indexing failed. Their people are all candidates.
    unfinished = set(
        Face.objects.filter(video_id__in=unfinished)
        .exclude(person=None)
        .exclude(id__in=own_face_ids)
        .order_by()
        .values_list("person_id", flat=True)
        .distinct()
    )
    return unfinished | people_of_tracks_within(vectors, hit_tracks, model_name, threshold)


def tracks_worth_reading(
    hits: Sequence[Sequence[IndexHit]],
    own: Collection[int],
    k: int,
    min_similarity: float,
    threshold: float,
) -> dict[int, int | None]:
    """Face id -> track (None: not in the payload) of one hit of each track whose template may
    be within `threshold` of the search's vector; hits[i]: the answer to search i (k asked,
    none under min_similarity), own: the faces being grouped.

    The bound (catalog.grouping.track_template_and_length): a track's template is at most its
    best face's similarity over its length close to the vector. A face of the track not among
    the hits is no more similar than the last hit (k answered) or min_similarity (fewer), so a
    track is left out when neither its best hit nor that floor reaches (1 - threshold) x length,
    less the int8 scores' error. A point without a length is always kept."""
    needed = 1.0 - threshold
    kept: dict[int, int | None] = {}
    for found in hits:
        floor = found[-1].similarity if len(found) >= k else min_similarity
        best: dict[int, IndexHit] = {}
        for hit in found:
            if hit.face_id in own:
                continue
            if hit.track_id is None or hit.track_length is None:
                kept[hit.face_id] = hit.track_id
            elif hit.track_id not in best or hit.similarity > best[hit.track_id].similarity:
                best[hit.track_id] = hit
        for track_id, hit in best.items():
            reachable = max(hit.similarity, floor) + QUANTIZED_SIMILARITY_ERROR
            if reachable >= needed * hit.track_length:
                kept[hit.face_id] = track_id
    return kept


def people_of_tracks_within(
    vectors: np.ndarray, hit_tracks: dict[int, int | None], model_name: str, threshold: float
) -> set[int]:
    """The people (now, in the database) of the tracks of these faces whose template is within
    `threshold` of one of `vectors`: the only ones the grouping would compare with them (it
    measures two groups only when a pair of their tracks is that close). `hit_tracks`: face id
    -> its track as the index payload says (None: a point written before payloads carried it,
    looked up here). Reads those tracks' stored templates (catalog_tracks.track_templates), and
    the people of the close ones only."""
    track_ids = {track_id for track_id in hit_tracks.values() if track_id is not None}
    unknown = [face_id for face_id, track_id in hit_tracks.items() if track_id is None]
    if unknown:
        track_ids |= set(Face.objects.filter(id__in=unknown).values_list("track_id", flat=True))
    templates = track_templates(track_ids, model_name)
    if not templates:
        return set()
    ids = list(templates)
    distances = cosine_distances(np.asarray(vectors), np.stack([templates[t] for t in ids]))
    close = [
        t for t, near in zip(ids, (distances < threshold).any(axis=0).tolist(), strict=True) if near
    ]
    faces = Face.objects.filter(track_id__in=close).values_list(
        "track_id", "person_id", "embedding_model"
    )  # the model checked here: see catalog_tracks._load_tracks
    people_of: dict[int, Counter] = {}
    for track_id, person_id, model in faces:
        if person_id is not None and model == model_name:
            people_of.setdefault(track_id, Counter())[person_id] += 1
    return {people.most_common(1)[0][0] for people in people_of.values()}
