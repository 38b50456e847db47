"""indexes for the supervision lists and the dashboard

Revision ID: 0013_lists
Revises: 0012
Create Date: 2026-12-01

Cards, supervision orders, incidents, running clocks and due lists are single SQL queries
(engine/supervision.py, engine/queries.py): a department's cards and orders newest first, open
incidents, a department's running clocks by promised limit, and the dashboard's case clocks
started or stopped within a period, cards issued within it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_lists'
down_revision = '0012'
branch_labels = None
depends_on = None

OPEN_INCIDENT = sa.text("resolved_at IS NULL")
INDEXES = (
    ('issued_card', 'ix_issued_card_department_id', ['department', 'id']),
    ('issued_card', 'ix_issued_card_issued_at', ['issued_at']),
    ('supervision_order', 'ix_supervision_order_status_deadline', ['status', 'deadline']),
    ('supervision_order', 'ix_supervision_order_issued_at', ['issued_at']),
    ('deadline_watch', 'ix_deadline_watch_department_active_due', ['department', 'active', 'promised_due']),
    ('deadline_watch', 'ix_deadline_watch_kind_active_started', ['kind', 'active', 'started_at']),
    ('deadline_watch', 'ix_deadline_watch_kind_stopped', ['kind', 'stopped_at']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index('ix_incident_open', 'incident', ['id'], unique=False, postgresql_where=OPEN_INCIDENT,
                    sqlite_where=OPEN_INCIDENT)


def downgrade() -> None:
    op.drop_index('ix_incident_open', table_name='incident')
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
