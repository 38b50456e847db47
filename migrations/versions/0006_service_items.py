"""service items

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

The service-item catalogue (事项目录).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_item',
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('item_type', sa.String(length=40), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('competent_office', sa.String(length=300), nullable=False),
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('acceptance_conditions', sa.Text(), nullable=True),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('legal_limit_days', sa.Integer(), nullable=False),
    sa.Column('promised_limit_days', sa.Integer(), nullable=False),
    sa.Column('warning_days', sa.Integer(), nullable=True),
    sa.Column('special_procedures', sa.JSON(), nullable=False),
    sa.Column('fees', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('place_hours', sa.Text(), nullable=True),
    sa.Column('consultation', sa.Text(), nullable=True),
    sa.Column('complaint', sa.Text(), nullable=True),
    sa.Column('online_depth', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('process_version', sa.Integer(), nullable=True),
    sa.Column('joint_handling', sa.Boolean(), nullable=False),
    sa.Column('departments', sa.JSON(), nullable=False),
    sa.Column('department_rejection', sa.String(length=30), nullable=False),
    sa.Column('commitment_allowed', sa.Boolean(), nullable=False),
    sa.Column('verification_days', sa.Integer(), nullable=True),
    sa.Column('tolerance_allowed', sa.Boolean(), nullable=False),
    sa.Column('supplement_days', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_service_item'))
    )


def downgrade() -> None:
    op.drop_table('service_item')
