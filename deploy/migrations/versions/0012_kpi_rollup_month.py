"""KPI rollup per city month (issue 19): the sums of kpi_rollup per month in total and per unit /
category / territory, so a whole month or a year reads a few hundred rows; the percentile bucket
indexes cover the duration (index-only reads).  Then the back-fill of the whole rollup from the cases
(``rollups.rebuild``, the city's time zone: COMPLAINTS_CITY, city.yaml ``timezone``).

The recount writes the rollup's tables as the code has them now, so only the newest migration of
these tables calls it (a later one moves the call).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:30:00
"""
import sqlalchemy as sa
from alembic import op

from services.core.loader import load_city
from services.platform.settings import CommonSettings
from services.tracker import rollups
from services.tracker.rollup_models import MEASURES

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BIG = ('accept_us', 'resolve_us')


def upgrade() -> None:
    op.create_table(
        'kpi_rollup_month',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('dim', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=40), nullable=False),
        *(sa.Column(m, sa.BigInteger() if m in _BIG else sa.Integer(), nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint('month', 'dim', 'value'),
    )
    with op.batch_alter_table('case_rollup_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_case_rollup_keys_resolve_b')
        batch_op.drop_index('ix_case_rollup_keys_accept_b')
        batch_op.create_index('ix_case_rollup_keys_accept_b', ['accept_b', 'day', 'accept_s'], unique=False)
        batch_op.create_index('ix_case_rollup_keys_resolve_b', ['resolve_b', 'day', 'resolve_s'], unique=False)
    settings = CommonSettings()
    rollups.rebuild(op.get_bind(), load_city(settings.city, str(settings.config_root)).timezone)


def downgrade() -> None:
    rollups.forget_zone(op.get_bind())
    with op.batch_alter_table('case_rollup_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_case_rollup_keys_resolve_b')
        batch_op.drop_index('ix_case_rollup_keys_accept_b')
        batch_op.create_index('ix_case_rollup_keys_accept_b', ['accept_b', 'day'], unique=False)
        batch_op.create_index('ix_case_rollup_keys_resolve_b', ['resolve_b', 'day'], unique=False)
    op.drop_table('kpi_rollup_month')
