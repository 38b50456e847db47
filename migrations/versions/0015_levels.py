"""放权: the implementation list (事项实施清单) and each case's route

Revision ID: 0015_levels
Revises: 0014
Create Date: 2026-12-01

``item_implementation`` says per service item and region (a county, district or development zone, by its
department) how the item is exercised there: direct, entrusted, review_report, taken_back or zone. A case
keeps its route (region, mode, the authority named on its documents, the entrusted organ, the approving
office); a decision and a licence keep the entrusted organ (受委托机关) beside the authority.
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_levels'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'item_implementation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_code', sa.String(length=100), nullable=False),
        sa.Column('region', sa.String(length=40), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('handler', sa.String(length=40), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['item_code'], ['service_item.code'],
                                name=op.f('fk_item_implementation_item_code_service_item')),
        sa.ForeignKeyConstraint(['region'], ['department.id'], name=op.f('fk_item_implementation_region_department')),
        sa.ForeignKeyConstraint(['handler'], ['department.id'],
                                name=op.f('fk_item_implementation_handler_department')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_item_implementation')),
        sa.UniqueConstraint('item_code', 'region', name='uq_item_implementation_item_code'),
    )
    op.create_index(op.f('ix_item_implementation_item_code'), 'item_implementation', ['item_code'], unique=False)
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        for name, length in (('region', 40), ('route_mode', 20), ('authority_office', 40), ('authority_name', 300),
                             ('entrusted_office', 40), ('approving_office', 40)):
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch_op.create_index(batch_op.f('ix_approval_case_region'), ['region'], unique=False)
    for table in ('case_decision', 'licence'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('entrusted', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in ('licence', 'case_decision'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('entrusted')
    with op.batch_alter_table('approval_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_case_region'))
        for name in ('approving_office', 'entrusted_office', 'authority_name', 'authority_office', 'route_mode',
                     'region'):
            batch_op.drop_column(name)
    op.drop_index(op.f('ix_item_implementation_item_code'), table_name='item_implementation')
    op.drop_table('item_implementation')
