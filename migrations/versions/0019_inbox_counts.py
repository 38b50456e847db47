"""a covering index of the open steps for the inbox's total and counts

Revision ID: 0019_inbox_counts
Revises: 0018
Create Date: 2026-12-02

``ix_human_task_open_cover``: the open steps by instance, carrying (on PostgreSQL, as included columns) the
step's id, assignee and form key, which is all the inbox's total and counts read of a step for a reader
without a department rule (window staff, supervisors): the count is an index-only scan instead of a pass
over the step rows. On SQLite it is a plain partial index on the instance.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_inbox_counts'
down_revision = '0018'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index('ix_human_task_open_cover', 'human_task', ['instance_id'], unique=False,
                    postgresql_include=['id', 'assignee', 'form_key'], postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_human_task_open_cover', table_name='human_task')
