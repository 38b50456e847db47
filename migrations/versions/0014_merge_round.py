"""merge the features of this round into one head

Revision ID: 0014
Revises: 0013_admin, 0013_agents, 0013_auth, 0013_cross, 0013_enquiries, 0013_idem, 0013_licences, 0013_lists,
    0013_names, 0013_reform
Create Date: 2026-12-01

Each feature of this round added its tables in its own branch from 0012; this revision joins them, so the next
migration has one parent again (``alembic upgrade head`` works as before; ``engine.migrate`` applies every head).
"""

revision = '0014'
down_revision = ('0013_admin', '0013_agents', '0013_auth', '0013_cross', '0013_enquiries', '0013_idem',
                 '0013_licences', '0013_lists', '0013_names', '0013_reform')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
