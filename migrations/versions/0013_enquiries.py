"""first-contact enquiries (首问负责)

Revision ID: 0013_enquiries
Revises: 0012
Create Date: 2026-12-01

The first staff member an applicant meets records the enquiry, even when the item belongs to another office; it
is routed to that office, whose staff answer it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_enquiries'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'enquiry',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('applicant_name', sa.String(length=200), nullable=False),
        sa.Column('contact', sa.String(length=40), nullable=True),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('item_code', sa.String(length=100), nullable=True),
        sa.Column('department_id', sa.String(length=100), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=100), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_enquiry_recorded_by', 'enquiry', ['recorded_by'])
    op.create_index('ix_enquiry_department_status', 'enquiry', ['department_id', 'status'])


def downgrade() -> None:
    op.drop_table('enquiry')
