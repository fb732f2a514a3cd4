"""Ingesting a dataset's videos into the (throwaway) catalog and scoring the people found.

Videos go through the same services as a user's upload (store, find faces, save, group, index),
so the numbers describe what users get. People are then scored from the catalog itself.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from catalog.grouping import METHODS, group_catalog
from catalog.models import Face, Track
from catalog.services.clustering import CatalogTracks, grouping_threshold
from catalog.services.index_sync import index_owned_here
from evaluation.dataset import Dataset, LabeledVideo
from evaluation.scoring import (
    Appearance,
    bcubed_scores,
    count_ratio,
    detection_recall,
    detection_recall_by_size,
    impure_tracks,
    labeled_appearances,
    name_track_detections,
    pairwise_scores,
)
from ingestion.pipeline.frames import VideoDecodeError
from ingestion.services import intake, processing
from ingestion.sources import SourceError


@dataclass
class VideoOutcome:
    labeled: LabeledVideo
    video_id: int | None = None
    duration_s: float = 0.0
    seconds: float = 0.0
    frames_sampled: int = 0
    faces_detected: int = 0
    tracks: int = 0
    appearances: list[Appearance] = field(default_factory=list)
    error: str = ""


def ingest_videos(
    dataset: Dataset, on_video: Callable[[int, int, str], None] | None = None
) -> list[VideoOutcome]:
    outcomes = []
    with index_owned_here():  # loaded once for all the videos, not once per operation
        for number, labeled in enumerate(dataset.videos):
            if on_video:
                on_video(number, len(dataset.videos), labeled.name)
            outcomes.append(ingest_video(labeled))
    return outcomes


def ingest_video(labeled: LabeledVideo) -> VideoOutcome:
    outcome = VideoOutcome(labeled)
    started = time.perf_counter()
    try:
        video, _ = intake.receive_local_file(labeled.path)
        outcome.video_id = video.id
        processed = processing.process_stored_video(video)
    except (SourceError, VideoDecodeError, OSError) as error:
        outcome.error = str(error)
        if outcome.video_id is not None:
            processing.mark_video(video, video.Status.FAILED, outcome.error)
        return outcome
    finally:
        outcome.seconds = time.perf_counter() - started
    found = processed.found
    outcome.duration_s = found.info.duration_s
    outcome.frames_sampled = found.frames_sampled
    outcome.faces_detected = found.faces_detected
    outcome.tracks = len(found.tracks)
    if labeled.truth:
        boxes_at: dict[float, list] = defaultdict(list)
        for track in found.tracks:
            for detection in track.detections:
                boxes_at[detection[0]].append(detection[2:6])
        samples = [(t, boxes_at.get(t, [])) for t in found.sample_times_s]
        outcome.appearances = labeled_appearances(labeled.truth, samples)
    return outcome


@dataclass(frozen=True)
class CatalogLabels:
    """What the catalog holds for the labeled videos, keyed by track."""

    named: list[tuple[str, int]]  # (true name, track id) per scored detection
    person_of_track: dict[int, int | None]
    tracks_of_video: dict[int, list[int]]

    def person_names(self) -> dict[int, str]:
        """Each person's true name: the one most of their scored detections carry."""
        votes: dict[int, Counter] = defaultdict(Counter)
        for name, track_id in self.named:
            person_id = self.person_of_track.get(track_id)
            if person_id is not None:
                votes[person_id][name] += 1
        return {person_id: counts.most_common(1)[0][0] for person_id, counts in votes.items()}

    def track_names(self) -> dict[int, str]:
        votes: dict[int, Counter] = defaultdict(Counter)
        for name, track_id in self.named:
            votes[track_id][name] += 1
        return {track_id: counts.most_common(1)[0][0] for track_id, counts in votes.items()}


def read_catalog_labels(outcomes: list[VideoOutcome]) -> CatalogLabels:
    named: list[tuple[str, int]] = []
    tracks_of_video: dict[int, list[int]] = {}
    for outcome in outcomes:
        if outcome.video_id is None:
            continue
        rows = list(Track.objects.filter(video_id=outcome.video_id).values_list("id", "detections"))
        tracks_of_video[outcome.video_id] = [track_id for track_id, _ in rows]
        if outcome.labeled.truth:
            named += name_track_detections(outcome.labeled.truth, rows)
    person_of_track = dict(Face.objects.values_list("track_id", "person_id").distinct())
    return CatalogLabels(named, person_of_track, tracks_of_video)


