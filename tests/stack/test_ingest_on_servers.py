"""Real videos ingested on the production stack: Postgres, two django-q2 workers on Redis, crops
and videos in S3 (moto's server). The same videos on the one-machine defaults (SQLite, local
folder, run in the foreground) are the reference the people found are compared with.

What is and is not covered for the index: qdrant-client's ':memory:' mode lives inside one
process, so separate worker processes cannot share it. The workers therefore write the embedded
Edge index of their shared data folder (under its lock, as processes without an index owner do);
the Qdrant-server code path (`ServerFaceIndex`: collection creation, upsert, filtered search,
deletes) is run by this process against ':memory:', rebuilt from Postgres by `reindex`. Not
exercised here: a real server's network (timeouts, API key), payload indexes (the local mode
accepts and ignores them), sharding and replication.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from tests.conftest import PEOPLE, VIDEOS, empty_catalog, true_name_of_each_person
from tests.stack.conftest import wait_for_jobs, worker_processes
from tests.stack.servers import REPO

pytestmark = pytest.mark.slow

# Cross-video people (barack_obama in four of them, alex_lacamoire, kit_harington, rose_leslie,
# joe_biden, alexandria_ocasio_cortez in two), a crowd-free real clip and two one-face clips.
VIDEO_NAMES = [
    "slideshow_1.mp4",
    "slideshow_2.mp4",
    "slideshow_3.mp4",
    "short_hamilton_clip.mp4",
    "aoc_speech_a.mp4",
    "aoc_speech_b.mp4",
]
# Photos no video was built from, of people in these videos.
QUERY_PHOTOS = {
    "barack_obama": "obama2.jpg",
    "joe_biden": "biden2.jpg",
    "alex_lacamoire": "alex_lacamoire1.jpg",
    "kit_harington": "john2.jpeg",
    "rose_leslie": "img2.jpg",
}
WORKERS = 2


@dataclass(frozen=True)
class Ingest:
    job_ids: list[int]
    worker_logs: list[Path]
    reference_people: set[frozenset]  # the same videos on SQLite


def people_of_tracks(rows) -> set[frozenset]:
    """People as sets of (video name, track number): comparable across two catalogs."""
    tracks_of_person: dict[int, set] = defaultdict(set)
    for video_name, track_index, person_id in rows:
        tracks_of_person[person_id].add((video_name, track_index))
    return {frozenset(tracks) for tracks in tracks_of_person.values()}


def ingest_on_sqlite(videos: list[Path], folder: Path) -> set[frozenset]:
    """The same videos through `manage.py ingest` on the defaults: SQLite, local files, Edge."""
    stack_variables = ("DATABASE_URL", "REDIS_URL", "FAAAAACES_STORAGE", "S3_STORE_VIDEOS")
    environment = {k: v for k, v in os.environ.items() if k not in stack_variables}
    environment["FAAAAACES_DATA_DIR"] = str(folder)
    for command in (["migrate"], ["ingest", *map(str, videos)]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO, env=environment, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(folder / "faaaaaces.sqlite3") as database:
        rows = database.execute(
            "SELECT video.original_name, track.index_in_video, face.person_id"
            " FROM catalog_face face JOIN catalog_video video ON video.id = face.video_id"
            " JOIN catalog_track track ON track.id = face.track_id"
        ).fetchall()
    return people_of_tracks(rows)


def wait_for_clusters(logs: list[Path], timeout_s: float = 120) -> None:
    """Both clusters up before anything is queued, so neither finds the queue to itself."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(b"running." in log.read_bytes() for log in logs):
            return
        time.sleep(0.5)
    raise AssertionError("the workers did not start: " + logs[0].read_text()[-2000:])


@pytest.fixture(scope="module")
def ingested(django_db_setup, django_db_blocker, tmp_path_factory):
    from catalog.models import Video
    from catalog.services.videos import delete_video
    from ingestion.models import IngestJob

    videos = [VIDEOS / name for name in VIDEO_NAMES]
    reference = ingest_on_sqlite(videos, tmp_path_factory.mktemp("sqlite-catalog"))
    logs = tmp_path_factory.mktemp("workers")
    with django_db_blocker.unblock():
        empty_catalog()
        with worker_processes(WORKERS, logs) as worker_logs:
            wait_for_clusters(worker_logs)
            call_command("ingest", "--queue", *map(str, videos))
            job_ids = list(IngestJob.objects.values_list("id", flat=True))
            wait_for_jobs(job_ids, timeout_s=600)
        yield Ingest(job_ids, worker_logs, reference)
        for video in Video.objects.all():
            delete_video(video)  # its objects too: the bucket is left as it was found
        empty_catalog()


