"""bundles (一件事 / 一链办理): definitions, applications and their member cases

Revision ID: 0015_bundles
Revises: 0014
Create Date: 2026-12-01

A bundle names member service items and the materials they share; an application for it ties one case per
member item to one acceptance and one delivery.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_bundles'
down_revision = '0014'
branch_labels = None
depends_on = None

_T = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'bundle',
        sa.Column('code', sa.String(length=100), primary_key=True),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('name_en', sa.String(length=300), nullable=True),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('shared_materials', sa.JSON(), nullable=False),
        sa.Column('cross_level', sa.Boolean(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', _T, nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
    )
    op.create_table(
        'bundle_application',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('number', sa.String(length=60), nullable=False),
        sa.Column('bundle_code', sa.String(length=100), sa.ForeignKey('bundle.code'), nullable=False),
        sa.Column('applicant_name', sa.String(length=200), nullable=False),
        sa.Column('applicant_user', sa.String(length=100), nullable=True),
        sa.Column('agent_user', sa.String(length=100), nullable=True),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('submitted_at', _T, nullable=False),
        sa.Column('accepted_at', _T, nullable=True),
        sa.Column('dispatched_at', _T, nullable=True),
        sa.Column('delivered_at', _T, nullable=True),
        sa.Column('received_at', _T, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.UniqueConstraint('number', name='uq_bundle_application_number'),
    )
    op.create_index('ix_bundle_application_bundle_code', 'bundle_application', ['bundle_code'])
    op.create_index('ix_bundle_application_applicant_user', 'bundle_application', ['applicant_user'])
    op.create_index('ix_bundle_application_agent_user', 'bundle_application', ['agent_user'])
    op.create_index('ix_bundle_application_status', 'bundle_application', ['status'])
    op.create_table(
        'bundle_member',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('application_id', sa.Integer(), sa.ForeignKey('bundle_application.id'), nullable=False),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('item_code', sa.String(length=100), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.UniqueConstraint('case_id', name='uq_bundle_member_case_id'),
    )
    op.create_index('ix_bundle_member_application_id', 'bundle_member', ['application_id'])


def downgrade() -> None:
    op.drop_index('ix_bundle_member_application_id', table_name='bundle_member')
    op.drop_table('bundle_member')
    for column in ('status', 'agent_user', 'applicant_user', 'bundle_code'):
        op.drop_index(f'ix_bundle_application_{column}', table_name='bundle_application')
    op.drop_table('bundle_application')
    op.drop_table('bundle')
