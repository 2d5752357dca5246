"""cursors: where each transport stopped reading updates (moved out of dialog_states)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = 'cursor:'


def upgrade() -> None:
    op.create_table('cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    # VK's long-poll position was kept as a dialog state named "cursor:vk:<group>" with data {"ts": ...}.
    states = sa.table('dialog_states', sa.column('key', sa.String), sa.column('data', sa.JSON),
                      sa.column('updated_at', sa.DateTime(timezone=True)))
    cursors = sa.table('cursors', sa.column('name', sa.String), sa.column('value', sa.String),
                       sa.column('updated_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    rows = bind.execute(sa.select(states.c.key, states.c.data, states.c.updated_at)
                        .where(states.c.key.like(PREFIX + '%'))).all()
    for key, data, updated_at in rows:
        ts = (data or {}).get('ts') if isinstance(data, dict) else None
        if ts:
            bind.execute(cursors.insert().values(name=key[len(PREFIX):], value=str(ts), updated_at=updated_at))
    op.execute(states.delete().where(states.c.key.like(PREFIX + '%')))


def downgrade() -> None:
    op.drop_table('cursors')
