"""merge the notice categories and the steps' owner department into one head

Revision ID: 0018
Revises: 0017_notice_kinds, 0017_task_department
Create Date: 2026-12-01

Notice settings per category (0017_notice_kinds) and the owner department of each step with the bundle flag
of each case (0017_task_department) were written side by side from 0016; this revision joins them so the next
migration has one parent again.
"""

revision = '0018'
down_revision = ('0017_notice_kinds', '0017_task_department')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
