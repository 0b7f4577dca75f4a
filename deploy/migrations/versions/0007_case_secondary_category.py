"""case secondary_category: a second city matter the complaint raises (shown with the case, routed nowhere)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Cases routed before have none recorded (the routed events did not carry it).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secondary_category', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('secondary_category')
