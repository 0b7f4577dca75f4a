"""Apply the Alembic migrations (packaged: ``services.resources``, edited in deploy/migrations) to a database URL.

Alembic is imported only when a migration runs: the services import this module to call
``upgrade`` on start, but in the embedded stack (``migrate_on_start=false``) they never do,
and alembic costs 15-30 MB of RSS per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.platform.db import normalise_url
from services.resources import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")
