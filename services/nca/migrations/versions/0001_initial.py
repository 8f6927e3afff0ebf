"""initial: the revocations registry

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('revocations',
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('issuer', sa.String(length=512), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('serial')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('revocations')
