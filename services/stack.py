"""`complaints run`: the embedded default stack on one machine, no Docker.

Starts a Tansu broker and a bundled Redis server (unless their URLs are set),
SQLite (unless COMPLAINTS_DATABASE_URL is set), creates the topics, migrates
the database, then runs the router worker, the tracker and the API as child
processes, restarting any that dies.  Ctrl-C stops everything it started.

A composition root, not platform code: it knows every service (it starts ``services.cli worker``,
``tracker`` and ``api``) and takes the admin token's form from the tracker, so it sits next to
``services/cli.py`` and ``services.platform`` stays below the services (issue 18).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.platform.embedded import EmbeddedProcess, restart, start_redis, start_tansu
from services.platform.kafka import ensure_topics
from services.platform.migrate import upgrade
from services.platform.settings import StackSettings
from services.tracker.auth import new_token


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Stack:
    def __init__(self, settings: StackSettings) -> None:
        self.s = settings
        self.embedded: list[EmbeddedProcess] = []
        self.children: list[Child] = []
        self.env: dict[str, str] = {}
        self.topics_missing = False  # an embedded broker came back empty and its topics are not there yet
        # Held while an embedded process is being replaced (here or by the chaos harness).
        self.lock = threading.RLock()

    def start_infrastructure(self) -> None:
        s = self.s
        log_dir = Path(s.data_dir) / "logs"
        bootstrap = s.kafka_bootstrap
        if not bootstrap:
            tansu = start_tansu(s.broker_port, log_dir=log_dir)
            self.embedded.append(tansu)
            bootstrap = tansu.url
        redis_url = s.redis_url
        if not redis_url:
            redis = start_redis(s.redis_port, data_dir=Path(s.data_dir) / "redis", log_dir=log_dir)
            self.embedded.append(redis)
            redis_url = f"redis://{redis.url}/0"
        ensure_topics(bootstrap, s.topic_partitions, s.topic_replication)
        upgrade(s.database_url)
        admin = s.admin_token.get_secret_value() if s.admin_token else new_token()
        self.env = dict(os.environ)
        self.env.update({
            "COMPLAINTS_KAFKA_BOOTSTRAP": bootstrap,
            "COMPLAINTS_REDIS_URL": redis_url,
            "COMPLAINTS_DATABASE_URL": s.database_url,
            "COMPLAINTS_ADMIN_TOKEN": admin,
            "COMPLAINTS_LOG_FORMAT": self.env.get("COMPLAINTS_LOG_FORMAT", "text"),
            "COMPLAINTS_MIGRATE_ON_START": "false",
            "COMPLAINTS_API_HOST": s.api_host,
            "COMPLAINTS_API_PORT": str(s.api_port),
            "COMPLAINTS_REDIS_PREFIX": s.redis_prefix,
            "COMPLAINTS_TOPIC_PARTITIONS": str(s.topic_partitions),
            "COMPLAINTS_LOG_LEVEL": s.log_level,
            "COMPLAINTS_PRODUCER_COMPRESSION": s.producer_compression,
            "COMPLAINTS_MEDIA_DIR": str(s.media_root()),
        })
        # Thread pools (SQLAlchemy calls, the intake writer) otherwise get a malloc arena each,
        # which costs RSS without speed on a 2-core machine.
        self.env.setdefault("MALLOC_ARENA_MAX", "2")

    def start_services(self) -> None:
        py = [sys.executable, "-m", "services.cli"]
        for name in ("worker", "tracker", "api"):
            child = Child(name, [*py, name], self.env)
            child.start()
            self.children.append(child)

    def banner(self) -> str:
        e = self.env
        lines = [
            "12319 投诉分派系统 — embedded stack",
            f"  broker   {e['COMPLAINTS_KAFKA_BOOTSTRAP']}" + ("  (Tansu, memory)" if any(p.name == 'tansu' for p in self.embedded) else ""),
            f"  redis    {e['COMPLAINTS_REDIS_URL']}" + ("  (bundled redis-server)" if any(p.name == 'redis' for p in self.embedded) else ""),
            f"  database {e['COMPLAINTS_DATABASE_URL']}",
            f"  api      http://{self.s.api_host}:{self.s.api_port}  (docs: /docs, health: /healthz)",
            f"  pages    http://{self.s.api_host}:{self.s.api_port}/console  /squad  /dashboard",
            f"  admin    Authorization: Bearer {e['COMPLAINTS_ADMIN_TOKEN']}",
            "  children " + ", ".join(f"{c.name}(pid {c.proc.pid if c.proc else '-'})" for c in self.children),
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)

    def heal_infrastructure(self) -> None:
        """Start a dead embedded broker or Redis again on its port (the services reconnect by themselves).

        The embedded Tansu keeps topics in memory, so a new one has none: the topics are created
        again here, and the tracker's reconciler routes what was ticketed but lost with the broker
        (docs/reliability.md).  Redis comes back from its append-only file.
        """
        with self.lock:
            self._heal_infrastructure()

    def _heal_infrastructure(self) -> None:
        log_dir = Path(self.s.data_dir) / "logs"
        for i, proc in enumerate(self.embedded):
            if proc.proc.poll() is None:
                continue
            print(f"[run] {proc.name} exited ({proc.proc.returncode}); restarting on port {proc.port}",
                  file=sys.stderr, flush=True)
            if proc.name == "tansu":
                self._stop_broker_clients()
            try:
                self.embedded[i] = restart(proc, log_dir)
            except Exception as exc:  # noqa: BLE001 - retried on the next round
                print(f"[run] {proc.name} did not come back: {exc}", file=sys.stderr, flush=True)
                time.sleep(2.0)
                continue
            self.topics_missing = self.topics_missing or proc.name == "tansu"
        broker = next((p for p in self.embedded if p.name == "tansu"), None)
        if self.topics_missing and broker is not None:
            try:
                ensure_topics(broker.url, self.s.topic_partitions, self.s.topic_replication)
                self.topics_missing = False
            except Exception as exc:  # noqa: BLE001 - retried on the next round
                print(f"[run] could not create the topics again: {exc}", file=sys.stderr, flush=True)

    def _stop_broker_clients(self) -> None:
        """Kill every service before a new, empty broker comes up; the supervisor starts them again.

        The consumers' positions and any offset they would commit belong to the lost log: carried
        over, they would wait at (or skip to) an offset the new log reaches only later.  The API's
        producer would create a missing topic on its first publish (Tansu creates it with 4
        partitions) before the topics of the plan exist.  Started afresh after the topics are
        created, every service finds the plan's topics and no committed offsets.  SIGKILL, not
        SIGTERM: a graceful stop would try to commit those offsets.  What the API had ticketed is
        in the intake log (adopted and published again; the reconciler routes the rest).
        """
        for child in self.children:
            if child.alive() and child.proc is not None:
                child.proc.kill()
                child.proc.wait(10)

    def supervise(self, stop: list[bool]) -> None:
        while not stop[0]:
            self.heal_infrastructure()
            for child in self.children:
                if not child.alive() and not stop[0]:
                    child.restarts += 1
                    print(f"[run] {child.name} exited ({child.proc.returncode if child.proc else '?'}); "
                          f"restarting (#{child.restarts})", file=sys.stderr, flush=True)
                    time.sleep(min(5.0, 0.5 * child.restarts))
                    child.start()
            time.sleep(0.5)

    def shutdown(self) -> None:
        for child in reversed(self.children):
            child.stop()
        for proc in reversed(self.embedded):
            proc.stop()


def run(settings: StackSettings) -> int:
    stack = Stack(settings)
    stop = [False]

    def on_signal(signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start_infrastructure()
        stack.start_services()
        print(stack.banner(), flush=True)
        stack.supervise(stop)
    finally:
        print("[run] stopping …", file=sys.stderr, flush=True)
        stack.shutdown()
        print("[run] stopped", file=sys.stderr, flush=True)
    return 0
