"""languages: the languages a round offers, and the language of each response

A round offers English and any languages named in `languages` (codes of the files in
questionnaires/translations/); `allow_draft_languages` lets it use translations nobody
has reviewed yet. Each response records the language its statements were shown in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN with server defaults (no batch rebuild: it would cascade deletes).
    op.add_column('survey_rounds', sa.Column('languages', sa.JSON(), nullable=False,
                                             server_default=sa.text("'[]'")))
    op.add_column('survey_rounds', sa.Column('allow_draft_languages', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column('responses', sa.Column('language', sa.String(length=35), nullable=False,
                                         server_default='en'))


def downgrade():
    drops = [('responses', 'language'), ('survey_rounds', 'allow_draft_languages'),
             ('survey_rounds', 'languages')]
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite's own DROP COLUMN: a batch rebuild would drop and re-create the tables,
        # deleting every row that cascades from them (answers included).
        for table, column in drops:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        return
    for table, column in drops:
        op.drop_column(table, column)
