"""tickets.erased_at: RETENTION erases a closed ticket's personal texts, files and phone once

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


# Plain ALTERs, not batch mode: SQLite (3.35+) adds and drops a column in place, while a batch would
# copy and drop the tickets table, which the other tables' foreign keys forbid.
def upgrade() -> None:
    op.add_column('tickets', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('tickets', 'erased_at')
