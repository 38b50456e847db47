"""a step's card on its row, for the inbox's card counts at volume

Revision ID: 0019_step_card
Revises: 0018
Create Date: 2026-12-02

``human_task.card``: the graver of the step's own running clock and its case's running case clock, as an
index of ``Card.ORDER`` (0 normal, 1 warning, 2 yellow, 3 red), kept by ``engine.case_clock`` whenever
one of a case's clocks changes and when a step opens. The inbox read the card of every visible step by
joining each step to its clocks' states; its card counts and card filter now read the column, and the
few carded open steps from ``ix_human_task_open_card``. Backfilled here for the open steps.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_step_card'
down_revision = '0018'
branch_labels = None
depends_on = None

CARDED = sa.text("status = 'open' AND card > 0")
RANK = ("CASE w.state WHEN 'warning' THEN 1 WHEN 'yellow' THEN 2 WHEN 'red' THEN 3 ELSE 0 END")


def upgrade() -> None:
    op.add_column('human_task', sa.Column('card', sa.SmallInteger(), nullable=False, server_default=sa.text('0')))
    greatest = 'GREATEST' if op.get_bind().dialect.name == 'postgresql' else 'MAX'
    op.execute(f"UPDATE human_task SET card = {greatest}("
               f"COALESCE((SELECT MAX({RANK}) FROM deadline_watch w WHERE w.task_id = human_task.id "
               "AND w.active = true), 0), "
               f"COALESCE((SELECT MAX({RANK}) FROM deadline_watch w WHERE w.instance_id = human_task.instance_id "
               "AND w.kind = 'case' AND w.active = true), 0)) WHERE status = 'open'")
    op.create_index('ix_human_task_open_card', 'human_task', ['card', 'assignee'], unique=False,
                    postgresql_where=CARDED, sqlite_where=CARDED)


def downgrade() -> None:
    op.drop_index('ix_human_task_open_card', table_name='human_task')
    op.execute('ALTER TABLE human_task DROP COLUMN card')  # plain (SQLite 3.35+), as 0017: no batch copy
