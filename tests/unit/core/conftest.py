"""Fixtures for the domain-core tests: the real Rugao configuration (read-only) and copies
of it in tmp_path for the bad-configuration cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.core.config import CityConfig
from services.core.engine import Engine
from services.core.loader import DEFAULT_CONFIG_ROOT, load_city


@pytest.fixture(scope="session")
def city() -> CityConfig:
    return load_city("rugao")


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load("rugao")


@pytest.fixture()
def city_copy(tmp_path: Path) -> Path:
    """A writable copy of config/cities/rugao under tmp_path/<root>/rugao; returns the folder."""
    target = tmp_path / "cities" / "rugao"
    shutil.copytree(DEFAULT_CONFIG_ROOT / "rugao", target)
    return target
