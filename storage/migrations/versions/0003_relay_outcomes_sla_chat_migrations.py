"""relay, outcomes, sla, chat migrations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('chat_migrations',
    sa.Column('old_chat', sa.String(length=64), nullable=False),
    sa.Column('new_chat', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('old_chat')
    )
    op.create_table('relayed_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('group_chat', sa.String(length=64), nullable=False),
    sa.Column('group_message_id', sa.BigInteger(), nullable=False),
    sa.Column('family_chat', sa.String(length=64), nullable=False),
    sa.Column('family_message_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relayed_messages', schema=None) as batch_op:
        batch_op.create_index('ix_relayed_family', ['family_chat', 'family_message_id'], unique=False)
        batch_op.create_index('ix_relayed_group', ['group_chat', 'group_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relayed_messages_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('outcome_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('family_wrote_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('coordinator_wrote_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('nudged_at', sa.DateTime(timezone=True), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('nudged_at')
        batch_op.drop_column('coordinator_wrote_at')
        batch_op.drop_column('family_wrote_at')
        batch_op.drop_column('announced_at')
        batch_op.drop_column('outcome_note')
        batch_op.drop_column('outcome')

    with op.batch_alter_table('relayed_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relayed_messages_ticket_id'))
        batch_op.drop_index('ix_relayed_group')
        batch_op.drop_index('ix_relayed_family')

    op.drop_table('relayed_messages')
    op.drop_table('chat_migrations')

