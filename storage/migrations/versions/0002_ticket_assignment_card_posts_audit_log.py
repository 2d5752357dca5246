"""ticket assignment, card posts, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_name', sa.String(length=128), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('chat', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('thread_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_posts', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_posts_chat_message', ['chat', 'message_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_ticket_posts_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('assignee', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('assignee_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('assignee_name')
        batch_op.drop_column('assignee')
        batch_op.drop_column('chat')

    with op.batch_alter_table('ticket_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_posts_ticket_id'))
        batch_op.drop_index('ix_ticket_posts_chat_message')

    op.drop_table('ticket_posts')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')

