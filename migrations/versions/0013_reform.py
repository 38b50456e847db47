"""the reform mechanisms: credit, 审管联动, 好差评 rectification, 否定备案

Revision ID: 0013_reform
Revises: 0012
Create Date: 2026-12-01

Credit entries (``credit_record``) get a level (good, bad, blacklist = 失信联合惩戒), the subject's kind, a
source and an expiry; existing entries (false commitments) are bad. New tables: the window's credit check per
case, per-item settings (绿色通道 limit, rectification limit), the linkage list, pushes and feedback, the
rectification of bad ratings, and the filing of negative outcomes for review.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_reform'
down_revision = '0012'
branch_labels = None
depends_on = None

_T = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('credit_record') as batch:
        batch.add_column(sa.Column('subject_kind', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('level', sa.String(length=20), nullable=False, server_default='bad'))
        batch.add_column(sa.Column('source', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('expires_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('recorded_by', sa.String(length=100), nullable=True))
    op.create_table(
        'credit_check',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('checked_by', sa.String(length=100), nullable=False),
        sa.Column('checked_at', _T, nullable=False),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('entries', sa.JSON(), nullable=False),
        sa.Column('opens', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
    )
    op.create_index('ix_credit_check_case_id', 'credit_check', ['case_id'])
    op.create_table(
        'reform_item_setting',
        sa.Column('item_code', sa.String(length=100), primary_key=True),
        sa.Column('green_channel_days', sa.Integer(), nullable=True),
        sa.Column('rectification_days', sa.Integer(), nullable=True),
    )
    op.create_table(
        'item_linkage',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('item_code', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('push_liaison', sa.String(length=100), nullable=True),
        sa.Column('receive_liaison', sa.String(length=100), nullable=True),
        sa.Column('pushed', sa.Text(), nullable=True),
        sa.UniqueConstraint('item_code', 'department', name='uq_item_linkage_item_code'),
    )
    op.create_index('ix_item_linkage_item_code', 'item_linkage', ['item_code'])
    op.create_index('ix_item_linkage_department', 'item_linkage', ['department'])
    op.create_table(
        'linkage_push',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('item_code', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('record', sa.JSON(), nullable=False),
        sa.Column('pushed_at', _T, nullable=False),
        sa.Column('pushed_by', sa.String(length=100), nullable=False),
        sa.Column('received_at', _T, nullable=False),
        sa.Column('opened_at', _T, nullable=True),
        sa.Column('opened_by', sa.String(length=100), nullable=True),
        sa.UniqueConstraint('case_id', 'department', 'stage', name='uq_linkage_push_case_id'),
    )
    op.create_index('ix_linkage_push_case_id', 'linkage_push', ['case_id'])
    op.create_index('ix_linkage_push_department', 'linkage_push', ['department'])
    op.create_table(
        'supervision_feedback',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('push_id', sa.Integer(), sa.ForeignKey('linkage_push.id'), nullable=True),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('measures', sa.Text(), nullable=True),
        sa.Column('credit_record_id', sa.Integer(), sa.ForeignKey('credit_record.id'), nullable=True),
        sa.Column('at', _T, nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
    )
    op.create_index('ix_supervision_feedback_case_id', 'supervision_feedback', ['case_id'])
    op.create_index('ix_supervision_feedback_department', 'supervision_feedback', ['department'])
    op.create_table(
        'rectification',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('rating_id', sa.Integer(), sa.ForeignKey('case_rating.id'), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('item_code', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('opened_at', _T, nullable=False),
        sa.Column('due', _T, nullable=False),
        sa.Column('working_days', sa.Integer(), nullable=False),
        sa.Column('watch_id', sa.Integer(), sa.ForeignKey('deadline_watch.id'), nullable=True),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.Column('replied_at', _T, nullable=True),
        sa.Column('replied_by', sa.String(length=100), nullable=True),
        sa.Column('on_time', sa.Boolean(), nullable=True),
        sa.Column('visit_answer', sa.Text(), nullable=True),
        sa.Column('visit_satisfied', sa.Boolean(), nullable=True),
        sa.Column('closed_at', _T, nullable=True),
        sa.Column('closed_by', sa.String(length=100), nullable=True),
        sa.UniqueConstraint('case_id', name='uq_rectification_case_id'),
    )
    op.create_index('ix_rectification_department', 'rectification', ['department'])
    op.create_index('ix_rectification_status', 'rectification', ['status'])
    op.create_table(
        'negative_filing',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=30), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('filed_at', _T, nullable=False),
        sa.Column('filed_by', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', _T, nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('reopened_case_id', sa.Integer(), sa.ForeignKey('approval_case.id'), nullable=True),
        sa.UniqueConstraint('case_id', 'outcome', name='uq_negative_filing_case_id'),
    )
    op.create_index('ix_negative_filing_case_id', 'negative_filing', ['case_id'])
    op.create_index('ix_negative_filing_department', 'negative_filing', ['department'])
    op.create_index('ix_negative_filing_status', 'negative_filing', ['status'])


def downgrade() -> None:
    for table in ('negative_filing', 'rectification', 'supervision_feedback', 'linkage_push', 'item_linkage',
                  'reform_item_setting', 'credit_check'):
        op.drop_table(table)
    with op.batch_alter_table('credit_record') as batch:
        for column in ('recorded_by', 'expires_on', 'source', 'level', 'subject_kind'):
            batch.drop_column(column)
