"""Apply the Alembic migrations in deploy/migrations to a database URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from services.platform.db import normalise_url
from services.platform.settings import REPO_ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "deploy" / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "deploy" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
