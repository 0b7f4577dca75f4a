"""SQLite only: a trigram full-text index of the cases' text, address and phone (FTS5)

PostgreSQL serves the case search (ILIKE '%...%', a phone's last digits) from pg_trgm (0009); SQLite,
the embedded default, read every case for it (a search 300 ms, a phone's last digits 1 s at a
county's year of 100,000 cases: docs/reads-benchmark.md).  ``cases_fts`` is an FTS5 table with the
trigram tokenizer (substring matching, case-insensitive, three characters or more) over ``cases``
as external content, keyed by the cases' rowid and kept by triggers on insert, delete and an update
of the three columns.  ``services/tracker/text_search.py`` uses it.

The cases table has no INTEGER PRIMARY KEY, so a VACUUM may renumber its rowids: after one, run
``INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')`` (``services.tracker.text_search.rebuild``).
A later migration that rebuilds ``cases`` (batch mode) must create the triggers again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 01:05:00
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = "text, address, phone"
NEW = "new.rowid, new.text, new.address, new.phone"
OLD = "'delete', old.rowid, old.text, old.address, old.phone"


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute(f"CREATE VIRTUAL TABLE cases_fts USING fts5({COLUMNS}, content='cases', content_rowid='rowid', "
               "tokenize='trigram')")
    op.execute(f"CREATE TRIGGER cases_fts_ai AFTER INSERT ON cases BEGIN "
               f"INSERT INTO cases_fts(rowid, {COLUMNS}) VALUES ({NEW}); END")
    op.execute(f"CREATE TRIGGER cases_fts_ad AFTER DELETE ON cases BEGIN "
               f"INSERT INTO cases_fts(cases_fts, rowid, {COLUMNS}) VALUES ({OLD}); END")
    op.execute(f"CREATE TRIGGER cases_fts_au AFTER UPDATE OF {COLUMNS} ON cases BEGIN "
               f"INSERT INTO cases_fts(cases_fts, rowid, {COLUMNS}) VALUES ({OLD}); "
               f"INSERT INTO cases_fts(rowid, {COLUMNS}) VALUES ({NEW}); END")
    op.execute("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")  # the cases already there


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for trigger in ("cases_fts_ai", "cases_fts_ad", "cases_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS cases_fts")
