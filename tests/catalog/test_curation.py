"""A curator's operations on real faces: each changes the database, the index and search as the
curator meant, is logged, can be undone, and survives re-clustering."""

import pytest
from django.core.management import call_command

from catalog.models import CurationAction, Face, Person, TrackRejection
from catalog.services import curation
from catalog.services.clustering import recluster_people
from catalog.services.index_sync import get_face_index
from catalog.services.suggestions import merge_suggestions
from search.services.photo_search import search_like_face
from tests.conftest import VIDEOS, assert_track_index_matches_database, person_at

# Real transactions: each operation updates the index once its transaction has committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def faces_of(person: Person) -> set[int]:
    return set(Face.objects.filter(person_id=person.id).values_list("id", flat=True))


def faces_in(video_name: str, person: Person) -> set[int]:
    return set(
        Face.objects.filter(person=person, video__original_name=video_name).values_list(
            "id", flat=True
        )
    )


def indexed_person(face_id: int) -> int | None:
    """The person the index holds for this face (its own point is its nearest neighbour)."""
    face = Face.objects.get(pk=face_id)
    hit = get_face_index(face.embedding_model, face.embedding_dim).search(face.vector, limit=1)[0]
    assert hit.face_id == face_id
    return hit.person_id


def test_a_merge_moves_every_face_and_undo_restores_the_exact_faces(slideshows):
    rose, kit = person_at("slideshow_1.mp4", 10.5), person_at("slideshow_1.mp4", 7.5)
    curation.rename_person(kit, "Kit Harington")
    rose_faces, kit_faces = faces_of(rose), faces_of(kit)
    merged = curation.merge_people(rose, [kit])
    assert faces_of(merged) == rose_faces | kit_faces
    assert merged.name == "Kit Harington" and merged.locked
    assert not Person.objects.filter(pk=kit.pk).exists()
    assert {indexed_person(f) for f in kit_faces} == {rose.id}
    assert_track_index_matches_database()

    curation.undo()
    assert faces_of(rose) == rose_faces and faces_of(kit) == kit_faces
    assert Person.objects.get(pk=kit.pk).name == "Kit Harington"
    assert Person.objects.get(pk=rose.pk).name == ""
    assert {indexed_person(f) for f in kit_faces} == {kit.id}
    assert_track_index_matches_database()


