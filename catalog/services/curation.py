"""A curator's decisions about people, in one place: the admin, the pages and the API all call
these. Each runs in one transaction, is recorded with its before and after (`CurationAction`, so
it can be undone: `undo`), locks the people it decides about so that grouping never undoes it
(the rule is written in `catalog/services/clustering.py`), and brings the vector index in step
once the transaction has committed (`manage.py check_index --fix` repairs what a failure there
leaves behind).

Faces move with their whole track: a track is one face followed through the video, and the
grouping that comes later treats it as one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from catalog.models import CurationAction, DifferentPeople, Face, Person, Track, TrackRejection
from catalog.services import index_sync
from catalog.services.catalog_tracks import on_screen_together, store_track_templates
from catalog.services.clustering import assign_people_to_tracks, refresh_cover_faces
from catalog.services.curation_log import UndoRefused, latest_undoable, recorded, restore_before

Kind = CurationAction.Kind


class CurationError(ValueError):
    """A decision that would break the catalog's rules; the message says which."""


class NameTaken(CurationError):
    """Another person already has this name: the curator probably means to merge them."""

    def __init__(self, message: str, other: Person) -> None:
        super().__init__(message)
        self.other = other


def _sync_index_after_commit(face_ids: Iterable[int] = (), hidden_of: Iterable[int] = ()) -> None:
    face_ids, hidden_of = set(face_ids), set(hidden_of)
    transaction.on_commit(lambda: index_sync.sync_faces(face_ids, hidden_of))


def _track_faces(face_ids: Iterable[int]) -> tuple[set[int], list[int]]:
    """The tracks of these faces, and every face of those tracks."""
    track_ids = set(Face.objects.filter(id__in=set(face_ids)).values_list("track_id", flat=True))
    if not track_ids:
        raise CurationError("None of these faces exist.")
    faces = list(Face.objects.filter(track_id__in=track_ids).values_list("id", flat=True))
    return track_ids, faces


def shares_a_frame(track_ids: set[int], other_track_ids: set[int]) -> bool:
    """Whether a track of one set is on screen in the same frame as a track of the other. Only
    tracks of one video whose time spans overlap can share a frame: their frames alone are read
    (two people in hundreds of videos would otherwise compare every pair of their tracks)."""
    spans: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    rows = Track.objects.filter(id__in=track_ids | other_track_ids).values_list(
        "id", "video_id", "start_time_s", "end_time_s"
    )
    for track_id, video_id, start_s, end_s in rows:
        spans[video_id].append((track_id, start_s, end_s))
    pairs = [
        (a, b)
        for tracks in spans.values()
        for a, a_start, a_end in tracks
        if a in track_ids
        for b, b_start, b_end in tracks
        if b in other_track_ids and a != b and a_start <= b_end and b_start <= a_end
    ]
    if not pairs:
        return False
    wanted = {track_id for pair in pairs for track_id in pair}
    frames = {
        track_id: (video_id, Track.frames_in(detections))
        for track_id, video_id, detections in Track.objects.filter(id__in=wanted).values_list(
            "id", "video_id", "detections"
        )
    }
    return any(on_screen_together(*frames[a], *frames[b]) for a, b in pairs)


def _lock(*people: Person) -> None:
    Person.objects.filter(id__in=[p.id for p in people]).update(locked=True)
    for person in people:
        person.locked = True


def _fresh(person: Person) -> Person:
    person.refresh_from_db()
    return person


# --- One person's own fields ------------------------------------------------------------------


def rename_person(person: Person, name: str, *, user=None, merge_if_taken: bool = False) -> Person:
    """Name a person; a curator's name is kept by re-clustering. A name another person already
    has means the same person: with merge_if_taken this one is merged into them (who is
    returned), otherwise NameTaken says who has it."""
    name = name.strip()
    other = (
        Person.objects.filter(name__iexact=name).exclude(pk=person.pk).order_by("id").first()
        if name
        else None
    )
    if other is not None:
        if not merge_if_taken:
            raise NameTaken(
                f"{other} (person {other.id}) already has this name; merge the two to give "
                "them one name.",
                other,
            )
        return merge_people(other, [person], user=user)
    with recorded(Kind.RENAME, user, people=[person.id]) as record:
        record.summary = f"{person} renamed to {name or 'nobody'} (person {person.id})"
        person.name = name
        person.named_by_curator = bool(name)
        person.save(update_fields=["name", "named_by_curator", "updated_at"])
    return person


def set_person_hidden(person: Person, hidden: bool, *, user=None) -> Person:
    """Hidden people are left out of the gallery and of search; their faces stay."""
    with recorded(Kind.HIDE, user, people=[person.id]) as record:
        record.summary = f"{person} {'hidden' if hidden else 'shown'}"
        person.hidden = hidden
        person.save(update_fields=["hidden", "updated_at"])
        _sync_index_after_commit(hidden_of=[person.id])
    return person


