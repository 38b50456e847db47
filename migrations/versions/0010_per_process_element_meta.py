"""element metadata per process

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Until now one upload's element metadata was merged across its files by
element id, so two processes deployed together that both have an element
'accept' shared one entry (the last file's): the other process lost its
yimen.caseStatus, step limit and task name. This recomputes each
definition's metadata from its deployment's files, its own elements winning.
A definition whose files no longer pass today's checks keeps what it had.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from engine.bpmn.prepare import prepare
    from engine.commands.deploy import metadata_for
    from engine.errors import EngineError

    bind = op.get_bind()
    definitions = bind.execute(sa.text(
        "SELECT d.id, d.key, d.deployment_id, p.allow_scripts FROM process_definition d "
        "JOIN deployment p ON p.id = d.deployment_id")).all()
    for definition_id, key, deployment_id, allow_scripts in definitions:
        files = [(name, bytes(original)) for name, original in bind.execute(sa.text(
            "SELECT filename, original FROM deployment_file WHERE deployment_id = :d ORDER BY id"),
            {"d": deployment_id}).all()]
        try:
            prepared = prepare(files, allow_scripts=bool(allow_scripts))
        except EngineError:
            continue
        update = sa.text("UPDATE process_definition SET element_meta = :m WHERE id = :i").bindparams(
            sa.bindparam("m", type_=sa.JSON()))
        bind.execute(update, {"m": metadata_for(prepared, key), "i": definition_id})


def downgrade() -> None:
    """Nothing to undo: the merged form is a subset of what this stores."""
