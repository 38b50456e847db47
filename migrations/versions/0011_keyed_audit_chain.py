"""keyed audit chain, covered rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24

Audit events are signed with an HMAC whose key lives outside the database
(``key_id`` names the key); the rows recording decisions are written into
the event of the command that wrote them (``covered``). On a database with
history, ``audit_head.opening`` notes how many events came before the chain
was keyed and the highest id of each covered table now: rows up to that id
were written before their content was recorded. The next event carries the
note into the chain (signed) and clears it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COVERED_TABLES = ("approval_case", "case_opinion", "case_notice", "issued_card", "credit_record")


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('covered', sa.JSON(), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opening', sa.JSON(), nullable=True))

    bind = op.get_bind()
    legacy = bind.execute(sa.text("SELECT seq FROM audit_head WHERE id = 1")).scalar() or 0
    covered_from = {t: bind.execute(sa.text(f"SELECT MAX(id) FROM {t}")).scalar() or 0 for t in COVERED_TABLES}
    if legacy or any(covered_from.values()):
        update = sa.text("UPDATE audit_head SET opening = :o WHERE id = 1").bindparams(
            sa.bindparam("o", type_=sa.JSON()))
        bind.execute(update, {"o": {"legacy_events": legacy, "covered_from": covered_from}})


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('opening')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('covered')
        batch_op.drop_column('key_id')