def set_person_locked(person: Person, locked: bool, *, user=None) -> Person:
    """A locked person is never changed by re-clustering (it may only gain faces)."""
    with recorded(Kind.LOCK, user, people=[person.id]) as record:
        record.summary = f"{person} {'locked' if locked else 'unlocked'}"
        person.locked = locked
        person.save(update_fields=["locked", "updated_at"])
    return person


def set_cover_face(person: Person, face: Face | None, *, user=None) -> Person:
    """The face shown for a person; one of their own, or None for their best face."""
    if face is not None and face.person_id != person.id:
        raise CurationError(f"Face {face.id} is not one of {person}'s faces.")
    with recorded(Kind.COVER, user, people=[person.id]) as record:
        record.summary = f"cover of {person}: face {face.id if face else 'best'}"
        person.cover_face = face
        person.save(update_fields=["cover_face", "updated_at"])
        if face is None:
            refresh_cover_faces({person.id})
    return _fresh(person)


# --- Faces between people ---------------------------------------------------------------------


def move_faces(face_ids: Iterable[int], to_person: Person, *, user=None) -> int:
    """Move these faces (with the rest of their tracks) to a person; returns faces moved."""
    track_ids, faces = _track_faces(face_ids)
    target_tracks = set(to_person.faces.values_list("track_id", flat=True)) - track_ids
    if shares_a_frame(track_ids, target_tracks):
        raise CurationError(
            f"{to_person} is on screen in the same frame as one of these faces: "
            "one person cannot be two faces of one frame."
        )
    moving = Face.objects.filter(id__in=faces, is_not_face=False).exclude(person=to_person)
    sources = set(moving.values_list("person_id", flat=True)) - {None}
    with recorded(Kind.MOVE, user, people=[to_person.id, *sources], faces=faces) as record:
        moved_ids = list(moving.values_list("id", flat=True))
        record.summary = f"{len(moved_ids)} face(s) moved to {to_person}"
        moving.update(person=to_person)
        _lock(to_person)
        Person.objects.filter(id__in=sources).delete_left_empty()
        refresh_cover_faces({to_person.id, *sources})
        _sync_index_after_commit(moved_ids)
    return len(moved_ids)


def merge_people(into: Person, others: Iterable[Person], *, user=None) -> Person:
    """Make several people one: every face of `others` goes to `into` (whose name and cover
    stay; an unnamed `into` takes the first name among the others), and they are removed."""
    others = [p for p in others if p.id != into.id]
    if not others:
        raise CurationError("Name at least one other person to merge.")
    moving = Face.objects.filter(person__in=others)
    everyone = set(into.faces.values_list("track_id", flat=True)) | set(
        moving.values_list("track_id", flat=True)
    )
    if shares_a_frame(everyone, everyone):
        raise CurationError(
            "These people are on screen together in one frame: they cannot be one person."
        )
    moved_ids = list(moving.values_list("id", flat=True))
    people = [into.id, *(p.id for p in others)]
    with recorded(Kind.MERGE, user, people=people, faces=moved_ids) as record:
        record.summary = f"{', '.join(map(str, others))} merged into {into}"
        moving.update(person=into)
        if not into.name:
            named = next((p for p in others if p.name), None)
            if named:
                into.name, into.named_by_curator = named.name, True
        into.locked = True
        into.save()
        Person.objects.filter(id__in=[p.id for p in others]).delete()
        refresh_cover_faces({into.id})
        _sync_index_after_commit(moved_ids, hidden_of=[into.id])
    return _fresh(into)


def split_faces(face_ids: Iterable[int], *, user=None) -> Person:
    """These faces (with their whole tracks) become a new person of their own, e.g. to undo a
    wrong grouping; both the new person and the ones they came from are locked."""
    _, faces = _track_faces(face_ids)
    moving = Face.objects.filter(id__in=faces, is_not_face=False)
    sources = set(moving.values_list("person_id", flat=True)) - {None}
    with recorded(Kind.SPLIT, user, people=sources, faces=faces) as record:
        new_person = Person.objects.create(locked=True)
        moved_ids = list(moving.values_list("id", flat=True))
        moving.update(person=new_person)
        record.summary = f"{len(moved_ids)} face(s) split into a new person {new_person.id}"
        Person.objects.filter(id__in=sources).update(locked=True)
        Person.objects.filter(id__in=sources).delete_left_empty()
        refresh_cover_faces({new_person.id, *sources})
        _sync_index_after_commit(moved_ids)
    return _fresh(new_person)


