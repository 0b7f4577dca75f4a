"""corrections: decisions corrected by people (labelled examples), and the model version of each routing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import services.platform.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('corrections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('ticket_no', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', services.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('location_label', sa.String(length=500), nullable=True),
    sa.Column('territory', sa.String(length=12), nullable=True),
    sa.Column('old_category', sa.String(length=40), nullable=True),
    sa.Column('old_unit', sa.String(length=40), nullable=True),
    sa.Column('old_urgent', sa.Boolean(), nullable=False),
    sa.Column('new_category', sa.String(length=40), nullable=False),
    sa.Column('new_unit', sa.String(length=40), nullable=False),
    sa.Column('new_urgent', sa.Boolean(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=True),
    sa.Column('routed_category', sa.String(length=40), nullable=True),
    sa.Column('routed_at', services.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corrections_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrections_complaint_id'), ['complaint_id'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_version', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('routed_category', sa.String(length=40), nullable=True))
    # Cases routed before: their category is the router's unless someone reassigned them since
    # (the history has it, but only in JSON); the model version is not known.
    cases = sa.table('cases', sa.column('routed_category', sa.String()), sa.column('category', sa.String()),
                     sa.column('routed_at', services.platform.db.UTCDateTime(timezone=True)))
    op.execute(cases.update().where(cases.c.routed_at.is_not(None)).values(routed_category=cases.c.category))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('routed_category')
        batch_op.drop_column('model_version')
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrections_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_corrections_at'))
    op.drop_table('corrections')
