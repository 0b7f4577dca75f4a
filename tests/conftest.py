"""Shared fixtures: real Tansu (started here on a free port), the machine's PostgreSQL and Redis.

A missing PostgreSQL or Redis is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from services.platform.embedded import EmbeddedProcess, free_port, start_tansu
from services.platform.kafka import ensure_topics

PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_TOKEN = "test-admin-token-" + uuid.uuid4().hex[:8]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tansu() -> Iterator[EmbeddedProcess]:
    broker = start_tansu(log_dir=REPO / "var" / "test-logs")
    ensure_topics(broker.url, partitions=3)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    client.ping()  # fails the test if Redis is not there
    client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


def _new_pg_database() -> str:
    name = f"c12319_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = _new_pg_database()
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    _drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'complaints.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


class RunningStack:
    """The worker, tracker and API as real processes against the given broker, database and Redis."""

    def __init__(self, env: dict[str, str], api_port: int, log_dir: Path) -> None:
        self.env = env
        self.api_port = api_port
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.base_url = f"http://127.0.0.1:{api_port}"
        self.headers = {"Authorization": f"Bearer {env['COMPLAINTS_ADMIN_TOKEN']}"}

    def start(self, name: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        argv = [sys.executable, "-m", "services.cli", name]
        if name == "api":
            argv += ["--port", str(self.api_port)]
        self.procs[name] = subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def wait_api(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("API did not come up; see " + str(self.log_dir / "api.log"))

    def logs(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")


def stack_env(*, bootstrap: str, database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "COMPLAINTS_KAFKA_BOOTSTRAP": bootstrap,
        "COMPLAINTS_DATABASE_URL": database_url,
        "COMPLAINTS_REDIS_URL": redis_url,
        "COMPLAINTS_REDIS_PREFIX": prefix,
        "COMPLAINTS_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPLAINTS_LOG_FORMAT": "text",
        "COMPLAINTS_SESSION_TIMEOUT_S": "6",
        "COMPLAINTS_ROUTER_GROUP": f"router-{prefix.rstrip(':')}",
        "COMPLAINTS_TRACKER_GROUP": f"tracker-{prefix.rstrip(':')}",
    })
    env.update({f"COMPLAINTS_{k.upper()}": v for k, v in extra.items()})
    return env


@pytest.fixture
def stack_factory(redis_url: str, tmp_path: Path) -> Iterator[object]:
    """Each stack gets its own Tansu broker, so tests never see each other's records."""
    stacks: list[RunningStack] = []
    brokers: list[EmbeddedProcess] = []

    def make(database_url: str, services: tuple[str, ...] = ("worker", "tracker", "api"), **extra: str) -> RunningStack:
        prefix = f"t{uuid.uuid4().hex[:10]}:"
        broker = start_tansu(log_dir=tmp_path)
        brokers.append(broker)
        ensure_topics(broker.url, partitions=3)
        env = stack_env(bootstrap=broker.url, database_url=database_url, redis_url=redis_url, prefix=prefix, **extra)
        subprocess.run([sys.executable, "-m", "services.cli", "migrate"], env=env, check=True, capture_output=True)
        stack = RunningStack(env, free_port(), tmp_path / f"logs-{prefix.rstrip(':')}")
        for name in services:
            stack.start(name)
        stacks.append(stack)
        if "api" in services:
            stack.wait_api()
        return stack

    yield make
    for s in stacks:
        s.stop()
    for b in brokers:
        b.stop()
