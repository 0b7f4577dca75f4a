"""Keyset pagination and search indexes (issue 19)

- cases (received_at, complaint_id) and (resolve_by, received_at, complaint_id): the case list's two
  orderings (services/tracker/case_query.py ORDERINGS), so a page starts where the cursor points;
- alerts (raised_at, alert_id): GET /alerts newest first;
- cases.phone: a phone number looked up exactly;
- PostgreSQL only: pg_trgm and GIN trigram indexes on cases.text, address and phone, so
  ILIKE '%...%' (text search) and LIKE '%1234' (last digits of a phone) use an index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:50:00
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TRGM = ('text', 'address', 'phone')


def upgrade() -> None:
    op.create_index('ix_cases_received_keyset', 'cases', ['received_at', 'complaint_id'], unique=False)
    op.create_index('ix_cases_due_keyset', 'cases', ['resolve_by', 'received_at', 'complaint_id'], unique=False)
    op.create_index('ix_cases_phone', 'cases', ['phone'], unique=False)
    op.create_index('ix_alerts_raised_keyset', 'alerts', ['raised_at', 'alert_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for col in TRGM:
            op.create_index(f'ix_cases_{col}_trgm', 'cases', [col], unique=False, postgresql_using='gin',
                            postgresql_ops={col: 'gin_trgm_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for col in TRGM:
            op.drop_index(f'ix_cases_{col}_trgm', table_name='cases')
    op.drop_index('ix_alerts_raised_keyset', table_name='alerts')
    op.drop_index('ix_cases_phone', table_name='cases')
    op.drop_index('ix_cases_due_keyset', table_name='cases')
    op.drop_index('ix_cases_received_keyset', table_name='cases')
