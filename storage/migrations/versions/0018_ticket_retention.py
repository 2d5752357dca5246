"""tickets.erased_at: RETENTION erases a closed ticket's personal texts, files and phone once

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTERs, not batch mode: SQLite (3.35+) adds and drops a column in place, while a batch would
# copy and drop the tickets table, which the other tables' foreign keys forbid.
def upgrade() -> None:
    op.add_column('tickets', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('tickets', 'erased_at')
