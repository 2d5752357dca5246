"""chat bindings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('chat_bindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chat_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_bindings_chat'), ['chat'], unique=False)
        batch_op.create_index('ix_chat_bindings_unique', ['chat', 'region_code', 'category'], unique=True)




def downgrade() -> None:

    with op.batch_alter_table('chat_bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_bindings_unique')
        batch_op.drop_index(batch_op.f('ix_chat_bindings_chat'))

    op.drop_table('chat_bindings')

