"""The record of a curator's decisions (`CurationAction`) and undoing them.

Every curation operation runs inside `recorded(...)`: the state of what it may touch (people,
faces, "not this person" marks and "different people" pairs) is taken before and after, so the
log says exactly what changed, and undoing puts the "before" back. An action is undone only while
what it touched is still as it left it; otherwise the undo is refused with the reason, and
nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import CurationAction, DifferentPeople, Face, Person, TrackRejection
from catalog.services.catalog_tracks import store_track_templates
from catalog.services.clustering import hold_grouping_lock

PERSON_FIELDS = ("name", "named_by_curator", "locked", "hidden", "cover_face_id")


class UndoRefused(ValueError):
    """The action cannot be undone (already undone, or changed since); the message says why."""


def _people_state(person_ids: Iterable[int]) -> dict[str, dict | None]:
    ids = {int(i) for i in person_ids}
    found = {
        row["id"]: {field: row[field] for field in PERSON_FIELDS}
        for row in Person.objects.filter(id__in=ids).values("id", *PERSON_FIELDS)
    }
    return {str(i): found.get(i) for i in sorted(ids)}


def _faces_state(face_ids: Iterable[int]) -> dict[str, dict]:
    rows = Face.objects.filter(id__in=set(face_ids)).values_list("id", "person_id", "is_not_face")
    return {str(i): {"person": p, "is_not_face": n} for i, p, n in sorted(rows)}


def _rejections(face_ids: Iterable[int]) -> list[list[int]]:
    tracks = Face.objects.filter(id__in=set(face_ids)).values("track_id")
    pairs = TrackRejection.objects.filter(track_id__in=tracks).values_list("track_id", "person_id")
    return sorted([list(pair) for pair in pairs])


def _different(person_ids: Iterable[int]) -> list[list[int]]:
    ids = set(person_ids)
    pairs = DifferentPeople.objects.filter(person_a_id__in=ids, person_b_id__in=ids)
    return sorted([list(pair) for pair in pairs.values_list("person_a_id", "person_b_id")])


def snapshot(person_ids: Iterable[int], face_ids: Iterable[int]) -> dict:
    person_ids, face_ids = set(person_ids), set(face_ids)
    return {
        "people": _people_state(person_ids),
        "faces": _faces_state(face_ids),
        "rejections": _rejections(face_ids),
        "different": _different(person_ids),
    }


class ActionRecord:
    """What one operation touches: the people and faces it names, and the people its faces end
    up with; the "after" state covers all of it."""

    def __init__(self, kind: str, user, people: Iterable[int], faces: Iterable[int]) -> None:
        self.kind = kind
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.person_ids = {int(p) for p in people if p is not None}
        self.face_ids = {int(f) for f in faces}
        self.before = snapshot(self.person_ids, self.face_ids)
        # People with a larger id than this are created by the operation.
        self.last_person_id = Person.objects.aggregate(last=Max("id"))["last"] or 0
        self.summary = ""
        self.action: CurationAction | None = None

    def finish(self) -> CurationAction:
        # Faces may end up with people the operation did not name: ones it created (nobody
        # before it), or existing ones grouping added them to, whose own fields grouping never
        # changes (so their "before" is their state now).
        ends = Face.objects.filter(id__in=self.face_ids).values_list("person_id", flat=True)
        joined = {p for p in ends if p is not None} - self.person_ids
        existing = {p for p in joined if p <= self.last_person_id}
        self.before["people"] |= _people_state(existing)
        self.before["people"] |= {str(p): None for p in joined - existing}
        self.person_ids |= joined
        self.before["rejections"] = sorted(self.before["rejections"])
        self.action = CurationAction.objects.create(
            kind=self.kind,
            user=self.user,
            summary=self.summary[:500],
            before=self.before,
            after=snapshot(self.person_ids, self.face_ids),
        )
        return self.action


@contextmanager
def recorded(kind: str, user, people: Iterable[int] = (), faces: Iterable[int] = ()
             ) -> Iterator[ActionRecord]:  # fmt: skip
    """Run an operation in one transaction and log it with its before and after; no grouping
    runs meanwhile (on Postgres; SQLite writes one transaction at a time anyway)."""
    with transaction.atomic():
        hold_grouping_lock()
        record = ActionRecord(kind, user, people, faces)
        yield record
        record.finish()


def _current_matches(state: dict) -> bool:
    people = _people_state(int(i) for i in state["people"])
    return (
        people == state["people"] and _faces_state(int(i) for i in state["faces"]) == state["faces"]
    )


def latest_undoable() -> CurationAction | None:
    return CurationAction.objects.filter(undone_at__isnull=True).first()


@transaction.atomic
def restore_before(action: CurationAction, user) -> tuple[set[int], set[int]]:
    """Put back what the action changed; returns (people, faces) touched, for the index."""
    hold_grouping_lock()
    action = CurationAction.objects.select_for_update().get(pk=action.pk)
    if action.undone_at is not None:
        raise UndoRefused(f"“{action}” was already undone.")
    newer = CurationAction.objects.filter(undone_at__isnull=True, id__gt=action.id)
    if newer.exists():
        raise UndoRefused(
            f"“{action}” is not the latest decision: undo “{newer.order_by('id').last()}” first."
        )
    if not _current_matches(action.after):
        raise UndoRefused(
            f"“{action}” cannot be undone: the people or faces it changed have changed since."
        )
    before = action.before
    created = [int(i) for i, fields in before["people"].items() if fields is None]
    for person_id, fields in before["people"].items():
        if fields is None:
            continue
        values = {k: v for k, v in fields.items() if k != "cover_face_id"}
        Person.objects.update_or_create(id=int(person_id), defaults=values)
    faces = Face.objects.filter(id__in=[int(face_id) for face_id in before["faces"]])
    not_face_now = {
        str(i): (flag, track)
        for i, flag, track in faces.values_list("id", "is_not_face", "track_id")
    }
    for face_id, fields in before["faces"].items():
        Face.objects.filter(id=int(face_id)).update(
            person_id=fields["person"], is_not_face=fields["is_not_face"]
        )
    # The tracks whose "not a face" marks changed have another template now.
    store_track_templates(
        {
            track
            for face_id, (flag, track) in not_face_now.items()
            if flag != before["faces"][face_id]["is_not_face"]
        }
    )
    _restore_pairs(
        TrackRejection, "track_id", "person_id", action.after["rejections"], before["rejections"]
    )
    _restore_pairs(
        DifferentPeople, "person_a_id", "person_b_id", action.after["different"],
        before["different"],
    )  # fmt: skip
    for person_id, fields in before["people"].items():
        if fields is not None:
            Person.objects.filter(id=int(person_id)).update(cover_face_id=fields["cover_face_id"])
    Person.objects.filter(id__in=created, faces__isnull=True).delete()
    action.undone_at = timezone.now()
    action.undone_by = user if getattr(user, "is_authenticated", False) else None
    action.save(update_fields=["undone_at", "undone_by"])
    return {int(i) for i in before["people"]}, {int(i) for i in before["faces"]}


def _restore_pairs(model, first: str, second: str, after: list, before: list) -> None:
    after_pairs, before_pairs = {tuple(p) for p in after}, {tuple(p) for p in before}
    for a, b in after_pairs - before_pairs:
        model.objects.filter(**{first: a, second: b}).delete()
    for a, b in before_pairs - after_pairs:
        model.objects.get_or_create(**{first: a, second: b})