def score_people(outcomes: list[VideoOutcome], labels: CatalogLabels) -> dict:
    """How the catalog's people match the truth: pairwise/BCubed, splits, merges, crowds."""
    by_person = [(name, labels.person_of_track.get(t)) for name, t in labels.named]
    pairwise, bcubed = pairwise_scores(by_person), bcubed_scores(by_person)
    true_names = {name for name, _ in by_person}
    people_of_name: dict[str, set] = defaultdict(set)
    names_of_person: dict[int | None, set] = defaultdict(set)
    for name, person in by_person:
        people_of_name[name].add(person)
        names_of_person[person].add(name)
    named_people = {p for p, names in names_of_person.items() if names}
    crowds, extras_merged = [], 0
    for outcome in outcomes:
        truth = outcome.labeled.truth
        if outcome.video_id is None or truth is None or not truth.is_crowd:
            continue
        track_ids = labels.tracks_of_video[outcome.video_id]
        people = {labels.person_of_track.get(t) for t in track_ids}
        merged = sum(labels.person_of_track.get(t) in named_people for t in track_ids)
        extras_merged += merged
        true_range = truth.segments[0].extras_range
        crowds.append(
            {
                "video": outcome.labeled.name,
                "people_found": len(people),
                "true_range": list(true_range),
                "ratio": round(count_ratio(len(people), true_range), 3),
                "tracks_merged_into_named_people": merged,
            }
        )
    per_video = {}
    for outcome in outcomes:
        if outcome.video_id is None or outcome.labeled.truth is None:
            continue
        own = set(labels.tracks_of_video[outcome.video_id])
        items = [(n, labels.person_of_track.get(t)) for n, t in labels.named if t in own]
        if items:
            per_video[outcome.labeled.name] = round(bcubed_scores(items).f, 4)
    impure = impure_tracks(labels.named)
    return {
        "scored_detections": len(by_person),
        "labeled_tracks": len({t for _, t in labels.named}),
        "impure_tracks": [{"track": t, "names": n} for t, n in sorted(impure.items())],
        "pairwise": _scores_dict(pairwise),
        "bcubed": _scores_dict(bcubed),
        "true_people": len(true_names),
        "people_found_for_them": len({p for _, p in by_person}),
        "split_people": sorted(n for n, people in people_of_name.items() if len(people) > 1),
        "merged_people": sorted(
            "+".join(sorted(names)) for names in names_of_person.values() if len(names) > 1
        ),
        "bcubed_f_per_video": per_video,
        "crowds": crowds,
        "extras_merged_into_named_people": extras_merged,
    }


def _scores_dict(scores) -> dict:
    return {
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f": round(scores.f, 4),
    }


def score_detection(outcomes: list[VideoOutcome]) -> dict:
    everything = [a for o in outcomes for a in o.appearances]
    per_video = {}
    for outcome in outcomes:
        truth = outcome.labeled.truth
        if truth is None:
            continue
        recall = detection_recall(outcome.appearances)
        per_video[outcome.labeled.name] = {
            "found": recall.found,
            "labeled": recall.total,
            "recall": None if recall.rate is None else round(recall.rate, 4),
            "faces_detected": outcome.faces_detected,
            "expects_no_face": truth.expects_no_face,
        }
    total = detection_recall(everything)
    named = detection_recall([a for a in everything if a.name is not None])
    return {
        "recall": None if total.rate is None else round(total.rate, 4),
        "named_recall": None if named.rate is None else round(named.rate, 4),
        "labeled_appearances": total.total,
        "by_size": {
            band: {"found": r.found, "labeled": r.total, "recall": round(r.rate, 4)}
            for band, r in detection_recall_by_size(everything).items()
        },
        "per_video": per_video,
        "faces_on_no_face_videos": {
            o.labeled.name: o.faces_detected
            for o in outcomes
            if o.labeled.truth and o.labeled.truth.expects_no_face
        },
    }


# The threshold must sit on a plateau: BCubed F moves by at most this over x0.9-x1.1 of it.
PLATEAU_FACTORS = (0.9, 1.1)


def threshold_sweep(labels: CatalogLabels, tracks: CatalogTracks, factors=None) -> dict:
    """Pairwise and BCubed scores of regrouping the catalog's tracks at other thresholds.

    Regroups the track templates the way a re-cluster does (cannot-link included), for every
    grouping method, without touching the catalog; `plateau` says how far BCubed F moves when
    the configured method's threshold moves x0.9-x1.1.
    """
    if not len(tracks.track_ids):
        return {"chosen_threshold": None, "rows": [], "plateau": None}
    row_of_track = {t: row for row, t in enumerate(tracks.track_ids)}
    chosen = grouping_threshold(settings.FACE_RECOGNITION_MODEL)
    factors = sorted(
        set(factors or [round(0.5 + 0.05 * i, 2) for i in range(19)]) | {1.0, *PLATEAU_FACTORS}
    )  # 0.5x .. 1.4x
    track_set = tracks.track_set
    results = []
    for method in METHODS:
        for factor in factors:
            threshold = round(chosen * factor, 4)
            grouped = group_catalog(track_set, method=method, threshold=threshold)
            items = [(n, int(grouped[row_of_track[t]])) for n, t in labels.named]
            pairwise, bcubed = pairwise_scores(items), bcubed_scores(items)
            results.append(
                {
                    "algorithm": method,
                    "cannot_link": True,
                    "factor": factor,
                    "threshold": threshold,
                    "pairwise_precision": round(pairwise.precision, 4),
                    "pairwise_recall": round(pairwise.recall, 4),
                    "bcubed_f": round(bcubed.f, 4),
                    "people": len(set(grouped.tolist())),
                }
            )
    configured = {
        r["factor"]: r["bcubed_f"]
        for r in results
        if r["algorithm"] == settings.CLUSTERING_ALGORITHM
        and PLATEAU_FACTORS[0] <= r["factor"] <= PLATEAU_FACTORS[1]
    }
    plateau = {
        "factors": list(PLATEAU_FACTORS),
        "bcubed_f": {str(f): v for f, v in sorted(configured.items())},
        "largest_change": round(max(abs(v - configured[1.0]) for v in configured.values()), 4),
    }
    return {"chosen_threshold": chosen, "rows": results, "plateau": plateau}


def track_distances(labels: CatalogLabels, tracks: CatalogTracks) -> dict:
    """Cosine distances between named tracks: same person vs different people."""
    names = labels.track_names()
    rows = [(row, names[t]) for row, t in enumerate(tracks.track_ids) if t in names]
    if len(rows) < 2:
        return {"same": [], "different": []}
    vectors = tracks.vectors[[r for r, _ in rows]]
    distances = 1.0 - vectors @ vectors.T
    same, different = [], []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            (same if rows[i][1] == rows[j][1] else different).append(float(distances[i, j]))
    return {"same": np.round(same, 4).tolist(), "different": np.round(different, 4).tolist()}