def reject_faces(face_ids: Iterable[int], person: Person, *, user=None) -> int:
    """ "Not this person": these faces' tracks leave the person for good (no grouping ever puts
    them back) and are grouped again among everyone else. Returns the faces that left."""
    track_ids, faces = _track_faces(face_ids)
    leaving = Face.objects.filter(id__in=faces, person=person)
    leaving_ids = list(leaving.values_list("id", flat=True))
    if not leaving_ids:
        raise CurationError(f"None of these faces are {person}'s.")
    with recorded(Kind.REJECT, user, people=[person.id], faces=faces) as record:
        record.summary = f"{len(leaving_ids)} face(s) are not {person}"
        for track_id in set(leaving.values_list("track_id", flat=True)):
            TrackRejection.objects.get_or_create(track_id=track_id, person=person)
        leaving.update(person=None)
        _lock(person)
        assign_people_to_tracks(track_ids)
        refresh_cover_faces({person.id})
        _sync_index_after_commit(faces)
    return len(leaving_ids)


def mark_not_faces(face_ids: Iterable[int], *, user=None) -> int:
    """ "Not a face": these crops leave their person, grouping and search, and are kept for the
    record (`restore_faces` takes it back)."""
    face_ids = list(Face.objects.filter(id__in=set(face_ids)).values_list("id", flat=True))
    if not face_ids:
        raise CurationError("None of these faces exist.")
    owners = set(Face.objects.filter(id__in=face_ids).values_list("person_id", flat=True))
    with recorded(Kind.NOT_A_FACE, user, people=owners - {None}, faces=face_ids) as record:
        record.summary = f"{len(face_ids)} crop(s) marked as not a face"
        Face.objects.filter(id__in=face_ids).update(is_not_face=True, person=None)
        store_track_templates(
            set(Face.objects.filter(id__in=face_ids).values_list("track_id", flat=True))
        )
        Person.objects.filter(id__in=owners - {None}).delete_left_empty()
        refresh_cover_faces(owners - {None})
        _sync_index_after_commit(face_ids)
    return len(face_ids)


def restore_faces(face_ids: Iterable[int], *, user=None) -> int:
    """Faces marked "not a face" by mistake: they are faces again, and grouped like new ones."""
    restoring = Face.objects.filter(id__in=set(face_ids), is_not_face=True)
    restored_ids = list(restoring.values_list("id", flat=True))
    if not restored_ids:
        raise CurationError("None of these are marked as not a face.")
    track_ids = set(restoring.values_list("track_id", flat=True))
    with recorded(Kind.RESTORE_FACE, user, faces=restored_ids) as record:
        record.summary = f"{len(restored_ids)} crop(s) are faces after all"
        restoring.update(is_not_face=False)
        store_track_templates(track_ids)
        assign_people_to_tracks(track_ids)
        _sync_index_after_commit(restored_ids)
    return len(restored_ids)


def delete_person(person: Person, *, user=None) -> int:
    """Remove a person; their faces are grouped again as if new. Returns how many."""
    faces = list(person.faces.values_list("id", flat=True))
    track_ids = set(person.faces.values_list("track_id", flat=True))
    with recorded(Kind.DELETE_PERSON, user, people=[person.id], faces=faces) as record:
        record.summary = f"{person} deleted; {len(faces)} face(s) grouped again"
        Face.objects.filter(id__in=faces).update(person=None)
        Person.objects.filter(id=person.id).delete()
        assign_people_to_tracks(track_ids)
        _sync_index_after_commit(faces)
    return len(faces)


def regroup_unassigned(*, user=None) -> int:
    """Group the faces that have no person (left by "not this person", a deletion, or a failed
    grouping) as new ones are grouped: among themselves, or into people they are close to."""
    unassigned = Face.objects.filter(person__isnull=True, is_not_face=False)
    faces = list(unassigned.values_list("id", flat=True))
    if not faces:
        return 0
    track_ids = set(unassigned.values_list("track_id", flat=True))
    with recorded(Kind.REGROUP_UNASSIGNED, user, faces=faces) as record:
        record.summary = f"{len(faces)} unassigned face(s) grouped"
        assign_people_to_tracks(track_ids)
        _sync_index_after_commit(faces)
    return len(faces)


def mark_different_people(person: Person, other: Person, *, user=None) -> None:
    """ "Different people" for a suggested merge: never suggested again, and both are locked so
    that grouping never merges them either."""
    if person.id == other.id:
        raise CurationError("A person cannot be different from themselves.")
    first, second = sorted((person, other), key=lambda p: p.id)
    with recorded(Kind.DIFFERENT_PEOPLE, user, people=[first.id, second.id]) as record:
        record.summary = f"{first} and {second} are different people"
        DifferentPeople.objects.get_or_create(person_a=first, person_b=second)
        _lock(first, second)


# --- Undo ---------------------------------------------------------------------------------------


def undo(action: CurationAction | None = None, *, user=None) -> CurationAction:
    """Undo a decision (by default the latest): exactly what it changed is put back."""
    action = action or latest_undoable()
    if action is None:
        raise UndoRefused("There is no decision to undo.")
    people, faces = restore_before(action, user)
    transaction.on_commit(lambda: index_sync.sync_faces(faces, people))
    action.refresh_from_db()
    return action
