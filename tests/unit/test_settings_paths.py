"""Settings name every folder a process uses; the defaults are packaged data or the data dir, not the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.platform.settings import ApiSettings, CommonSettings, StackSettings
from services.resources import cities_root, demo_complaints, migrations_dir


def test_packaged_data_is_found_through_the_package() -> None:
    assert (cities_root() / "rugao" / "city.yaml").is_file()
    assert (migrations_dir() / "env.py").is_file()
    assert demo_complaints().read_text(encoding="utf-8").strip()


def test_defaults_follow_the_data_dir_and_the_packaged_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("COMPLAINTS_DATABASE_URL", "COMPLAINTS_DATA_DIR", "COMPLAINTS_CONFIG_ROOT", "COMPLAINTS_MEDIA_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    s = ApiSettings()
    assert s.config_root == cities_root()
    assert s.data_dir == tmp_path / "var"
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'complaints.db'}"
    assert s.media_root() == tmp_path / "var" / "media"
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "state"))
    assert StackSettings().media_root() == tmp_path / "state" / "media"
    assert CommonSettings().database_url == f"sqlite:///{tmp_path / 'state' / 'complaints.db'}"
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", "postgresql://db/x")
    assert CommonSettings().database_url == "postgresql://db/x"
