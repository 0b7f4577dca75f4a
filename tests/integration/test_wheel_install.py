"""The wheel, installed non-editable into a fresh virtualenv outside the repository, finds its own
configuration, migrations, pages and model: `complaints migrate`, `complaints topics --check` against a
real Tansu broker, and a complaint routed end to end by the installed api, worker and tracker.

The fresh virtualenv gets the wheel only (``--no-deps``); the dependencies are reused from the
test's own environment through a ``.pth`` line (its ``site-packages`` is appended to ``sys.path``
without running its ``.pth`` files, so the editable install's import hook stays out).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.platform.embedded import EmbeddedProcess, free_port, start_tansu
from tests.conftest import ADMIN_TOKEN, REPO

pytestmark = pytest.mark.integration

# what the wheel is built from: the project file and the folders package data links point into
SOURCES = ("pyproject.toml", "README.md", "services", "config", "deploy/migrations", "data/dev")
BUILD_AND_INSTALL_BUDGET_S = 90.0
TEXT = "白蒲镇唐堡村有个工地晚上十一点还在打桩，吵得整栋楼睡不着"


def _copy_sources(target: Path) -> None:
    """A copy of the working tree's package sources; the links in services/resources stay links."""
    for name in SOURCES:
        src, dst = REPO / name, target / name
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


class Installed:
    def __init__(self, root: Path, seconds: float) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        self.seconds = seconds
        self.work = root / "work"  # the current directory of every command: outside the repository
        self.work.mkdir()

    def env(self, **settings: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_") and k != "PYTHONPATH"}
        env.update({f"COMPLAINTS_{k.upper()}": v for k, v in settings.items()})
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def complaints(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return _run([str(self.bin / "complaints"), *args], cwd=self.work, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO.resolve())
    src, dist, venv = root / "src", root / "dist", root / "venv"
    _copy_sources(src)
    start = time.monotonic()
    # build isolation fetches setuptools/wheel from pip's cache or the configured index, nothing else
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)], cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(dist.glob("complaints_12319-*.whl"))
    assert len(wheels) == 1, wheels
    made = _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    purelib = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=root).stdout.strip())
    (purelib / "_reuse_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                 "--no-index", str(wheels[0])], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    seconds = time.monotonic() - start
    print(f"wheel built and installed in {seconds:.1f}s")
    assert seconds < BUILD_AND_INSTALL_BUDGET_S
    return Installed(root, seconds)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedProcess]:
    """A broker of its own: `topics --check` must first see the topics missing."""
    tansu = start_tansu(log_dir=tmp_path)
    yield tansu
    tansu.stop()


def test_the_installed_package_is_the_wheel_with_its_data(installed: Installed) -> None:
    probe = ("import services, services.resources as r, services.tracker.pages.access as p, services.core.classifier as c;"
             "print(services.__file__); print(r.cities_root()); print(r.migrations_dir()); print(p.STATIC_DIR);"
             "print(c.MODEL_FILE)")
    out = _run([str(installed.bin / "python"), "-c", probe], cwd=installed.work, env=installed.env())
    assert out.returncode == 0, out.stderr
    site = installed.root / "venv"
    paths = [Path(line) for line in out.stdout.split()]
    for path in paths:
        assert path.is_relative_to(site), f"{path} is not inside the installed wheel"
        assert path.exists(), path
    assert (paths[1] / "rugao" / "city.yaml").is_file() and not (paths[1] / "rugao").is_symlink()
    assert (paths[2] / "env.py").is_file() and any((paths[2] / "versions").glob("0001_*.py"))
    assert (paths[3] / "style.css").is_file()
    # the bundled chart library with its licence, and the wall's town map of the city configuration
    assert (paths[3] / "vendor" / "echarts.min.js").stat().st_size > 500_000
    assert (paths[3] / "vendor" / "LICENSE-echarts.txt").is_file() and (paths[1] / "rugao" / "map.yaml").is_file()
    # the pages' own CJK font (no boxes on a machine without one) with its licence, and the keyboard helper
    assert (paths[3] / "fonts" / "rugao-sans-sc.woff2").stat().st_size > 500_000
    assert (paths[3] / "fonts" / "OFL.txt").is_file() and (paths[3] / "a11y.js").is_file()


def test_installed_cli_migrates_checks_topics_and_routes_a_complaint(
        installed: Installed, broker: EmbeddedProcess, pg_url: str, redis_url: str, redis_prefix: str) -> None:
    port = free_port()
    env = installed.env(database_url=pg_url, kafka_bootstrap=broker.url, redis_url=redis_url,
                        redis_prefix=redis_prefix, admin_token=ADMIN_TOKEN, log_format="text", api_port=str(port),
                        router_group=f"router-{redis_prefix.rstrip(':')}",
                        tracker_group=f"tracker-{redis_prefix.rstrip(':')}", migrate_on_start="false")

    migrated = installed.complaints("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "database at head" in migrated.stdout

    missing = installed.complaints("topics", "--check", env=env)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "complaints.received" in missing.stdout and "missing" in missing.stdout
    assert "Traceback" not in missing.stderr
    created = installed.complaints("topics", env=env)
    assert created.returncode == 0, created.stderr
    checked = installed.complaints("topics", "--check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(" ok") == 5, checked.stdout

    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("worker", "tracker", "api"):
            log = open(installed.root / f"{name}-{port}.log", "wb")  # noqa: SIM115
            procs.append(subprocess.Popen([str(installed.bin / "complaints"), name], cwd=installed.work, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert all(p.poll() is None for p in procs), _logs(installed, port)
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, _logs(installed, port)
            time.sleep(0.3)
        assert "text/css" in httpx.get(base + "/static/style.css", timeout=5).headers["content-type"]
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        r = httpx.post(base + "/api/v1/complaints", json={"channel": "hotline", "text": TEXT, "phone": "13812345678"},
                       headers={**headers, "Idempotency-Key": "wheel-smoke-1"}, timeout=10)
        assert r.status_code == 201, r.text
        ticket = r.json()["ticket_no"]
        deadline = time.monotonic() + 60
        while True:
            case = httpx.get(f"{base}/api/v1/cases/{ticket}", headers=headers, timeout=5)
            if case.status_code == 200 and case.json()["status"] == "dispatched":
                break
            assert time.monotonic() < deadline, f"{case.status_code} {case.text}\n{_logs(installed, port)}"
            time.sleep(0.2)
        # the packaged city configuration and model decided it
        assert case.json()["category"] == "NOISE_CONSTRUCTION" and case.json()["unit"] == "SQ_BAIPU"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _logs(installed: Installed, port: int) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                     for p in sorted(installed.root.glob(f"*-{port}.log")))
