"""The system under test of `complaints chaos`: its own broker, Redis, database and child processes.

Reuses the embedded stack (``services.stack.Stack`` and ``services.platform.embedded``):
the chaos run only adds a log file per child, a fresh database, and the faults.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from services.ops.chaos_wechat import FakeWeChatApi
from services.platform import embedded
from services.platform.embedded import EmbeddedProcess, free_port
from services.platform.settings import StackSettings
from services.stack import Child, Stack

PG_ADMIN = os.environ.get("COMPLAINTS_CHAOS_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class LoggedChild(Child):
    """A supervised child whose output goes to a log file (the chaos run's stdout is its report)."""

    log_path: Path | None = None

    def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.started_at = time.monotonic()


def pg_cluster() -> tuple[str, str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return version, "main"


def restart_postgres(timeout_s: float = 60.0) -> None:
    version, name = pg_cluster()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
                   check=True, capture_output=True, timeout=timeout_s)


def ensure_postgres_running() -> None:
    """Leave PostgreSQL running whatever happened during the run."""
    import psycopg

    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except Exception:
        version, name = pg_cluster()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
                       check=False, capture_output=True, timeout=60)


class ChaosSystem:
    """Broker + Redis (embedded), SQLite or a fresh PostgreSQL database, worker/tracker/api children."""

    def __init__(self, work_dir: Path, db: str, *, route_timeout_s: float, reconcile_every_s: float,
                 partitions: int = 3) -> None:
        self.work_dir = work_dir
        self.db = db
        self.log_dir = work_dir / "logs"
        self.api_port = free_port()
        self.pg_name: str | None = None
        self.admin_token = "chaos-" + uuid.uuid4().hex
        self.wechat_token = "chaos" + uuid.uuid4().hex[:12]
        self.route_timeout_s = route_timeout_s
        self.reconcile_every_s = reconcile_every_s
        self.partitions = partitions
        self.stack: Stack | None = None
        self.wechat_api: FakeWeChatApi | None = None
        self._stop = [False]
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def database_url(self) -> str:
        if self.db == "postgresql":
            assert self.pg_name is not None
            return PG_ADMIN.rsplit("/", 1)[0] + f"/{self.pg_name}"
        return f"sqlite:///{self.work_dir / 'complaints.db'}"

    def start(self) -> None:
        if self.db == "postgresql":
            import psycopg

            self.pg_name = f"c12319_chaos_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        settings = StackSettings(
            kafka_bootstrap="", redis_url="", database_url=self.database_url, data_dir=self.work_dir,
            api_port=self.api_port, topic_partitions=self.partitions, admin_token=SecretStr(self.admin_token),
        )
        stack = Stack(settings)
        self.stack = stack
        self.wechat_api = FakeWeChatApi()  # the tracker's notifier sends here
        stack.start_infrastructure()
        stack.env.update({
            "COMPLAINTS_API_PORT": str(self.api_port),
            "COMPLAINTS_LOG_FORMAT": "text",
            "COMPLAINTS_ROUTE_TIMEOUT_S": str(self.route_timeout_s),
            "COMPLAINTS_RECONCILE_EVERY_S": str(self.reconcile_every_s),
            "COMPLAINTS_WECHAT_TOKEN": self.wechat_token,
            "COMPLAINTS_SESSION_TIMEOUT_S": "6",
            "COMPLAINTS_WECHAT_APPID": "wxchaos12319",
            "COMPLAINTS_WECHAT_SECRET": "chaos-secret",
            "COMPLAINTS_WECHAT_API_BASE": self.wechat_api.url,
        })
        py = [sys.executable, "-m", "services.cli"]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in ("worker", "tracker", "api"):
            argv = [*py, name] + (["--port", str(self.api_port)] if name == "api" else [])
            child = LoggedChild(name, argv, stack.env, log_path=self.log_dir / f"{name}.log")
            child.start()
            stack.children.append(child)
        self._supervisor = threading.Thread(target=self._supervise, name="chaos-supervisor", daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        """Like `complaints run`: a child that dies is started again (the notice goes to stderr)."""
        assert self.stack is not None
        self.stack.supervise(self._stop)

    def shutdown(self) -> None:
        self._stop[0] = True
        if self._supervisor is not None:
            self._supervisor.join(5)
        if self.stack is not None:
            self.stack.shutdown()
        if self.wechat_api is not None:
            self.wechat_api.close()
        if self.db == "postgresql":
            ensure_postgres_running()
            if self.pg_name:
                import psycopg

                with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True,
                                                                     connect_timeout=5) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    # --- faults ----------------------------------------------------------------------------
    def child(self, name: str) -> Child:
        assert self.stack is not None
        return next(c for c in self.stack.children if c.name == name)

    def kill_child(self, name: str, sig: int = signal.SIGKILL) -> None:
        """SIGKILL a child; the supervisor starts it again."""
        proc = self.child(name).proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def _embedded(self, name: str) -> EmbeddedProcess:
        assert self.stack is not None
        return next(p for p in self.stack.embedded if p.name == name)

    def _restart_embedded(self, name: str) -> EmbeddedProcess:
        assert self.stack is not None
        with self._lock, self.stack.lock:  # the supervisor must not restart it at the same time
            old = self._embedded(name)
            new = embedded.restart(old, log_dir=self.log_dir)
            self.stack.embedded[self.stack.embedded.index(old)] = new
        return new

    def restart_redis(self) -> None:
        """SIGKILL and start again on the same port (append-only file: at most ~1 s of writes lost)."""
        self._restart_embedded("redis")

    def restart_broker(self) -> None:
        """SIGKILL Tansu and recover as `complaints run` does: memory storage, so every topic, record
        and offset is gone; the supervisor kills the services (offsets of the lost log, a producer that
        would auto-create topics), starts the broker again, re-creates the topics and starts the
        services afresh.
        """
        assert self.stack is not None
        with self._lock, self.stack.lock:
            self._embedded("tansu").kill()
            # what `complaints run` does with a dead broker: consumers, broker, topics
            self.stack.heal_infrastructure()

    def restart_postgres(self) -> None:
        if self.db != "postgresql":
            raise RuntimeError("PostgreSQL is not in use")
        restart_postgres()

    def logs_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
