"""The stack profile (`make test-stack`): the app on Postgres, Redis, S3 and two worker processes.

The servers themselves are started by the `tests.stack.servers` plugin, before Django reads its
settings. Tests here use the database as the processes of a deployment do, in autocommit on the
one real database (no test database, no transaction rolled back around each test), so what a
worker process wrote is what the test reads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.stack.servers import REPO, servers


def pytest_collection_modifyitems(config, items):
    servers()  # a clear message when the profile is run without its servers


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)


@pytest.fixture(autouse=True)
def database(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def bucket():
    """The bucket, seen from outside the app (boto3 with the stack's keys)."""
    import boto3
    from django.conf import settings

    options = settings.S3_STORAGE["OPTIONS"]
    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    return BucketView(client, options["bucket_name"])


class BucketView:
    def __init__(self, client, name: str) -> None:
        self.client, self.name = client, name

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@contextlib.contextmanager
def worker_processes(count: int, log_folder: Path):
    """`count` django-q2 clusters (`manage.py qcluster`, one worker each) on the Redis broker, as
    on separate machines; stopped (TERM, as compose does) when the block ends."""
    environment = os.environ | {"Q_WORKERS": "1"}
    workers = []
    for number in range(count):
        log = open(log_folder / f"worker-{number}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        workers.append((process, log, log_folder / f"worker-{number}.log"))
    try:
        yield [path for _, _, path in workers]
    finally:
        for process, _, _ in workers:
            process.send_signal(signal.SIGTERM)
        for process, log, _ in workers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def wait_for_jobs(job_ids: list[int], timeout_s: float) -> None:
    from ingestion.models import IngestJob

    deadline = time.monotonic() + timeout_s
    finished = {IngestJob.Status.DONE, IngestJob.Status.FAILED}
    while time.monotonic() < deadline:
        statuses = dict(IngestJob.objects.filter(id__in=job_ids).values_list("id", "status"))
        if all(statuses.get(job_id) in finished for job_id in job_ids):
            return
        time.sleep(0.5)
    raise AssertionError(f"jobs not finished after {timeout_s} s: {statuses}")
