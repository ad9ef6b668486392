"""authority: an authority or trust above partnerships and schools, the partnerships it
brokers (start date, paired schools), its staff, and versioned local norm tables

New tables only: schools, partnerships and staff accounts are linked by tables of their
own, so no existing table is rebuilt (on SQLite a rebuild of schools would cascade).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'authorities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_authorities')),
        sa.UniqueConstraint('name', name=op.f('uq_authorities_name')),
    )
    op.create_table(
        'authority_schools',
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authorities.id'], ondelete='CASCADE',
                                name=op.f('fk_authority_schools_authority_id_authorities')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ondelete='CASCADE',
                                name=op.f('fk_authority_schools_school_id_schools')),
        sa.PrimaryKeyConstraint('school_id', name=op.f('pk_authority_schools')),
    )
    op.create_index(op.f('ix_authority_schools_authority_id'), 'authority_schools', ['authority_id'])
    op.create_table(
        'authority_staff',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authorities.id'], ondelete='CASCADE',
                                name=op.f('fk_authority_staff_authority_id_authorities')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ondelete='CASCADE',
                                name=op.f('fk_authority_staff_staff_id_staff_users')),
        sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_authority_staff')),
    )
    op.create_index(op.f('ix_authority_staff_authority_id'), 'authority_staff', ['authority_id'])
    op.create_table(
        'brokered_partnerships',
        sa.Column('partnership_id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authorities.id'], ondelete='CASCADE',
                                name=op.f('fk_brokered_partnerships_authority_id_authorities')),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], ondelete='CASCADE',
                                name=op.f('fk_brokered_partnerships_partnership_id_partnerships')),
        sa.PrimaryKeyConstraint('partnership_id', name=op.f('pk_brokered_partnerships')),
    )
    op.create_index(op.f('ix_brokered_partnerships_authority_id'), 'brokered_partnerships', ['authority_id'])
    op.create_table(
        'partnership_pairings',
        sa.Column('partnership_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['partnership_id'], ['brokered_partnerships.partnership_id'], ondelete='CASCADE',
                                name=op.f('fk_partnership_pairings_partnership_id_brokered_partnerships')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ondelete='CASCADE',
                                name=op.f('fk_partnership_pairings_school_id_schools')),
        sa.PrimaryKeyConstraint('partnership_id', 'school_id', name=op.f('pk_partnership_pairings')),
    )
    op.create_table(
        'norm_tables',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('authority_id', sa.Integer(), nullable=False),
        sa.Column('partnership_id', sa.Integer(), nullable=True),
        sa.Column('reference', sa.String(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('questionnaire_key', sa.String(length=100), nullable=False),
        sa.Column('date_from', sa.Date(), nullable=False),
        sa.Column('date_to', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['authority_id'], ['authorities.id'], ondelete='CASCADE',
                                name=op.f('fk_norm_tables_authority_id_authorities')),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], ondelete='SET NULL',
                                name=op.f('fk_norm_tables_partnership_id_partnerships')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_norm_tables')),
        sa.UniqueConstraint('authority_id', 'reference', 'version', name=op.f('uq_norm_tables_authority_id_reference_version')),
    )
    op.create_index(op.f('ix_norm_tables_authority_id'), 'norm_tables', ['authority_id'])
    op.create_table(
        'norm_cells',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('table_id', sa.Integer(), nullable=False),
        sa.Column('factor', sa.String(length=100), nullable=False),
        sa.Column('year_group', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('points', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['table_id'], ['norm_tables.id'], ondelete='CASCADE',
                                name=op.f('fk_norm_cells_table_id_norm_tables')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_norm_cells')),
    )
    op.create_index('ix_norm_cells_table_id_factor_year_group', 'norm_cells',
                    ['table_id', 'factor', 'year_group'], unique=True)


def downgrade():
    op.drop_index('ix_norm_cells_table_id_factor_year_group', table_name='norm_cells')
    op.drop_table('norm_cells')
    op.drop_index(op.f('ix_norm_tables_authority_id'), table_name='norm_tables')
    op.drop_table('norm_tables')
    op.drop_table('partnership_pairings')
    op.drop_index(op.f('ix_brokered_partnerships_authority_id'), table_name='brokered_partnerships')
    op.drop_table('brokered_partnerships')
    op.drop_index(op.f('ix_authority_staff_authority_id'), table_name='authority_staff')
    op.drop_table('authority_staff')
    op.drop_index(op.f('ix_authority_schools_authority_id'), table_name='authority_schools')
    op.drop_table('authority_schools')
    op.drop_table('authorities')
