"""inbox order: whose update it is and its place in that person's order

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.add_column(sa.Column('person', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
    op.create_index('ix_inbox_person_seq', 'inbox', ['platform', 'person', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbox_person_seq', table_name='inbox')
    with op.batch_alter_table('inbox') as batch:
        batch.drop_column('seq')
        batch.drop_column('person')
