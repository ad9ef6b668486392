"""single sign-on providers, sign-in rules per place, pupils' date of birth

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sso_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('secret_env', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_providers')),
    sa.UniqueConstraint('issuer', name=op.f('uq_sso_providers_issuer'))
    )
    op.create_table('sign_in_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('partnership_id', sa.Integer(), nullable=True),
    sa.Column('allowed_domains', sa.Text(), nullable=False),
    sa.Column('password_sign_in', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'],
                            name=op.f('fk_sign_in_policies_partnership_id_partnerships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'],
                            name=op.f('fk_sign_in_policies_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_policies')),
    sa.UniqueConstraint('partnership_id', name=op.f('uq_sign_in_policies_partnership_id')),
    sa.UniqueConstraint('school_id', name=op.f('uq_sign_in_policies_school_id'))
    )
    # Plain ADD COLUMN (no batch rebuild on SQLite: rebuilding pupils would cascade deletes).
    op.add_column('pupils', sa.Column('date_of_birth', sa.Date(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE pupils DROP COLUMN date_of_birth')
    else:
        op.drop_column('pupils', 'date_of_birth')
    op.drop_table('sign_in_policies')
    op.drop_table('sso_providers')
