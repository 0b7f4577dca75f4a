"""cases.extension index: the command centre's 延期待审批 list (GET /api/v1/cases?extension=requested)

Without it the list read every case of the history (a sequential scan: 64 ms at 100,000 cases on
PostgreSQL, growing with the history) to find the few cases with a pending request; with it, an index
range.  Found by `complaints bench-data` (docs/reads-benchmark.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:05:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_extension', 'cases', ['extension'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_extension', table_name='cases')
