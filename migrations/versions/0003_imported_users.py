"""Imported annotators are their own users: user.import_key ("r3:ann1") finds them again, so an import
never files decisions under an existing person who happens to share a name.

Users the first build imported keep their names; they get no key (whether a row was a person or an
import cannot be told apart now), so a new import of the same logs makes its own users.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:05:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate emits sqlmodel.sql.sqltypes.AutoString


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_import_key'), ['import_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_import_key'))
        batch_op.drop_column('import_key')
