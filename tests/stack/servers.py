"""Real servers for `make test-stack`: Postgres, Redis and an S3 (moto's server mode), each on a
free 127.0.0.1 port in a temporary folder, started before Django reads its settings and stopped
when the run ends.

Loaded as a pytest plugin (`pytest -p tests.stack.servers tests/stack`): pytest-django imports
the settings before any conftest.py, and the settings read DATABASE_URL, REDIS_URL and S3_* from
the environment, so the servers must be up and the variables set by then.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUCKET = "faaaaaces-stack-test"
S3_KEYS = ("stack-test-access-key", "stack-test-secret-key")
DB_USER, DB_PASSWORD, DB_NAME = "faaaaaces", "stack-test-password", "faaaaaces"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(ready, what: str, process: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            if ready():
                return
        except Exception:  # not listening yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout_s} s")


def postgres_bin() -> Path:
    """The newest Postgres of the Debian packages (`apt-get install postgresql`)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise pytest.UsageError("Postgres is not installed: apt-get install postgresql")
    return found[-1].parent


@dataclass
class Servers:
    folder: Path
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self._start_postgres()
        self._start_redis()
        self._start_s3()
        data = self.folder / "data"
        data.mkdir()
        self.environment |= {
            "FAAAAACES_IGNORE_DOTENV": "1",
            "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
            "FAAAAACES_DATA_DIR": str(data),
            "FAAAAACES_MODELS_DIR": os.environ.get(
                "FAAAAACES_MODELS_DIR", str(REPO / "data" / "models")
            ),
            "FAAAAACES_STORAGE": "s3",
            "S3_STORE_VIDEOS": "1",
            "S3_BUCKET": BUCKET,
            "S3_ACCESS_KEY_ID": S3_KEYS[0],
            "S3_SECRET_ACCESS_KEY": S3_KEYS[1],
            "S3_REGION": "us-east-1",
            "S3_ADDRESSING_STYLE": "path",
            "S3_URL_EXPIRY_S": "120",
            # The workers share the embedded index of the data folder (see test_ingest_on_servers)
            "QDRANT_BACKEND": "edge",
            "LOG_LEVEL": "INFO",
        }
        for variable in ("QDRANT_URL", "QDRANT_API_KEY", "QDRANT_PATH", "FAAAAACES_SQLITE_PATH"):
            os.environ.pop(variable, None)
        os.environ.update(self.environment)

    def _spawn(self, name: str, command: list[str], **options) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (the process keeps it)
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **options
        )
        self.processes.append((name, process))
        return process

    def _start_postgres(self) -> None:
        import psycopg

        binaries = postgres_bin()
        # Postgres refuses to run as root: then it runs as the `postgres` user of the package.
        as_postgres = {}
        cluster = Path(tempfile.mkdtemp(prefix="faaaaaces-postgres-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            as_postgres = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(cluster, account.pw_uid, account.pw_gid)
        # Its own folder as working directory: initdb fails where that user cannot read the cwd.
        as_postgres["cwd"] = cluster
        self.postgres_folder = cluster
        password_file = cluster / "password"
        password_file.write_text(DB_PASSWORD)
        if "user" in as_postgres:
            os.chown(password_file, as_postgres["user"], as_postgres["group"])
        initdb = subprocess.run(
            [binaries / "initdb", "-D", cluster / "data", "-U", DB_USER, "--pwfile", password_file,
             "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync"],
            capture_output=True, text=True, **as_postgres,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr[-2000:]}")
        port = free_port()
        process = self._spawn(
            "postgres",
            [binaries / "postgres", "-D", cluster / "data", "-p", str(port), "-k", cluster,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"],
            **as_postgres,
        )  # fmt: skip
        server = f"host=127.0.0.1 port={port} user={DB_USER} password={DB_PASSWORD}"

        def accepts_connections() -> bool:
            with psycopg.connect(f"{server} dbname=postgres", connect_timeout=2):
                return True

        wait_until(accepts_connections, "postgres", process)
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DB_NAME}")
        self.environment["DATABASE_URL"] = (
            f"postgres://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{port}/{DB_NAME}"
        )

    def _start_redis(self) -> None:
        import redis

        port = free_port()
        folder = self.folder / "redis"
        folder.mkdir()
        process = self._spawn(
            "redis",
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
             "--bind", "127.0.0.1", "--dir", str(folder), "--save", "", "--appendonly", "no"],
        )  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_until(client.ping, "redis", process)
        client.close()
        self.environment["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    def _start_s3(self) -> None:
        import boto3

        port = free_port()
        process = self._spawn(
            "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        )
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=S3_KEYS[0],
            aws_secret_access_key=S3_KEYS[1],
            region_name="us-east-1",
        )
        wait_until(lambda: client.list_buckets() is not None, "moto server", process)
        client.create_bucket(Bucket=BUCKET)  # private: no ACL or policy grants anyone else
        self.environment["S3_ENDPOINT_URL"] = endpoint

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                # Postgres: SIGINT is its "fast" shutdown (SIGTERM waits for clients to leave).
                process.send_signal(signal.SIGINT if name == "postgres" else signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(getattr(self, "postgres_folder", ""), ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)


_servers: Servers | None = None


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _servers
    _servers = Servers(Path(tempfile.mkdtemp(prefix="faaaaaces-stack-")))
    try:
        _servers.start()
    except BaseException:
        _servers.stop()
        raise
    return (yield)


def pytest_report_header(config):
    if _servers:
        return [f"stack servers: {', '.join(name for name, _ in _servers.processes)}"]
    return []


def pytest_unconfigure(config):
    if _servers:
        _servers.stop()


def servers() -> Servers:
    if _servers is None:
        raise pytest.UsageError("run the stack tests with `make test-stack`")
    return _servers