def test_a_split_makes_a_new_person_and_undo_puts_the_faces_back(slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    second_video = faces_in("slideshow_2.mp4", obama)
    assert second_video and faces_in("slideshow_1.mp4", obama), "Obama is in both slideshows"
    everything = faces_of(obama)
    new_person = curation.split_faces(second_video)
    assert faces_of(new_person) == second_video
    assert faces_of(obama) == everything - second_video
    assert new_person.locked and Person.objects.get(pk=obama.pk).locked
    assert {indexed_person(f) for f in second_video} == {new_person.id}
    assert_track_index_matches_database()

    curation.undo()
    assert faces_of(obama) == everything
    assert not Person.objects.filter(pk=new_person.pk).exists()
    assert {indexed_person(f) for f in second_video} == {obama.id}
    assert_track_index_matches_database()


def test_not_this_person_is_never_put_back_by_grouping(slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    rejected = faces_in("slideshow_2.mp4", obama)
    assert curation.reject_faces(rejected, obama) == len(rejected)
    assert not faces_of(obama) & rejected
    assert Face.objects.filter(id__in=rejected, person__isnull=False).count() == len(rejected)
    assert TrackRejection.objects.filter(person=obama).exists()
    assert obama.id not in {indexed_person(f) for f in rejected}
    assert_track_index_matches_database()

    recluster_people()
    assert not faces_of(obama) & rejected
    call_command("ingest", str(VIDEOS / "slideshow_3.mp4"))  # Obama again, new faces grouped
    assert not faces_of(obama) & rejected


def test_not_a_face_leaves_people_grouping_and_search_until_restored(slideshows):
    alex = person_at("slideshow_1.mp4", 4.5)
    face = Face.objects.filter(person=alex).first()
    index = get_face_index(face.embedding_model, face.embedding_dim)
    curation.mark_not_faces([face.id])
    face.refresh_from_db()
    assert face.is_not_face and face.person_id is None
    assert face.id not in index.face_ids()
    assert_track_index_matches_database()  # (a slideshow's track: one face, now none)
    recluster_people()
    face.refresh_from_db()
    assert face.person_id is None
    assert all(m.face_id != face.id for p in search_like_face(face.id - 1 or face.id + 1)
               for m in p.best_faces)  # fmt: skip

    curation.restore_faces([face.id])
    face.refresh_from_db()
    assert not face.is_not_face and face.person_id == alex.id
    assert indexed_person(face.id) == alex.id
    assert_track_index_matches_database()


def test_reclustering_keeps_every_decision(slideshows):
    obama, alex = person_at("slideshow_1.mp4", 1.5), person_at("slideshow_1.mp4", 4.5)
    kit, rose = person_at("slideshow_1.mp4", 7.5), person_at("slideshow_1.mp4", 10.5)
    biden = person_at("slideshow_2.mp4", 1.5)
    curation.rename_person(obama, "Barack Obama")
    split = curation.split_faces(faces_in("slideshow_2.mp4", alex))
    curation.merge_people(kit, [rose])
    curation.set_person_hidden(biden, True)
    rejected = faces_in("slideshow_2.mp4", obama)
    curation.reject_faces(rejected, obama)
    not_a_face = next(iter(faces_of(alex)))
    curation.mark_not_faces([not_a_face])
    cover = sorted(faces_of(kit))[-1]
    curation.set_cover_face(Person.objects.get(pk=kit.pk), Face.objects.get(pk=cover))
    people_before = {p.id: faces_of(p) for p in Person.objects.all()}
    curated = {p.id: (p.name, p.locked, p.hidden, p.cover_face_id) for p in Person.objects.all()}

    recluster_people()
    for person_id, fields in curated.items():
        person = Person.objects.get(pk=person_id)
        assert (person.name, person.locked, person.hidden, person.cover_face_id) == fields
    for person_id in (obama.id, alex.id, kit.id, split.id, biden.id):
        assert faces_of(Person.objects.get(pk=person_id)) == people_before[person_id]
    assert not faces_of(obama) & rejected
    assert Face.objects.get(pk=not_a_face).person_id is None


def test_a_name_another_person_has_offers_the_merge(slideshows):
    kit_1, kit_2 = person_at("slideshow_1.mp4", 7.5), person_at("slideshow_1.mp4", 10.5)
    curation.rename_person(kit_1, "Kit")
    with pytest.raises(curation.NameTaken) as refused:
        curation.rename_person(kit_2, " kit ")
    assert refused.value.other == kit_1
    everyone = faces_of(kit_1) | faces_of(kit_2)
    kept = curation.rename_person(kit_2, "Kit", merge_if_taken=True)
    assert kept.id == kit_1.id and faces_of(kept) == everyone


def test_deleting_a_person_regroups_their_faces(slideshows):
    rose = person_at("slideshow_1.mp4", 10.5)
    faces = faces_of(rose)
    curation.delete_person(rose)
    assert not Person.objects.filter(pk=rose.pk).exists()
    owners = set(Face.objects.filter(id__in=faces).values_list("person_id", flat=True))
    assert len(owners) == 1 and None not in owners  # one new person, as grouping would make


def test_undo_is_refused_for_an_older_decision_or_one_changed_since(slideshows):
    rose, kit = person_at("slideshow_1.mp4", 10.5), person_at("slideshow_1.mp4", 7.5)
    curation.rename_person(rose, "Rose")
    curation.rename_person(kit, "Kit")
    older = CurationAction.objects.order_by("id").first()
    with pytest.raises(curation.UndoRefused, match="not the latest"):
        curation.undo(older)
    latest = CurationAction.objects.order_by("id").last()
    Person.objects.filter(pk=kit.pk).update(name="Someone else")  # a change outside curation
    with pytest.raises(curation.UndoRefused, match="changed since"):
        curation.undo(latest)
    assert Person.objects.get(pk=kit.pk).name == "Someone else"


def test_every_decision_is_logged_with_its_curator_and_before_and_after(
    slideshows, django_user_model
):
    user = django_user_model.objects.create_user("curator", password="a long test password")
    rose = person_at("slideshow_1.mp4", 10.5)
    curation.rename_person(rose, "Rose Leslie", user=user)
    action = CurationAction.objects.get()
    assert (action.kind, action.user) == (CurationAction.Kind.RENAME, user)
    assert action.before["people"][str(rose.id)]["name"] == ""
    assert action.after["people"][str(rose.id)]["name"] == "Rose Leslie"


def test_a_different_people_suggestion_never_comes_back(slideshows):
    obama = person_at("slideshow_1.mp4", 1.5)
    second = curation.split_faces(faces_in("slideshow_2.mp4", obama))
    suggested = merge_suggestions(obama)
    assert suggested and suggested[0].other_id == second.id
    curation.mark_different_people(obama, second)
    assert second.id not in [s.other_id for s in merge_suggestions(obama)]
    recluster_people()
    assert second.id not in [s.other_id for s in merge_suggestions(obama)]
    assert faces_of(second) and faces_of(obama)  # never merged by grouping either
