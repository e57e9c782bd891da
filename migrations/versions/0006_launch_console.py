"""launch console: console sessions, the pilot's approval, campaign step decisions

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-03 22:15:03.257671
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.db


revision: str = '0006'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_step_decision',
    sa.Column('step_key', sa.String(length=120), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'held', name='stepdecision', native_enum=False, length=10), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=False),
    sa.Column('decided_at', plugin.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('step_key', name=op.f('pk_campaign_step_decision'))
    )
    op.create_table('console_session',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=26), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', plugin.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', plugin.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed_out_at', plugin.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_console_session_key_hash'))
    )
    with op.batch_alter_table('console_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('cohort', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_at', plugin.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=120), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('cohort', schema=None) as batch_op:
        batch_op.drop_column('approved_by')
        batch_op.drop_column('approved_at')

    with op.batch_alter_table('console_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_console_session_expires_at'))

    op.drop_table('console_session')
    op.drop_table('campaign_step_decision')
