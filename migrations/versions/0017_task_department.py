"""a step's owner department and a case's bundle flag, for the inbox at volume

Revision ID: 0017_task_department
Revises: 0016
Create Date: 2026-12-01

``human_task.department`` (办理部门): the department a step belongs to (``engine.inbox.task_department``:
its first candidate group that is a department, else the case's office), written when the step opens, so
the reviewer's department rule reads one indexed column instead of working out each step's first
department group from its candidate rows in every query. ``approval_case.in_bundle`` (一件事): the case
is a member of a bundle application, so the inbox leaves out its own acceptance step without looking
for its ``bundle_member`` row. Both are backfilled here, for open and closed steps.

Indexes: ``ix_human_task_open_department`` (one department's open steps in the inbox's order),
``ix_human_task_department_instance`` (the case rule: cases with a step of a department),
``ix_approval_case_in_bundle`` (the few bundle members) and ``ix_deadline_watch_carded`` again with
``instance_id``, so the inbox joins a case's clock to its steps by instance without reading the cases.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_task_department'
down_revision = '0016'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def _first_department_group(dialect: str) -> str:
    """SQL: the first element of ``human_task.candidate_groups`` (a JSON array) that is a department."""
    if dialect == 'postgresql':
        return ("(SELECT g.value FROM json_array_elements_text(CASE WHEN json_typeof(t.candidate_groups) = 'array' "
                "THEN t.candidate_groups ELSE '[]'::json END) WITH ORDINALITY AS g(value, position) "
                "JOIN department d ON d.id = g.value ORDER BY g.position LIMIT 1)")
    return ("(SELECT g.value FROM json_each(CASE WHEN json_type(t.candidate_groups) = 'array' "
            "THEN t.candidate_groups ELSE '[]' END) AS g "
            "JOIN department d ON d.id = g.value ORDER BY g.key LIMIT 1)")


def upgrade() -> None:
    op.add_column('human_task', sa.Column('department', sa.String(length=100), nullable=True))
    op.add_column('approval_case', sa.Column('in_bundle', sa.Boolean(), nullable=False, server_default=sa.false()))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE human_task AS t SET department = COALESCE({_first_department_group(dialect)}, "
               "(SELECT c.office_code FROM approval_case c WHERE c.instance_id = t.instance_id))")
    op.execute("UPDATE approval_case SET in_bundle = true "
               "WHERE id IN (SELECT case_id FROM bundle_member)")
    op.create_index('ix_human_task_open_department', 'human_task', ['department', 'due', 'created_at', 'id'],
                    unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_human_task_department_instance', 'human_task', ['department', 'instance_id'], unique=False)
    op.create_index('ix_approval_case_in_bundle', 'approval_case', ['instance_id'], unique=False,
                    postgresql_where=sa.text('in_bundle'), sqlite_where=sa.text('in_bundle = 1'))
    # the inbox's case cards are joined to the steps by instance (no join to the cases): read from this index alone
    op.drop_index('ix_deadline_watch_carded', table_name='deadline_watch')
    op.create_index('ix_deadline_watch_carded', 'deadline_watch',
                    ['active', 'state', 'kind', 'task_id', 'case_id', 'instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deadline_watch_carded', table_name='deadline_watch')
    op.create_index('ix_deadline_watch_carded', 'deadline_watch', ['active', 'state', 'kind', 'task_id', 'case_id'],
                    unique=False)
    op.drop_index('ix_approval_case_in_bundle', table_name='approval_case')
    op.drop_index('ix_human_task_department_instance', table_name='human_task')
    op.drop_index('ix_human_task_open_department', table_name='human_task')
    # plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of these tables would have to drop tables
    # other rows refer to
    op.execute('ALTER TABLE approval_case DROP COLUMN in_bundle')
    op.execute('ALTER TABLE human_task DROP COLUMN department')
