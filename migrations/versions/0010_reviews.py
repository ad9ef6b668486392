"""reviews: using results with pupils and families (round settings, hopes, targets and
their steps, review days and meetings, withdrawals, pupil comments, safeguarding words)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:03:18.438606

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('safeguarding_words',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_safeguarding_words_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safeguarding_words')),
    sa.UniqueConstraint('school_id', 'word', name=op.f('uq_safeguarding_words_school_id_word'))
    )
    op.create_table('review_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.String(length=5), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_review_days_created_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_review_days_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_days'))
    )
    with op.batch_alter_table('review_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_days_school_id'), ['school_id'], unique=False)

    op.create_table('withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_withdrawals_pupil_id_pupils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f('fk_withdrawals_recorded_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawals')),
    sa.UniqueConstraint('pupil_id', name=op.f('uq_withdrawals_pupil_id'))
    )
    op.create_table('pupil_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_pupil_comments_pupil_id_pupils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_pupil_comments_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pupil_comments')),
    sa.UniqueConstraint('pupil_id', 'round_id', name=op.f('uq_pupil_comments_pupil_id_round_id'))
    )
    with op.batch_alter_table('pupil_comments', schema=None) as batch_op:
        batch_op.create_index('ix_pupil_comments_round_id', ['round_id'], unique=False)

    op.create_table('pupil_hopes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('hopes', sa.Text(), nullable=False),
    sa.Column('better_at', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_pupil_hopes_pupil_id_pupils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_pupil_hopes_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pupil_hopes')),
    sa.UniqueConstraint('pupil_id', 'round_id', name=op.f('uq_pupil_hopes_pupil_id_round_id'))
    )
    with op.batch_alter_table('pupil_hopes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pupil_hopes_round_id'), ['round_id'], unique=False)

    op.create_table('review_day_groups',
    sa.Column('review_day_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_review_day_groups_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_day_id'], ['review_days.id'], name=op.f('fk_review_day_groups_review_day_id_review_days'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_day_id', 'group_id', name=op.f('pk_review_day_groups'))
    )
    op.create_table('review_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_day_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('who_came', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_review_meetings_pupil_id_pupils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_day_id'], ['review_days.id'], name=op.f('fk_review_meetings_review_day_id_review_days'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_meetings')),
    sa.UniqueConstraint('review_day_id', 'pupil_id', name=op.f('uq_review_meetings_review_day_id_pupil_id'))
    )
    with op.batch_alter_table('review_meetings', schema=None) as batch_op:
        batch_op.create_index('ix_review_meetings_pupil_id', ['pupil_id'], unique=False)

    op.create_table('round_review_settings',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('show_results', sa.Boolean(), nullable=False),
    sa.Column('pupil_voice', sa.Boolean(), nullable=False),
    sa.Column('safeguarding_lead_id', sa.Integer(), nullable=True),
    sa.Column('family_contact', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_round_review_settings_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['safeguarding_lead_id'], ['staff_users.id'], name=op.f('fk_round_review_settings_safeguarding_lead_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_round_review_settings'))
    )
    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=100), nullable=True),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('agreed_pupil', sa.Boolean(), nullable=False),
    sa.Column('agreed_tutor', sa.Boolean(), nullable=False),
    sa.Column('agreed_parent', sa.Boolean(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_targets_created_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['review_meetings.id'], name=op.f('fk_targets_meeting_id_review_meetings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_targets_pupil_id_pupils'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index('ix_targets_pupil_id_review_on', ['pupil_id', 'review_on'], unique=False)

    op.create_table('target_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_steps_target_id_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_steps'))
    )
    with op.batch_alter_table('target_steps', schema=None) as batch_op:
        batch_op.create_index('ix_target_steps_target_id', ['target_id'], unique=False)



def downgrade():
    with op.batch_alter_table('target_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_target_steps_target_id')

    op.drop_table('target_steps')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index('ix_targets_pupil_id_review_on')

    op.drop_table('targets')
    op.drop_table('round_review_settings')
    with op.batch_alter_table('review_meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_review_meetings_pupil_id')

    op.drop_table('review_meetings')
    op.drop_table('review_day_groups')
    with op.batch_alter_table('pupil_hopes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pupil_hopes_round_id'))

    op.drop_table('pupil_hopes')
    with op.batch_alter_table('pupil_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_pupil_comments_round_id')

    op.drop_table('pupil_comments')
    op.drop_table('withdrawals')
    with op.batch_alter_table('review_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_days_school_id'))

    op.drop_table('review_days')
    op.drop_table('safeguarding_words')
