"""cases

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23

Cases (办件): applications for service items, their materials, opinions, notices,
the per-office daily counter behind readable case numbers, and credit records.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counter',
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('office_code', 'day', name=op.f('pk_case_counter'))
    )
    op.create_table('approval_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('item_code', sa.String(length=100), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('applicant_kind', sa.String(length=20), nullable=False),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('applicant_id_no', sa.String(length=60), nullable=True),
    sa.Column('applicant_user', sa.String(length=100), nullable=True),
    sa.Column('applicant_credit', sa.String(length=20), nullable=False),
    sa.Column('agent_name', sa.String(length=200), nullable=True),
    sa.Column('agent_user', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_approval_case_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_case')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_approval_case_instance_id')),
    sa.UniqueConstraint('number', name=op.f('uq_approval_case_number'))
    )
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_case_agent_user'), ['agent_user'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_case_applicant_user'), ['applicant_user'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_case_item_code'), ['item_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_case_status'), ['status'], unique=False)

    op.create_table('case_material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('tolerable', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('stored_path', sa.String(length=500), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_case_material_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_material')),
    sa.UniqueConstraint('case_id', 'name', name='uq_case_material_case_name')
    )
    with op.batch_alter_table('case_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_material_case_id'), ['case_id'], unique=False)

    op.create_table('case_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_case_notice_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notice')),
    sa.UniqueConstraint('number', name=op.f('uq_case_notice_number'))
    )
    with op.batch_alter_table('case_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notice_case_id'), ['case_id'], unique=False)

    op.create_table('case_opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('step', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('decision', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_case_opinion_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_opinion'))
    )
    with op.batch_alter_table('case_opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_opinion_case_id'), ['case_id'], unique=False)

    op.create_table('credit_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('applicant_id_no', sa.String(length=60), nullable=True),
    sa.Column('applicant_user', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_credit_record_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_record'))
    )
    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_record_applicant_id_no'), ['applicant_id_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_record_applicant_user'), ['applicant_user'], unique=False)
    op.create_table('carbon_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_carbon_copy_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_copy')),
    sa.UniqueConstraint('instance_id', 'user_id', name='uq_carbon_copy_instance_user')
    )
    with op.batch_alter_table('carbon_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carbon_copy_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carbon_copy_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('carbon_copy')
    with op.batch_alter_table('credit_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_record_applicant_user'))
        batch_op.drop_index(batch_op.f('ix_credit_record_applicant_id_no'))

    op.drop_table('credit_record')
    with op.batch_alter_table('case_opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_opinion_case_id'))

    op.drop_table('case_opinion')
    with op.batch_alter_table('case_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notice_case_id'))

    op.drop_table('case_notice')
    with op.batch_alter_table('case_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_material_case_id'))

    op.drop_table('case_material')
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_case_status'))
        batch_op.drop_index(batch_op.f('ix_approval_case_item_code'))
        batch_op.drop_index(batch_op.f('ix_approval_case_applicant_user'))
        batch_op.drop_index(batch_op.f('ix_approval_case_agent_user'))

    op.drop_table('approval_case')
    op.drop_table('case_counter')
