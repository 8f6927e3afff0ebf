"""lookups.queued_at: the ЦОН queue ticket's time, for the desk limits measured on the desk's clock

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 02:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db.types


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('lookups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', shared.db.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lookups', schema=None) as batch_op:
        batch_op.drop_column('queued_at')
