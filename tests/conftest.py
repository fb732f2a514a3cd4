"""Test set-up: a throwaway data folder per session, the real models, the shared real data."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
VIDEOS = SHARED_DATA / "videos"
PEOPLE = SHARED_DATA / "people"

# The data folder of a test run is set in the conftest.py at the top of the repository.


def pytest_addoption(parser):
    parser.addoption(
        "--e2e", action="store_true", help="also run tests/e2e: the pages in a real Chromium"
    )


def pytest_ignore_collect(collection_path, config):
    # The browser tests need Chromium and a running server: `make test-e2e` runs them.
    if collection_path.name == "e2e" and not config.getoption("--e2e"):
        return True
    return None


def pytest_configure(config):
    if not VIDEOS.is_dir():
        raise pytest.UsageError(f"the shared test data is missing: {SHARED_DATA}")


@pytest.fixture(scope="session")
def face_engine():
    from catalog.engine import get_face_engine

    return get_face_engine()


def empty_catalog() -> None:
    """Remove every row the catalog tests create, and the vectors the index holds for them."""
    from catalog.models import Person, Video
    from ingestion.models import IngestJob
    from search.services.index_maintenance import rebuild_index

    Video.objects.all().delete()
    Person.objects.all().delete()
    IngestJob.objects.all().delete()
    rebuild_index("SFace")  # the test settings' model; with no faces left: an empty index


def assert_track_index_matches_database() -> None:
    """The index of track templates holds exactly the tracks with a face that is a face, each
    with its stored template, its video and the person its faces have now."""
    import numpy as np

    from catalog.models import Track
    from catalog.services.catalog_tracks import track_people
    from catalog.services.index_sync import get_track_index

    expected = track_people(Track.objects.values_list("id", flat=True), "SFace")
    index = get_track_index("SFace", 128)
    assert index.face_ids() == set(expected)
    for track in Track.objects.filter(id__in=list(expected)):
        hits = index.search(np.frombuffer(track.template, np.float32), limit=3)
        hit = next(hit for hit in hits if hit.face_id == track.id)
        assert (hit.video_id, hit.person_id) == expected[track.id], track
        assert hit.similarity > 1 - 1e-5, track  # its template now, not one before a change


def person_at(video_name: str, time_s: float):
    """The person whose track is on screen at that moment (kept faces may be from other times)."""
    from catalog.models import Person

    return (
        Person.objects.filter(
            faces__video__original_name=video_name,
            faces__track__start_time_s__lte=time_s,
            faces__track__end_time_s__gte=time_s,
        )
        .distinct()
        .get()
    )


@pytest.fixture(scope="module")
def all_videos_ingested(django_db_setup, django_db_blocker):
    """Every shared video ingested with the command a user types, once per test module."""
    from django.core.management import call_command

    videos = sorted(VIDEOS.glob("*.mp4")) + sorted(VIDEOS.glob("*.avi"))
    with django_db_blocker.unblock():
        empty_catalog()
        call_command("ingest", *map(str, videos))
        yield videos
        empty_catalog()


def true_name_of_each_person() -> dict[int, str]:
    """The ground-truth name most of a person's scored detections carry."""
    from collections import Counter

    from catalog.models import Face, Track, Video
    from evaluation.scoring import VideoTruth, name_track_detections

    votes: dict[int, Counter] = {}
    for track_id, person_id in Face.objects.values_list("track_id", "person_id"):
        votes.setdefault(track_id, Counter())[person_id] += 1
    person_of_track = {t: c.most_common(1)[0][0] for t, c in votes.items()}
    names: dict[int, Counter] = {}
    for video in Video.objects.all():
        truth = VideoTruth.load(VIDEOS / f"{Path(video.original_name).stem}.truth.json")
        tracks = Track.objects.filter(video=video).values_list("id", "detections")
        for name, track_id in name_track_detections(truth, tracks):
            names.setdefault(person_of_track[track_id], Counter())[name] += 1
    return {person: counts.most_common(1)[0][0] for person, counts in names.items()}


@pytest.fixture
def slideshows():
    """slideshow_1 (Obama, Lacamoire, Harington, Leslie) and slideshow_2 (Biden, Obama,
    Harington, Lacamoire) ingested for one test, as a user would."""
    from django.core.management import call_command

    empty_catalog()
    call_command("ingest", str(VIDEOS / "slideshow_1.mp4"), str(VIDEOS / "slideshow_2.mp4"))
    yield
    empty_catalog()


@pytest.fixture
def staff_client(client, django_user_model):
    """A browser logged in as a staff curator (who is `staff_client.user`)."""
    user = django_user_model.objects.create_user(
        "curator", password="a long test password", is_staff=True, is_superuser=True
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def api_user(django_user_model):
    return django_user_model.objects.create_user("curator", password="a long test password")


@pytest.fixture
def api_client(api_user):
    """A client that authenticates as a script would: with a DRF token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=api_user).key}")
    return client


@pytest.fixture
def run_jobs_in_process(monkeypatch):
    """django-q2 runs queued tasks with its worker code in this process, as they are queued."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def web_server(tmp_path):
    """A plain web server on 127.0.0.1 serving a real video at /clip.mp4."""
    import functools
    import http.server
    import shutil
    import threading

    shutil.copy(VIDEOS / "talking_head_2.mp4", tmp_path / "clip.mp4")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
