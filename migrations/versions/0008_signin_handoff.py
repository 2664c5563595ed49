"""Password sessions with an HttpOnly cookie: a one-time handoff code (its sha256, for a minute) that
the cookie route exchanges for the session's token.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('signinsession', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('handoff_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_signinsession_handoff_hash'), ['handoff_hash'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('signinsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signinsession_handoff_hash'))
        batch_op.drop_column('handoff_expires_at')
        batch_op.drop_column('handoff_hash')
