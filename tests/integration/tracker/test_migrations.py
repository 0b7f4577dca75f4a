"""The Alembic migrations build exactly the models' schema on SQLite and PostgreSQL, and 0002 goes both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.platform.db import make_engine
from services.platform.migrate import alembic_config, upgrade
from services.tracker import notifier, rollup_models, supplements  # noqa: F401  (register their tables)
from services.tracker.models import PG_ONLY_INDEXES, SQLITE_SEARCH_TABLE, Base


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # idempotent
    engine = make_engine(database_url)
    with engine.connect() as conn:
        pg = conn.dialect.name == "postgresql"

        def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
            if type_ == "table" and (name or "").startswith(SQLITE_SEARCH_TABLE):
                return False  # the FTS5 table and its shadow tables (migration 0014, SQLite only)
            return pg or type_ != "index" or name not in PG_ONLY_INDEXES  # Index.ddl_if: PostgreSQL only

        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": include}), Base.metadata)
    engine.dispose()
    assert diff == [], diff


def test_resolution_tracking_revision_downgrades_and_upgrades(database_url: str) -> None:
    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0002")
    command.downgrade(cfg, "0001")
    command.upgrade(cfg, "head")
