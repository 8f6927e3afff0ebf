"""redelivery with backoff: next_attempt_at, deliver_until

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deliver_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_messages_last_attempt_at'))
        batch_op.create_index(batch_op.f('ix_messages_next_attempt_at'), ['next_attempt_at'], unique=False)
    # what was waiting for its redelivery is due at once (no deadline for it: deliver_until stays empty)
    op.execute("UPDATE messages SET next_attempt_at = received_at WHERE state = 'ON_DELIVERY'")


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_next_attempt_at'))
        batch_op.create_index(batch_op.f('ix_messages_last_attempt_at'), ['last_attempt_at'], unique=False)
        batch_op.drop_column('deliver_until')
        batch_op.drop_column('next_attempt_at')
