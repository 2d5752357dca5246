"""the directory of help in the database, seeded with the useful contacts the package shipped

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of dialogs/data/contacts.json as it was: the national lines every family sees.
# (A migration never reads the package's current files: they may have changed since.)
SHIPPED = [
    ("112", "Единый номер экстренных служб", "Single emergency number",
     "круглосуточно, бесплатно", "24/7, free"),
    ("8-800-2000-122", "Детский телефон доверия (с мобильного: 124)",
     "National children's helpline (short number from mobiles: 124)",
     "круглосуточно, бесплатно, анонимно; для детей и родителей", "24/7, free, anonymous; for children and parents"),
    ("8-800-7000-600", "Телефон доверия для пострадавших от домашнего насилия",
     "Helpline for survivors of domestic violence", "бесплатно", "free"),
    ("102", "Полиция", "Police", "круглосуточно", "24/7"),
    ("103", "Скорая помощь", "Ambulance", "круглосуточно", "24/7"),
]


def upgrade() -> None:
    table = op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('about_ru', sa.Text(), nullable=False),
    sa.Column('about_en', sa.Text(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('phone', sa.String(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('hours_ru', sa.Text(), nullable=False),
    sa.Column('hours_en', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    now = datetime.now(UTC)
    op.bulk_insert(table, [
        {"name_ru": ru, "name_en": en, "about_ru": "", "about_en": "", "categories": [], "regions": [],
         "phone": phone, "address": "", "hours_ru": hours_ru, "hours_en": hours_en, "link": "",
         "updated_at": now}
        for phone, ru, en, hours_ru, hours_en in SHIPPED
    ])


def downgrade() -> None:
    op.drop_table('resources')
