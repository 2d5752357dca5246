"""inbox: updates kept until handled and answered; outbox leases know their owner

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('platform', sa.String(length=8), nullable=False),
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('platform', 'update_id')
    )
    op.create_index('ix_inbox_received_at', 'inbox', ['received_at'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('leased_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('leased_by')
    op.drop_index('ix_inbox_received_at', table_name='inbox')
    op.drop_table('inbox')
