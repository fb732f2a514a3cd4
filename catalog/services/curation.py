"""A curator's decisions about people: name, hide, merge, move faces. The API and the admin both
call these; each keeps the vector index in step and marks the people it touches as curated, so
re-clustering never undoes the decision.

Faces move with their whole track: a track is one face followed through the video, and the
clustering that comes later treats it as one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from catalog.models import Face, Person, Track
from catalog.services import index_sync
from catalog.services.clustering import on_screen_together, refresh_cover_faces


class CurationError(ValueError):
    """A decision that would break the catalog's rules; the message says which."""


def rename_person(person: Person, name: str) -> Person:
    person.name = name.strip()
    person.named_by_curator = bool(person.name)
    person.save(update_fields=["name", "named_by_curator", "updated_at"])
    return person


def set_person_hidden(person: Person, hidden: bool) -> Person:
    person.hidden = hidden
    person.save(update_fields=["hidden", "updated_at"])
    index_sync.set_person_hidden(person.id, hidden)
    return person


def set_person_locked(person: Person, locked: bool) -> Person:
    """A locked person is never changed by re-clustering (it may only gain faces)."""
    person.locked = locked
    person.save(update_fields=["locked", "updated_at"])
    return person


def set_cover_face(person: Person, face: Face | None) -> Person:
    """The face shown for a person; one of their own, or None for their best face."""
    if face is not None and face.person_id != person.id:
        raise CurationError(f"Face {face.id} is not one of {person}'s faces.")
    person.cover_face = face
    person.save(update_fields=["cover_face", "updated_at"])
    if face is None:
        refresh_cover_faces({person.id})
    return person


def _shares_a_frame(track_ids: set[int], other_track_ids: set[int]) -> bool:
    """Whether a track of one set is on screen in the same frame as a track of the other."""
    tracks = Track.objects.filter(id__in=track_ids | other_track_ids)
    frames = {
        track_id: (video_id, Track.frames_in(detections))
        for track_id, video_id, detections in tracks.values_list("id", "video_id", "detections")
    }
    return any(
        on_screen_together(*frames[a], *frames[b])
        for a in track_ids
        for b in other_track_ids
        if a != b
    )


@transaction.atomic
def move_faces(face_ids: Iterable[int], to_person: Person) -> int:
    """Move these faces (with the rest of their tracks) to a person; returns faces moved."""
    face_ids = list(face_ids)
    track_ids = set(Face.objects.filter(id__in=face_ids).values_list("track_id", flat=True))
    if len(track_ids) == 0:
        raise CurationError("None of these faces exist.")
    target_tracks = set(to_person.faces.values_list("track_id", flat=True)) - track_ids
    if _shares_a_frame(track_ids, target_tracks):
        raise CurationError(
            f"{to_person} is on screen in the same frame as one of these faces: "
            "one person cannot be two faces of one frame."
        )
    moving = Face.objects.filter(track_id__in=track_ids).exclude(person=to_person)
    moved_ids = list(moving.values_list("id", flat=True))
    sources = set(moving.values_list("person_id", flat=True)) - {None}
    moving.update(person=to_person)
    to_person.locked = True
    to_person.save(update_fields=["locked", "updated_at"])
    Person.objects.filter(id__in=sources).delete_left_empty()
    refresh_cover_faces({to_person.id, *sources})
    index_sync.reindex_moved_faces({to_person.id: moved_ids})
    return len(moved_ids)


@transaction.atomic
def merge_people(into: Person, others: Iterable[Person]) -> Person:
    """Make several people one: every face of `others` goes to `into`, and they are removed."""
    others = [p for p in others if p.id != into.id]
    if not others:
        raise CurationError("Name at least one other person to merge.")
    moving = Face.objects.filter(person__in=others)
    everyone = set(into.faces.values_list("track_id", flat=True)) | set(
        moving.values_list("track_id", flat=True)
    )
    if _shares_a_frame(everyone, everyone):
        raise CurationError(
            "These people are on screen together in one frame: they cannot be one person."
        )
    moved_ids = list(moving.values_list("id", flat=True))
    moving.update(person=into)
    if not into.name:
        named = next((p for p in others if p.name), None)
        if named:
            into.name, into.named_by_curator = named.name, True
    into.locked = True
    into.save()
    Person.objects.filter(id__in=[p.id for p in others]).delete()
    refresh_cover_faces({into.id})
    index_sync.reindex_moved_faces({into.id: moved_ids})
    return into
