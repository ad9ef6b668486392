"""response scores: each finished response's factor scores side by side

One row per finished response (factor in position i of its questionnaire in score_i,
band_i, code_i), so cohort reports join one row per pupil and round instead of one per
factor. Filled here from factor_scores; complete factor scores stored before answers were
packed (migration 0006) get their item codes now, from the answers, in both tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 02:50:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SLOTS = 12
# Packed codes must fit a signed 64-bit integer (as scoring.reliability.encode_items).
MAX_CODE = 2**62


def upgrade():
    columns = []
    for i in range(1, SLOTS + 1):
        columns += [sa.Column(f'score_{i}', sa.Float(), nullable=True),
                    sa.Column(f'band_{i}', sa.String(length=40), nullable=True),
                    sa.Column(f'code_{i}', sa.BigInteger(), nullable=True)]
    op.create_table('response_scores',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    *columns,
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_response_scores_pupil_id_pupils'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_scores_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_response_scores_round_id_survey_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_response_scores'))
    )
    with op.batch_alter_table('response_scores', schema=None) as batch_op:
        batch_op.create_index('ix_response_scores_round_id_pupil_id', ['round_id', 'pupil_id'], unique=False)

    conn = op.get_bind()
    versions = conn.execute(sa.text('SELECT id, definition FROM questionnaire_versions')).all()
    for version_id, definition in versions:
        if isinstance(definition, str):
            definition = json.loads(definition)
        _pack_missing_codes(conn, version_id, definition)
        _fill(conn, version_id, [f['key'] for f in definition['factors']])
    if conn.dialect.name == 'postgresql':
        # Statistics now, so the first cohort report is planned for the rows just written.
        conn.execute(sa.text('ANALYZE response_scores'))


def _fill(conn, version_id, factor_keys):
    """One INSERT ... SELECT per questionnaire version, factor scores pivoted by position."""
    names, picks, params = [], [], {'v': version_id}
    for i, key in enumerate(factor_keys[:SLOTS], start=1):
        params[f'f{i}'] = key
        for column, source in (('score', 'score'), ('band', 'band'), ('code', 'item_code')):
            names.append(f'{column}_{i}')
            picks.append(f'MAX(CASE WHEN fs.factor = :f{i} THEN fs.{source} END)')
    conn.execute(sa.text(
        f"INSERT INTO response_scores (response_id, round_id, pupil_id, {', '.join(names)}) "
        f"SELECT r.id, r.round_id, r.pupil_id, {', '.join(picks)} "
        "FROM responses r JOIN factor_scores fs ON fs.response_id = r.id "
        "WHERE r.questionnaire_version_id = :v GROUP BY r.id, r.round_id, r.pupil_id"), params)


def _pack_missing_codes(conn, version_id, definition):
    """Give complete factor scores stored without an item code their code, from the answers."""
    values = [o['value'] for o in definition['scale']['options']]
    lo, hi = min(values), max(values)
    base = hi - lo + 1
    statements = {}
    for s in definition['statements']:
        statements.setdefault(s['factor'], []).append(s)
    missing = conn.execute(sa.text(
        "SELECT fs.id, fs.response_id, fs.factor FROM factor_scores fs "
        "JOIN responses r ON r.id = fs.response_id "
        "WHERE r.questionnaire_version_id = :v AND fs.item_code IS NULL AND fs.score IS NOT NULL "
        "AND fs.items_answered = fs.items_total"), {'v': version_id}).all()
    by_response = {}
    for score_id, response_id, factor in missing:
        by_response.setdefault(response_id, []).append((score_id, factor))
    ids = list(by_response)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        answers = {}
        for response_id, item, value in conn.execute(
                sa.text("SELECT response_id, item, value FROM answers WHERE response_id IN :ids")
                .bindparams(sa.bindparam('ids', expanding=True)), {'ids': chunk}):
            answers.setdefault(response_id, {})[item] = value
        for response_id in chunk:
            given = answers.get(response_id, {})
            for score_id, factor in by_response[response_id]:
                items = statements.get(factor, [])
                if not items or any(s['id'] not in given for s in items) or base ** len(items) >= MAX_CODE:
                    continue
                code = 0
                for i, s in enumerate(items):
                    v = given[s['id']]
                    x = (lo + hi - v) if s['reversed'] else v
                    code += (x - lo) * base ** i
                conn.execute(sa.text("UPDATE factor_scores SET item_code = :c WHERE id = :i"),
                             {'c': code, 'i': score_id})


def downgrade():
    with op.batch_alter_table('response_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_response_scores_round_id_pupil_id')

    op.drop_table('response_scores')
