"""case_events.at index: the latest events across all cases (the feed's back-fill on /dashboard and /wall)

Without it, "events since T, newest first" scanned and sorted the whole history (about 63,000 rows at
10,000 cases: 70 ms on SQLite for every page load); with it, 0.1 ms.  See docs/pages-benchmark.md.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:30:00
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_case_events_at', 'case_events', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_events_at', table_name='case_events')
