"""the calendar's change stamp; indexes for the inbox and case lists at volume

Revision ID: 0015_perf
Revises: 0014
Create Date: 2026-12-01

``calendar_stamp``: one row whose value changes with every change of the working-day calendar, so each
process keeps the calendar in memory and a command reads that one row instead of both calendar tables
(``engine.calendar.load``).
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0015_perf'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamp = op.create_table(
        'calendar_stamp',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('stamp', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_stamp')),
    )
    op.bulk_insert(stamp, [{'id': 1, 'stamp': secrets.token_hex(16)}])


def downgrade() -> None:
    op.drop_table('calendar_stamp')
