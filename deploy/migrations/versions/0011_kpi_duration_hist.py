"""KPI duration histogram (issue 19): per city month the buckets of the times to accept and to
resolve, in total and per unit / category / territory, and each case's buckets in case_rollup_keys,
so the 90th percentiles of a month or a year read the histogram and one bucket's cases, not the
period's cases.  Back-filled by the recount of 0012 (the last migration of the rollup's tables).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:15:00
"""
import sqlalchemy as sa
from alembic import op

from services.tracker import rollups

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kpi_duration_hist',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('dim', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=40), nullable=False),
        sa.Column('measure', sa.String(length=8), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'dim', 'value', 'measure', 'bucket'),
    )
    with op.batch_alter_table('case_rollup_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_b', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolve_b', sa.Integer(), nullable=True))
        batch_op.create_index('ix_case_rollup_keys_accept_b', ['accept_b', 'day'], unique=False)
        batch_op.create_index('ix_case_rollup_keys_resolve_b', ['resolve_b', 'day'], unique=False)


def downgrade() -> None:
    rollups.forget_zone(op.get_bind())
    with op.batch_alter_table('case_rollup_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_case_rollup_keys_resolve_b')
        batch_op.drop_index('ix_case_rollup_keys_accept_b')
        batch_op.drop_column('resolve_b')
        batch_op.drop_column('accept_b')
    op.drop_table('kpi_duration_hist')
