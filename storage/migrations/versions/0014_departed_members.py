"""departed members: coordinators who left a coordinators' chat

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('departed_members',
    sa.Column('chat', sa.String(length=64), nullable=False),
    sa.Column('member', sa.String(length=64), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat', 'member')
    )


def downgrade() -> None:
    op.drop_table('departed_members')
