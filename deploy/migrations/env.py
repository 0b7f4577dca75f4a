"""Alembic environment: the URL comes from the caller (services.platform.migrate) or COMPLAINTS_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from services.platform.db import make_engine
from services.platform.settings import CommonSettings
from services.tracker import notifier, rollup_models, supplements  # noqa: F401  (register their tables)
from services.tracker.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or CommonSettings().database_url


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
