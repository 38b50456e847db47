"""notice settings per category of notice

Revision ID: 0017_notice_kinds
Revises: 0016
Create Date: 2026-12-01

``notice_pref.categories``: per category of notice (办件进度 progress, 需要您办理 action, 决定与证照 decision,
待办与督办 tasks, 其他通知 other; ``engine.notify.NOTICE_CATEGORIES``) whether it also goes out by e-mail and by
SMS. Rows written before keep NULL: their ``email`` and ``sms`` columns stay the choice for every category, so
nobody's notices change.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_notice_kinds'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice_pref', schema=None) as batch_op:
        batch_op.add_column(sa.Column('categories', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice_pref', schema=None) as batch_op:
        batch_op.drop_column('categories')
