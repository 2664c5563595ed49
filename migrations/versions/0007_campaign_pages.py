"""Campaign pages: an index on campaignitem.round_id (every decision on any round asks whether the
round is a campaign's shared round; without it that is a scan of every campaign item).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('campaignitem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaignitem_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaignitem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaignitem_round_id'))
