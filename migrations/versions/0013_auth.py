"""sessions that end, tokens that expire, sign-in throttling

Revision ID: 0013_auth
Revises: 0012
Create Date: 2026-12-01

``app_user.session_version``: a session remembers the version it was signed
in at; a password, role or group change, deactivation and "sign out
everywhere" bump it. ``ended_session``: the (hashed) ids of signed-out
sessions until their cookies would have expired anyway. ``api_token`` gets an
expiry and a last-used time. ``sign_in_throttle`` counts failed sign-ins per
account and per client address in the database, so every worker process sees
the same lock-outs.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_auth'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'ended_session',
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=100), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sid_hash', name=op.f('pk_ended_session')),
    )
    op.create_index(op.f('ix_ended_session_until'), 'ended_session', ['until'], unique=False)
    op.create_table(
        'sign_in_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttle')),
        sa.UniqueConstraint('kind', 'key', name='uq_sign_in_throttle_kind_key'),
    )
    op.create_index(op.f('ix_sign_in_throttle_last_failure_at'), 'sign_in_throttle', ['last_failure_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_throttle_last_failure_at'), table_name='sign_in_throttle')
    op.drop_table('sign_in_throttle')
    op.drop_index(op.f('ix_ended_session_until'), table_name='ended_session')
    op.drop_table('ended_session')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
