"""merge the second part of the round into one head

Revision ID: 0016
Revises: 0015_bundles, 0015_levels, 0015_notice_prefs, 0015_perf
Create Date: 2026-12-01

Bundles (一件事), powers across levels (放权), notice settings and the calendar stamp each added their tables in
their own branch from 0014; this revision joins them so the next migration has one parent again.
"""

revision = '0016'
down_revision = ('0015_bundles', '0015_levels', '0015_notice_prefs', '0015_perf')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
