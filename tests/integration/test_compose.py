"""docker-compose.yml is a valid production-like deployment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_compose_file_has_every_component_with_healthchecks() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert {"kafka", "postgres", "redis", "api", "worker", "tracker", "init"} <= set(services)
    for name in ("kafka", "postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    assert set(doc["volumes"]) == {"kafka-data", "pg-data", "redis-data"}
    # the worker must be scalable: no fixed container name or host port
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="the docker compose client is not installed on this machine")
def test_docker_compose_config_passes() -> None:
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True,
                            text=True, env={"COMPLAINTS_ADMIN_TOKEN": "x", "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert result.returncode == 0, result.stderr
