"""tracking: attainment results with their scale, attendance periods, interventions (members,
dated notes) and the pattern thresholds a school or partnership chooses

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:02:20.743283

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attainment_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('assessment', sa.String(length=60), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('scale', sa.String(length=30), nullable=False),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('result_value', sa.Float(), nullable=False),
    sa.Column('target', sa.String(length=30), nullable=True),
    sa.Column('target_value', sa.Float(), nullable=True),
    sa.Column('prediction', sa.String(length=30), nullable=True),
    sa.Column('prediction_value', sa.Float(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_attainment_results_pupil_id_pupils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attainment_results')),
    sa.UniqueConstraint('pupil_id', 'subject', 'assessment', name=op.f('uq_attainment_results_pupil_id_subject_assessment'))
    )
    with op.batch_alter_table('attainment_results', schema=None) as batch_op:
        batch_op.create_index('ix_attainment_results_pupil_id_assessed_on', ['pupil_id', 'assessed_on'], unique=False)

    op.create_table('attendance_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('possible', sa.Integer(), nullable=True),
    sa.Column('attended', sa.Integer(), nullable=True),
    sa.Column('percent', sa.Float(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_attendance_periods_pupil_id_pupils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_periods')),
    sa.UniqueConstraint('pupil_id', 'starts_on', 'ends_on', name=op.f('uq_attendance_periods_pupil_id_starts_on_ends_on'))
    )
    op.create_table('interventions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('success_criterion', sa.Text(), nullable=False),
    sa.Column('measure', sa.String(length=40), nullable=True),
    sa.Column('measure_factor', sa.String(length=60), nullable=True),
    sa.Column('measure_value', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_interventions_created_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_interventions_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['staff_users.id'], name=op.f('fk_interventions_owner_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_interventions_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interventions'))
    )
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.create_index('ix_interventions_owner_id_review_on', ['owner_id', 'review_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_interventions_school_id'), ['school_id'], unique=False)

    op.create_table('pattern_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('partnership_id', sa.Integer(), nullable=True),
    sa.Column('pattern', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_pattern_thresholds_partnership_id_partnerships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_pattern_thresholds_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff_users.id'], name=op.f('fk_pattern_thresholds_updated_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pattern_thresholds')),
    sa.UniqueConstraint('school_id', 'partnership_id', 'pattern', 'name', name=op.f('uq_pattern_thresholds_school_id_partnership_id_pattern_name'))
    )
    op.create_table('intervention_members',
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['intervention_id'], ['interventions.id'], name=op.f('fk_intervention_members_intervention_id_interventions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_intervention_members_pupil_id_pupils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('intervention_id', 'pupil_id', name=op.f('pk_intervention_members'))
    )
    with op.batch_alter_table('intervention_members', schema=None) as batch_op:
        batch_op.create_index('ix_intervention_members_pupil_id', ['pupil_id'], unique=False)

    op.create_table('intervention_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intervention_id', sa.Integer(), nullable=False),
    sa.Column('noted_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_users.id'], name=op.f('fk_intervention_notes_author_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['intervention_id'], ['interventions.id'], name=op.f('fk_intervention_notes_intervention_id_interventions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intervention_notes'))
    )
    with op.batch_alter_table('intervention_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intervention_notes_intervention_id'), ['intervention_id'], unique=False)



def downgrade():
    with op.batch_alter_table('intervention_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intervention_notes_intervention_id'))

    op.drop_table('intervention_notes')
    with op.batch_alter_table('intervention_members', schema=None) as batch_op:
        batch_op.drop_index('ix_intervention_members_pupil_id')

    op.drop_table('intervention_members')
    op.drop_table('pattern_thresholds')
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interventions_school_id'))
        batch_op.drop_index('ix_interventions_owner_id_review_on')

    op.drop_table('interventions')
    op.drop_table('attendance_periods')
    with op.batch_alter_table('attainment_results', schema=None) as batch_op:
        batch_op.drop_index('ix_attainment_results_pupil_id_assessed_on')

    op.drop_table('attainment_results')
