"""submission keys (Idempotency-Key on applications)

Revision ID: 0013_idem
Revises: 0012
Create Date: 2026-12-01

A repeated application with the same key (``Idempotency-Key`` on ``POST /api/cases``, the apply form's one-time
token) answers with the case its first use created. The unique key hash serialises two submissions racing with
the same key on both databases: the second waits for the first and then finds its case.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_idem'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'submission_key',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id', ondelete='CASCADE'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('key_hash', name='uq_submission_key_key_hash'),
    )
    op.create_index('ix_submission_key_case_id', 'submission_key', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_submission_key_case_id', table_name='submission_key')
    op.drop_table('submission_key')
