"""case media_pending: the cases whose WeChat photos or voice messages still wait for their copy

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_pending', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_cases_media_pending'), ['media_pending'], unique=False)
    # Cases from before the marker: the media fetcher looks at each once and unmarks those with
    # nothing left to fetch.
    cases = sa.table('cases', sa.column('media_pending', sa.Boolean()), sa.column('channel', sa.String()),
                     sa.column('attachments', sa.JSON()))
    op.execute(cases.update()
               .where(cases.c.channel == 'wechat', sa.cast(cases.c.attachments, sa.Text()).like('%media_id%'))
               .values(media_pending=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_media_pending'))
        batch_op.drop_column('media_pending')
