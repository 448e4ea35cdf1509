"""trip times, idempotency key, added_by_name, wash cancellation

Revision ID: 1befcca486a7
Revises: 82855b1cc14f
Create Date: 2026-11-25 13:44:33.950796

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db


# revision identifiers, used by Alembic.
revision: str = '1befcca486a7'
down_revision: Union[str, Sequence[str], None] = '82855b1cc14f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Trip start/end as ISO-8601 text with the local offset (models.LocalDateTime)."""
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('added_by_name', sa.String(length=201), nullable=True))
        batch_op.add_column(sa.Column('client_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_trips_person_id_client_id'), ['person_id', 'client_id'])

    with op.batch_alter_table('wash_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('wash_bookings', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_trips_person_id_client_id'), type_='unique')
        batch_op.drop_column('client_id')
        batch_op.drop_column('added_by_name')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('started_at')

