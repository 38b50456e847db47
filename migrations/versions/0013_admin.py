"""AB backup person (AB角): an account can be marked away (不在岗)

Revision ID: 0013_admin
Revises: 0012
Create Date: 2026-12-01

``app_user.absent``: while set, the steps that would be assigned to the person
go to their backup (``backup_user_id``, AB角) instead, and marking someone away
hands their open steps to the backup.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_admin'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absent', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('absent')
