"""queued tasks: what was committed and not yet handed to the broker; support tickets' lease

Revision ID: 0013
Revises: 0006
Create Date: 2026-12-04 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.db


revision: str = '0013'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queued_task',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('task_name', sa.String(length=120), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('kwargs', sa.JSON(), nullable=False),
    sa.Column('created_at', plugin.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queued_task'))
    )
    with op.batch_alter_table('queued_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queued_task_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('support_ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', plugin.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('support_ticket', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_owner')
    with op.batch_alter_table('queued_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queued_task_created_at'))
    op.drop_table('queued_task')
