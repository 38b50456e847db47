"""decisions, licences, delivery and commitments

Revision ID: 0013_licences
Revises: 0012
Create Date: 2026-12-01

Numbered written decisions (决定书, Arts. 38-39) with a number series per
office, year and series; the electronic licence (证照, Art. 44) with its
status; the result's delivery (统一出件); the signed 告知承诺书 (online, or on
paper with its scan).
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_licences'
down_revision = '0012'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f(f'fk_{table}_case_id_approval_case'))


def upgrade() -> None:
    op.create_table(
        'document_counter',
        sa.Column('office_code', sa.String(length=40), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('series', sa.String(length=20), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office_code', 'year', 'series', name=op.f('pk_document_counter')))
    op.create_table(
        'case_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=False),
        sa.Column('approved', sa.Boolean(), nullable=False),
        sa.Column('office_code', sa.String(length=40), nullable=False),
        sa.Column('office', sa.String(length=200), nullable=True),
        sa.Column('item_name', sa.String(length=300), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('holder_id_no', sa.String(length=60), nullable=True),
        sa.Column('reasons', sa.Text(), nullable=True),
        sa.Column('legal_basis', sa.Text(), nullable=True),
        sa.Column('appeal_rights', sa.Text(), nullable=True),
        sa.Column('issued_at', WHEN, nullable=False),
        sa.Column('issued_by', sa.String(length=100), nullable=False),
        _case_fk('case_decision'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_decision')),
        sa.UniqueConstraint('case_id', name=op.f('uq_case_decision_case_id')),
        sa.UniqueConstraint('number', name=op.f('uq_case_decision_number')))
    op.create_table(
        'licence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('holder_id_no', sa.String(length=60), nullable=True),
        sa.Column('item_name', sa.String(length=300), nullable=False),
        sa.Column('scope', sa.Text(), nullable=True),
        sa.Column('office_code', sa.String(length=40), nullable=False),
        sa.Column('office', sa.String(length=200), nullable=True),
        sa.Column('due_at', WHEN, nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('issued_at', WHEN, nullable=True),
        sa.Column('issued_by', sa.String(length=100), nullable=True),
        sa.Column('revoked_at', WHEN, nullable=True),
        sa.Column('revoked_reason', sa.Text(), nullable=True),
        _case_fk('licence'),
        sa.ForeignKeyConstraint(['decision_id'], ['case_decision.id'],
                                name=op.f('fk_licence_decision_id_case_decision')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
        sa.UniqueConstraint('case_id', name=op.f('uq_licence_case_id')),
        sa.UniqueConstraint('number', name=op.f('uq_licence_number')))
    op.create_index(op.f('ix_licence_status'), 'licence', ['status'], unique=False)
    op.create_table(
        'case_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('recipient', sa.String(length=200), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('carrier', sa.String(length=100), nullable=True),
        sa.Column('tracking_no', sa.String(length=100), nullable=True),
        sa.Column('chosen_at', WHEN, nullable=False),
        sa.Column('dispatched_at', WHEN, nullable=True),
        sa.Column('dispatched_by', sa.String(length=100), nullable=True),
        sa.Column('delivered_at', WHEN, nullable=True),
        sa.Column('received_at', WHEN, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _case_fk('case_delivery'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_delivery')),
        sa.UniqueConstraint('case_id', name=op.f('uq_case_delivery_case_id')))
    op.create_table(
        'case_commitment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=False),
        sa.Column('signed_by', sa.String(length=100), nullable=False),
        sa.Column('signed_at', WHEN, nullable=False),
        sa.Column('scan_filename', sa.String(length=255), nullable=True),
        sa.Column('scan_path', sa.String(length=500), nullable=True),
        sa.Column('scan_sha256', sa.String(length=64), nullable=True),
        _case_fk('case_commitment'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_commitment')),
        sa.UniqueConstraint('case_id', name=op.f('uq_case_commitment_case_id')))


def downgrade() -> None:
    op.drop_table('case_commitment')
    op.drop_table('case_delivery')
    op.drop_index(op.f('ix_licence_status'), table_name='licence')
    op.drop_table('licence')
    op.drop_table('case_decision')
    op.drop_table('document_counter')
