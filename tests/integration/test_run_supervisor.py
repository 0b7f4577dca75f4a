"""`complaints run` (the embedded default) keeps the whole stack up: a dead broker comes back with its topics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.platform.embedded import free_port
from tests.conftest import ADMIN_TOKEN, REPO
from tests.e2e.test_pipeline import wait_routed

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pids_with(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def embedded_run(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, int, Path]]:
    api_port, broker_port = free_port(), free_port()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = dict(os.environ)
    env.update({
        "COMPLAINTS_DATA_DIR": str(tmp_path),
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "COMPLAINTS_REDIS_URL": redis_url,
        "COMPLAINTS_REDIS_PREFIX": prefix + ":",
        "COMPLAINTS_BROKER_PORT": str(broker_port),
        "COMPLAINTS_API_PORT": str(api_port),
        "COMPLAINTS_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPLAINTS_SESSION_TIMEOUT_S": "6",
        "COMPLAINTS_ROUTE_TIMEOUT_S": "600",  # the stream, not the reconciler, must route here
        "COMPLAINTS_ROUTER_GROUP": f"router-{prefix}",
        "COMPLAINTS_TRACKER_GROUP": f"tracker-{prefix}",
    })
    stderr = tmp_path / "run.err"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "run"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield f"http://127.0.0.1:{api_port}", broker_port, stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def post_until_ticketed(base: str, text: str, timeout_s: float = 90) -> str:
    deadline = time.monotonic() + timeout_s
    key = uuid.uuid4().hex
    while True:
        try:
            r = httpx.post(f"{base}/api/v1/complaints", json={"channel": "hotline", "text": text, "phone": "13812345678"},
                           headers={**HEADERS, "Idempotency-Key": key}, timeout=10)
            if r.status_code == 201:
                return str(r.json()["ticket_no"])
            assert r.status_code == 503, r.text  # only "not now" is acceptable while something restarts
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "no ticket"
        time.sleep(0.5)


@pytest.mark.timeout(240)
def test_run_restarts_a_dead_embedded_broker_and_its_topics(embedded_run: tuple[str, int, Path]) -> None:
    base, broker_port, stderr = embedded_run
    first = post_until_ticketed(base, "如城街道花园社区门口有人占道摆摊卖水果")
    assert wait_routed(base, HEADERS, first, timeout_s=90)["routed_by"] == "stream"

    brokers = pids_with(f"tcp://127.0.0.1:{broker_port}")
    assert len(brokers) == 1, brokers
    os.kill(brokers[0], signal.SIGKILL)
    # A complaint ticketed in the instant the broker dies can die with it (the reconciler's job,
    # after ROUTE_TIMEOUT_S: tests/integration/test_chaos.py).  Here: the broker the supervisor
    # starts again, and a stream that works on it.
    deadline = time.monotonic() + 60
    while not [p for p in pids_with(f"tcp://127.0.0.1:{broker_port}") if p not in brokers]:
        assert time.monotonic() < deadline, "the broker was not started again"
        time.sleep(0.2)

    second = post_until_ticketed(base, "白蒲镇唐堡村有个工地晚上十一点还在打桩")
    case = wait_routed(base, HEADERS, second, timeout_s=90)
    assert case["routed_by"] == "stream"
    assert case["unit"] == "SQ_BAIPU"
    restarted = pids_with(f"tcp://127.0.0.1:{broker_port}")
    assert len(restarted) == 1 and restarted != brokers
    err = stderr.read_text()
    assert "tansu exited" in err
    # the services were started afresh: offsets of the lost log must not reach the new broker,
    # and no producer may create a topic before the plan's topics exist
    assert all(f"{name} exited (-9)" in err for name in ("worker", "tracker", "api")), err[-2000:]
