"""agent authorisations (代办委托书)

Revision ID: 0013_agents
Revises: 0012
Create Date: 2026-12-01

An agent applies for someone only under a recorded authorisation: granted online by the applicant (from an
account whose identity the window verified in person, 实名认证) or recorded by window staff from a signed
paper 委托书 with its scan.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_agents'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_authorisation',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('applicant_kind', sa.String(length=20), nullable=False),
        sa.Column('applicant_name', sa.String(length=200), nullable=False),
        sa.Column('applicant_id_no', sa.String(length=60), nullable=False),
        sa.Column('applicant_user', sa.String(length=100), nullable=True),
        sa.Column('agent_user', sa.String(length=100), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('confirmed', sa.String(length=20), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('scan_filename', sa.String(length=255), nullable=True),
        sa.Column('scan_path', sa.String(length=500), nullable=True),
        sa.Column('scan_sha256', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=100), nullable=True),
    )
    op.create_index('ix_agent_authorisation_applicant_id_no', 'agent_authorisation', ['applicant_id_no'])
    op.create_index('ix_agent_authorisation_applicant_user', 'agent_authorisation', ['applicant_user'])
    op.create_index('ix_agent_authorisation_lookup', 'agent_authorisation',
                    ['agent_user', 'applicant_id_no', 'status'])
    op.create_table(
        'verified_identity',
        sa.Column('user_id', sa.String(length=100), primary_key=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('id_no', sa.String(length=60), nullable=False),
        sa.Column('verified_by', sa.String(length=100), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_verified_identity_id_no', 'verified_identity', ['id_no'])


def downgrade() -> None:
    op.drop_table('verified_identity')
    op.drop_table('agent_authorisation')
