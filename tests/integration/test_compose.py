"""docker-compose.yml is a valid production-like deployment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def test_compose_file_has_every_component_with_healthchecks() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert {"kafka", "postgres", "redis", "api", "worker", "tracker", "init"} <= set(services)
    for name in ("kafka", "postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    assert set(doc["volumes"]) == {"kafka-data", "pg-data", "redis-data", "media-data"}
    # the tracker stores the citizens' WeChat media, the api serves them: one shared volume
    media = "media-data:/var/lib/complaints/media"
    assert media in services["api"]["volumes"] and media in services["tracker"]["volumes"]
    assert services["tracker"]["environment"]["COMPLAINTS_MEDIA_DIR"] == "/var/lib/complaints/media"
    # the worker must be scalable: no fixed container name or host port
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) or Debian's `docker-compose`, whichever this machine has."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_passes() -> None:
    command = compose_command()
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no docker compose client on this machine (scripts/test.sh installs Debian's docker-compose)")
        pytest.skip("no docker compose client on this machine (scripts/test.sh installs Debian's docker-compose)")
    result = subprocess.run([*command, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True,
                            env={"COMPLAINTS_ADMIN_TOKEN": "x", "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert result.returncode == 0, result.stderr


def test_the_image_is_the_wheel_and_its_build_stage_has_what_the_package_data_links_to() -> None:
    stages = re.split(r"(?m)^FROM ", DOCKERFILE.read_text())[1:]
    assert len(stages) == 2, "a wheel-building stage and the image"
    build, image = stages
    assert re.search(r"(?m)^RUN pip wheel .*--no-deps .*-w /dist \.$", build)
    # the image installs the wheel and copies nothing from the source tree
    assert re.search(r"(?m)^RUN pip install .*/dist/complaints_12319-\*\.whl", image)
    assert [line for line in image.splitlines() if line.startswith("COPY")] == ["COPY --from=wheel /dist /dist"]
    copied = {line.split()[1] for line in build.splitlines() if line.startswith("COPY ")}
    copied |= {name for line in build.splitlines() if line.startswith("COPY ") for name in line.split()[1:-1]}
    links = [p for p in (REPO / "services" / "resources").iterdir() if p.is_symlink()]
    assert links, "services/resources links to the data it packages"
    for link in links:
        target = link.resolve().relative_to(REPO)
        assert any(target.is_relative_to(c) for c in copied), f"{link.name} -> {target} is not copied into the build stage"
