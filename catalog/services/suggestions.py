"""Merge suggestions: people whose faces are close to another person's, nearest first, for a
curator to accept ("same person": merge) or refuse ("different people": never again).

Candidates come from the vector index (a person's average face against the nearest faces of
everyone else), so a suggestion costs one index query whatever the size of the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Q

from catalog.models import DifferentPeople, Face, Person
from catalog.services.curation import shares_a_frame
from catalog.services.index_sync import get_face_index
from ingestion.pipeline.thresholds import match_score, verification_distance

NEIGHBOURS = 64


@dataclass(frozen=True)
class MergeSuggestion:
    person_id: int
    other_id: int
    distance: float  # cosine distance from the person's average face to the other's nearest face
    score: float  # 0-1 "same person", as search by photo scores it


def average_face(person: Person) -> tuple[np.ndarray, str, int] | None:
    """The person's average face vector, with its model and dimension; None without faces."""
    faces = list(
        Face.objects.filter(person=person, is_not_face=False).values_list(
            "embedding", "embedding_model", "embedding_dim"
        )[:500]
    )
    if not faces:
        return None
    vectors = np.stack([np.frombuffer(embedding, dtype=np.float32) for embedding, _, _ in faces])
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12), faces[0][1], int(faces[0][2])


def refused_partners(person_id: int) -> set[int]:
    pairs = DifferentPeople.objects.filter(Q(person_a_id=person_id) | Q(person_b_id=person_id))
    return {a if b == person_id else b for a, b in pairs.values_list("person_a_id", "person_b_id")}


def merge_suggestions(person: Person, limit: int = 10) -> list[MergeSuggestion]:
    """The people most likely to be this person, nearest first: within the recognition model's
    own "same person" distance, not hidden, not refused as different, and never on screen with
    them in one frame (they could not be merged)."""
    average = average_face(person)
    if average is None:
        return []
    vector, model_name, dimension = average
    hits = get_face_index(model_name, dimension).search(
        vector, limit=NEIGHBOURS, exclude_hidden=True
    )
    nearest: dict[int, float] = {}
    for hit in hits:
        if hit.person_id is not None and hit.person_id != person.id:
            nearest.setdefault(hit.person_id, hit.similarity)
    within = verification_distance(model_name)
    refused = refused_partners(person.id)
    existing = set(Person.objects.filter(id__in=nearest, hidden=False).values_list("id", flat=True))
    own_tracks = set(person.faces.values_list("track_id", flat=True))
    suggestions = []
    for other_id, similarity in sorted(nearest.items(), key=lambda item: -item[1]):
        distance = 1.0 - similarity
        if distance >= within or other_id in refused or other_id not in existing:
            continue
        other_tracks = set(
            Face.objects.filter(person_id=other_id).values_list("track_id", flat=True)
        )
        if shares_a_frame(own_tracks, other_tracks):
            continue
        suggestions.append(
            MergeSuggestion(
                person.id,
                other_id,
                round(distance, 4),
                round(match_score(similarity, model_name), 4),
            )
        )
        if len(suggestions) >= limit:
            break
    return suggestions


def suggestions_for_page(page: int, per_page: int = 20) -> list[MergeSuggestion]:
    """Suggestions for one page of people (unnamed first, most faces first), each pair once,
    nearest first: a curator's review costs one index query a person, never the whole catalog."""
    people = Person.objects.filter(hidden=False).order_by("named_by_curator", "-face_total", "id")[
        (page - 1) * per_page : page * per_page
    ]
    pairs: dict[frozenset[int], MergeSuggestion] = {}
    for person in people:
        for suggestion in merge_suggestions(person, limit=3):
            pairs.setdefault(frozenset((suggestion.person_id, suggestion.other_id)), suggestion)
    return sorted(pairs.values(), key=lambda s: s.distance)
