"""names in two languages

Revision ID: 0013_names
Revises: 0012
Create Date: 2026-12-01

The Chinese name (``name``, ``display_name``) stays the primary one; the
English name is optional and shown in the English pages: service items,
departments, people, deployed processes and the steps opened from them (a
step's English name comes from the diagram's ``yimen.nameEn`` property, see
docs/bpmn.md). Materials and special procedures of an item keep their names in
the item's JSON (``name`` and ``name_en``).
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_names'
down_revision = '0012'
branch_labels = None
depends_on = None

COLUMNS = (('service_item', 'name_en', 300), ('department', 'name_en', 200), ('app_user', 'display_name_en', 200),
           ('process_definition', 'name_en', 200), ('human_task', 'name_en', 500))


def upgrade() -> None:
    for table, column, length in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for table, column, _ in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
