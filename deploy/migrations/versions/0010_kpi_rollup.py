"""KPI rollup (issue 19): per city day x unit x category x territory, the counts and sums of the
period KPIs, kept by the tracker in the transaction of every case change (services/tracker/rollups.py);
each case's current contribution in case_rollup_keys; the days' time zone in kpi_rollup_meta.

Back-filled from the existing cases by the same recount the tests compare with (``rollups.rebuild``,
in the city's time zone: COMPLAINTS_CITY, city.yaml ``timezone``), in the last migration that
changes the rollup's tables (0012): the recount writes the tables as the code has them now.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

from services.platform.db import UTCDateTime
from services.tracker import rollups
from services.tracker.rollup_models import MEASURES

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_BIG = ('accept_us', 'resolve_us')


def upgrade() -> None:
    op.create_table(
        'kpi_rollup',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('territory', sa.String(length=12), nullable=False),
        *(sa.Column(m, sa.BigInteger() if m in _BIG else sa.Integer(), nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint('day', 'unit', 'category', 'territory'),
    )
    op.create_table(
        'case_rollup_keys',
        sa.Column('complaint_id', sa.String(length=36), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('territory', sa.String(length=12), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('accept_s', sa.Float(), nullable=True),
        sa.Column('resolve_s', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('complaint_id'),
    )
    op.create_index('ix_case_rollup_keys_day', 'case_rollup_keys', ['day'], unique=False)
    op.create_table(
        'kpi_rollup_meta',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('built_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    rollups.forget_zone(op.get_bind())
    op.drop_table('kpi_rollup_meta')
    op.drop_index('ix_case_rollup_keys_day', table_name='case_rollup_keys')
    op.drop_table('case_rollup_keys')
    op.drop_table('kpi_rollup')