def test_both_workers_took_jobs_from_the_redis_broker(ingested):
    from ingestion.models import IngestJob

    assert settings.Q_CLUSTER["redis"] == os.environ["REDIS_URL"]
    jobs = IngestJob.objects.filter(id__in=ingested.job_ids)
    assert [job.error for job in jobs if job.status != IngestJob.Status.DONE] == []
    processed = [
        re.findall(r"Processed '[\w.]+' \((\S+)\)", log.read_text()) for log in ingested.worker_logs
    ]
    assert all(processed), f"a worker processed nothing: {processed}"
    assert sorted(name for names in processed for name in names) == sorted(
        f"{job.kind}-job-{job.id}" for job in jobs
    )


def test_the_catalog_is_in_postgres(ingested):
    from catalog.models import Face, Person, Track, Video

    assert connection.vendor == "postgresql"
    assert sorted(Video.objects.values_list("original_name", flat=True)) == sorted(VIDEO_NAMES)
    assert set(Video.objects.values_list("status", flat=True)) == {Video.Status.READY}
    assert Face.objects.count() > 30 and Track.objects.count() > 10
    assert not Face.objects.filter(person__isnull=True).exists()
    assert Person.objects.count() >= 8
    assert_face_totals_true()


def assert_face_totals_true() -> None:
    """Postgres's triggers kept each person's face total as the workers grouped their faces."""
    from django.db.models import Count

    from catalog.models import Person

    totals = dict(Person.objects.values_list("id", "face_total"))
    assert totals == dict(Person.objects.annotate(n=Count("faces")).values_list("id", "n"))


def test_crops_and_videos_are_in_the_bucket_and_nothing_in_local_media(ingested, bucket):
    from catalog.models import Face, Video
    from ingestion.services.intake import scratch_dir

    crops = set(Face.objects.values_list("crop", flat=True))
    assert len(crops) == Face.objects.count()
    assert bucket.keys("faces/") == crops
    assert bucket.keys("videos/") == set(Video.objects.values_list("file", flat=True))
    assert bucket.read(next(iter(crops)))[:3] == b"\xff\xd8\xff"  # a JPEG
    local_files = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert local_files == []
    assert [p for p in scratch_dir().rglob("*") if p.is_file()] == []  # temporary copies gone


def test_two_workers_on_postgres_find_the_same_people_as_one_process_on_sqlite(ingested):
    from catalog.models import Face

    rows = Face.objects.values_list("video__original_name", "track__index_in_video", "person_id")
    assert people_of_tracks(rows) == ingested.reference_people


def test_every_face_has_its_vector_in_the_index(ingested):
    from catalog.models import Face
    from search.services.index_maintenance import compare_index

    comparison = compare_index("SFace")
    assert comparison.consistent
    assert comparison.points_in_index == Face.objects.count()


def test_search_by_photo_finds_the_right_person(ingested):
    from search.services.photo_search import search_by_photo

    names = true_name_of_each_person()
    for identity, photo in QUERY_PHOTOS.items():
        found = search_by_photo((PEOPLE / identity / photo).read_bytes(), top=3).people
        assert names[found[0].person_id] == identity, photo


def test_the_qdrant_server_backend_holds_and_searches_the_catalog(ingested):
    from catalog.models import Face
    from catalog.services.index_sync import collection_name, get_face_index, get_track_index
    from search.services.index_maintenance import compare_index
    from search.services.photo_search import search_by_photo

    photo = (PEOPLE / "barack_obama" / QUERY_PHOTOS["barack_obama"]).read_bytes()
    on_edge = search_by_photo(photo, top=3).people[0].person_id
    with override_settings(QDRANT_BACKEND="server", QDRANT_URL=":memory:"):
        # The collection is created on first use. qdrant-client's local mode accepts payload
        # indexes but keeps none, and says so: that they are asked for is what shows here.
        with pytest.warns(UserWarning, match="Payload indexes"):
            call_command("reindex", verbosity=0)
        assert compare_index("SFace").consistent
        index = get_face_index("SFace", 128)
        assert index.count() == Face.objects.count()
        tracks = Face.objects.values("track_id").distinct().count()
        assert get_track_index("SFace", 128).count() == tracks  # what grouping asks
        described = index._client.get_collection(collection_name("SFace", 128))
        assert described.config.params.vectors.size == 128
        assert described.config.params.vectors.distance == "Cosine"
        assert search_by_photo(photo, top=3).people[0].person_id == on_edge


