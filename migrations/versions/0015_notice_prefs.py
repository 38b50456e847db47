"""notice preferences and notices stored as a kind with parameters

Revision ID: 0015_notice_prefs
Revises: 0014
Create Date: 2026-12-01

``notice_pref``: per person, whether notices also go out by e-mail and by SMS
(短信) through the outbox, besides the in-app notice (站内消息) that always
stays. A person without a row gets both wherever an address or number is on
file (the behaviour before this revision).

``notification.kind`` and ``notification.params``: what a notice says as a
kind and its parameters, so the pages render it in the reader's language.
Rows written before keep only their stored (Chinese) subject and body, which
the pages show as they are.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_notice_prefs'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_pref',
        sa.Column('user_id', sa.String(length=100), nullable=False),
        sa.Column('email', sa.Boolean(), nullable=False),
        sa.Column('sms', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notice_pref_user_id_app_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_pref')),
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('kind')
    op.drop_table('notice_pref')
