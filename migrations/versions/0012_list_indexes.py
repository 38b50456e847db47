"""indexes for the inbox and case lists

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

The inbox and case lists are single SQL queries (engine/lists.py). They page
open steps due soonest first, look up each step's candidates and clocks, and
search cases by office, number, applicant name, ID number and date. Prefix
searches use pattern-ops indexes on PostgreSQL, so they work whatever the
database's collation.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index('ix_human_task_open_due', 'human_task', ['due', 'created_at', 'id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_task_candidate_task_kind_value', 'task_candidate', ['task_id', 'kind', 'value'], unique=False)
    op.create_index('ix_deadline_watch_task_active', 'deadline_watch', ['task_id', 'active', 'state'], unique=False)
    op.create_index('ix_deadline_watch_case_kind_active', 'deadline_watch', ['case_id', 'kind', 'active', 'state'],
                    unique=False)
    op.create_index('ix_deadline_watch_carded', 'deadline_watch', ['active', 'state', 'kind', 'task_id', 'case_id'],
                    unique=False)
    op.create_index('ix_approval_case_office_code', 'approval_case', ['office_code'], unique=False)
    op.create_index('ix_approval_case_applicant_id_no', 'approval_case', ['applicant_id_no'], unique=False)
    op.create_index('ix_approval_case_submitted_at', 'approval_case', ['submitted_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # SQLite's LIKE ignores case and uses no index anyway
        for column in ('number', 'applicant_name'):
            op.create_index(f'ix_approval_case_{column}_prefix', 'approval_case', [column], unique=False,
                            postgresql_ops={column: 'varchar_pattern_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('applicant_name', 'number'):
            op.drop_index(f'ix_approval_case_{column}_prefix', table_name='approval_case')
    for table, name in (('approval_case', 'ix_approval_case_submitted_at'),
                        ('approval_case', 'ix_approval_case_applicant_id_no'),
                        ('approval_case', 'ix_approval_case_office_code'),
                        ('deadline_watch', 'ix_deadline_watch_carded'),
                        ('deadline_watch', 'ix_deadline_watch_case_kind_active'),
                        ('deadline_watch', 'ix_deadline_watch_task_active'),
                        ('task_candidate', 'ix_task_candidate_task_kind_value'),
                        ('human_task', 'ix_human_task_open_due')):
        op.drop_index(name, table_name=table)
