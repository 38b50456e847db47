"""deadlines and supervision

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

The case clock (deadline watches with warning / yellow / red states), cards
and their appeals, supervision orders (督办), special procedures (特别程序),
the item's card mode and the AB岗 backup person.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deadline_watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('item_code', sa.String(length=100), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('legal_days', sa.Integer(), nullable=True),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('warning_days', sa.Integer(), nullable=False),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.String(length=40), nullable=True),
    sa.Column('warning_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promised_due', sa.DateTime(timezone=True), nullable=False),
    sa.Column('legal_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_change_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation', sa.JSON(), nullable=False),
    sa.Column('card_mode', sa.String(length=20), nullable=False, server_default='auto'),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_deadline_watch_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_watch'))
    )
    with op.batch_alter_table('deadline_watch', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_watch_active_due', ['active', 'promised_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_watch_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_deadline_watch_department_state', ['department', 'state', 'active'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_watch_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_deadline_watch_next_change', ['next_change_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_watch_task_id'), ['task_id'], unique=False)

    op.create_table('special_procedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('expected_days', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_special_procedure_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_special_procedure'))
    )
    with op.batch_alter_table('special_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_special_procedure_case_id'), ['case_id'], unique=False)

    op.create_table('supervision_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_by', sa.String(length=100), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_supervision_order_case_id_approval_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_order'))
    )
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_order_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_order_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_order_department'), ['department'], unique=False)

    op.create_table('issued_card',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('color', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.String(length=100), nullable=True),
    sa.Column('appeal_reason', sa.Text(), nullable=True),
    sa.Column('appealed_by', sa.String(length=100), nullable=True),
    sa.Column('appealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['approval_case.id'], name=op.f('fk_issued_card_case_id_approval_case')),
    sa.ForeignKeyConstraint(['watch_id'], ['deadline_watch.id'], name=op.f('fk_issued_card_watch_id_deadline_watch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_card'))
    )
    with op.batch_alter_table('issued_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_card_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_issued_card_department_status', ['department', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_card_watch_id'), ['watch_id'], unique=False)

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backup_user_id', sa.String(length=100), nullable=True))

    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_mode', sa.String(length=20), nullable=False, server_default='auto'))



def downgrade() -> None:
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.drop_column('card_mode')

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('backup_user_id')

    with op.batch_alter_table('issued_card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_card_watch_id'))
        batch_op.drop_index('ix_issued_card_department_status')
        batch_op.drop_index(batch_op.f('ix_issued_card_case_id'))

    op.drop_table('issued_card')
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_order_department'))
        batch_op.drop_index(batch_op.f('ix_supervision_order_case_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_order_assignee'))

    op.drop_table('supervision_order')
    with op.batch_alter_table('special_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_special_procedure_case_id'))

    op.drop_table('special_procedure')
    with op.batch_alter_table('deadline_watch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_watch_task_id'))
        batch_op.drop_index('ix_deadline_watch_next_change')
        batch_op.drop_index(batch_op.f('ix_deadline_watch_instance_id'))
        batch_op.drop_index('ix_deadline_watch_department_state')
        batch_op.drop_index(batch_op.f('ix_deadline_watch_case_id'))
        batch_op.drop_index('ix_deadline_watch_active_due')

    op.drop_table('deadline_watch')
