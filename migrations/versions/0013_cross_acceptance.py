"""互为受理: the office of the window that accepted a case

Revision ID: 0013_cross
Revises: 0012
Create Date: 2026-12-01

Any window of the centre accepts any item (issue 16); the case keeps the accepting window's office
(``approval_case.accepting_office``, the acting user's department) beside the competent office
(``office_code``), and the case and the acceptance notice name both.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_cross'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepting_office', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        batch_op.drop_column('accepting_office')
