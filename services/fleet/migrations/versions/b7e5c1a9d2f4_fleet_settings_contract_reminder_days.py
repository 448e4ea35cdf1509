"""fleet settings per customer company: contract reminder lead time

Revision ID: b7e5c1a9d2f4
Revises: ebb1169f84ed
Create Date: 2026-11-25 14:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db


revision: str = 'b7e5c1a9d2f4'
down_revision: Union[str, Sequence[str], None] = 'ebb1169f84ed'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'fleet_settings',
        sa.Column('organisation_id', shared.db.IdColumn(), nullable=False),
        sa.Column('contract_reminder_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('organisation_id'),
    )


def downgrade() -> None:
    op.drop_table('fleet_settings')
