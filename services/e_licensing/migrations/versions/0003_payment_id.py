"""the ПШЭП payment an application used

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_applications_payment_id'), ['payment_id'])


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_applications_payment_id'), type_='unique')
        batch_op.drop_column('payment_id')