def test_crop_urls_are_presigned_and_expire(ingested, api_client, bucket):
    response = api_client.get("/api/faces/")
    assert response.status_code == 200
    url = response.json()["results"][0]["crop_url"]
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert url.startswith(settings.S3_STORAGE["OPTIONS"]["endpoint_url"])
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith(settings.S3_STORAGE["OPTIONS"]["access_key"])
    assert int(query["X-Amz-Expires"]) == settings.S3_STORAGE["OPTIONS"]["querystring_expire"]
    assert query["X-Amz-Signature"]
    key = parts.path.split("/", 2)[2]  # path-style: /bucket/key
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == bucket.read(key)
    # The pages (behind their login) link to crops the same way.
    from django.contrib.auth.models import User

    browser = Client()
    browser.force_login(User.objects.get_or_create(username="viewer")[0])
    page = browser.get("/").content.decode()
    covers = re.findall(r'<img src="([^"]+)"', page)
    assert covers and all("X-Amz-Signature=" in src for src in covers)
    # Private: the object grants nobody but its owner (no public-read ACL, no AllUsers grant).
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    assert [g["Grantee"].get("URI") for g in grants if "URI" in g["Grantee"]] == []


def test_a_video_in_s3_is_read_through_a_temporary_copy_removed_whatever_happens(ingested):
    from catalog.models import Video
    from ingestion.services.intake import local_video_path

    video = Video.objects.get(original_name="aoc_speech_b.mp4")
    with local_video_path(video) as path:
        assert path.read_bytes() == (VIDEOS / "aoc_speech_b.mp4").read_bytes()
        copy = path
    assert not copy.exists()
    with pytest.raises(RuntimeError), local_video_path(video) as path:
        copy = path
        raise RuntimeError("the pipeline failed halfway")
    assert not copy.exists()


def waits_for_the_grouping_lock(operation) -> None:
    """Run `operation` in a thread of its own while another connection (a worker grouping)
    holds the grouping's lock: it must wait until that transaction ends, then finish."""
    import threading

    import psycopg

    from catalog.services.clustering import GROUPING_LOCK_KEY

    finished = threading.Event()

    def run_in_another_connection():
        operation()
        connection.close()  # this thread's own connection
        finished.set()

    with psycopg.connect(os.environ["DATABASE_URL"]) as grouping_worker:
        grouping_worker.execute("SELECT pg_advisory_xact_lock(%s)", [GROUPING_LOCK_KEY])
        thread = threading.Thread(target=run_in_another_connection)
        thread.start()
        assert not finished.wait(timeout=2)  # waiting for the worker's transaction
    thread.join(timeout=60)  # leaving the block committed it: the lock is free
    assert finished.is_set()


def test_a_grouping_waits_while_another_process_groups(ingested):
    """Two workers never group at once (they would split a person between them)."""
    from catalog.models import Video
    from catalog.services.clustering import assign_people_to_video
    from tests.conftest import person_at

    video = Video.objects.get(original_name="aoc_speech_a.mp4")
    before = person_at("aoc_speech_a.mp4", 4.0).id
    waits_for_the_grouping_lock(lambda: assign_people_to_video(video))
    assert person_at("aoc_speech_a.mp4", 4.0).id == before  # regrouped to the same person


def test_a_curators_rename_waits_while_a_worker_groups(ingested):
    """A curation operation takes the grouping's lock: a worker's grouping and a curator's
    change never interleave (either could undo what the other wrote)."""
    from catalog.models import Person
    from catalog.services import curation
    from tests.conftest import person_at

    person = person_at("aoc_speech_a.mp4", 4.0)
    waits_for_the_grouping_lock(
        lambda: curation.rename_person(Person.objects.get(pk=person.id), "Alexandria Ocasio-Cortez")
    )
    assert Person.objects.get(pk=person.id).name == "Alexandria Ocasio-Cortez"


def test_deleting_a_video_takes_its_objects_and_vectors_with_it(ingested, bucket):
    from catalog.models import Face, Video
    from catalog.services.videos import delete_video
    from search.services.index_maintenance import compare_index

    video = Video.objects.get(original_name="slideshow_3.mp4")
    objects = {*Face.objects.filter(video=video).values_list("crop", flat=True), video.file.name}
    assert objects <= bucket.keys()
    delete_video(video)
    assert not objects & bucket.keys()
    assert_face_totals_true()
    assert bucket.keys("faces/") == set(Face.objects.values_list("crop", flat=True))
    assert compare_index("SFace").consistent
