"""record keys: random keys per pupil and the score offsets derived from them

Every pupil gets a random 62-bit record key and an independent 32-bit cell key (stored,
never shown); every finished
response's scores get the fixed offsets (offset_1 .. offset_12) they carry into figures
that protect pupils the viewer may not see one by one; round statistics keep the cell
keys of their pupils. The offsets are worked out here as survey_app/privacy/keys.py does
(kept in step by tests/core/test_privacy.py::test_migration_offsets_match).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00

"""
import hashlib
import json
import secrets
from statistics import NormalDist

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

SLOTS = 12
LEVEL_SD = 35.0
ROUND_SD = 18.0


def _normal(record_key, *parts):
    text = ":".join(str(p) for p in (record_key, *parts))
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return NormalDist().inv_cdf((value + 0.5) / 2**64)


def offset(record_key, factor, round_id):
    return LEVEL_SD * _normal(record_key, "level", factor) + ROUND_SD * _normal(record_key, "round", round_id, factor)


def upgrade():
    # Plain ADD COLUMN (no batch rebuild on SQLite: rebuilding pupils would cascade deletes).
    # record_key stays nullable in the schema for that reason; every pupil has one.
    op.add_column('pupils', sa.Column('record_key', sa.BigInteger(), nullable=True))
    op.add_column('pupils', sa.Column('cell_key', sa.BigInteger(), nullable=True))
    for i in range(1, SLOTS + 1):
        op.add_column('response_scores', sa.Column(f'offset_{i}', sa.Float(), nullable=True))
    op.add_column('round_factor_stats', sa.Column('key_sum', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('round_factor_stats',
                  sa.Column('alpha_key_sum', sa.BigInteger(), nullable=False, server_default='0'))

    conn = op.get_bind()
    keys = {}
    for (pupil_id,) in conn.execute(sa.text('SELECT id FROM pupils')).all():
        keys[pupil_id] = secrets.randbits(62)
    items = list(keys.items())
    for start in range(0, len(items), 1000):
        conn.execute(sa.text('UPDATE pupils SET record_key = :k, cell_key = :c WHERE id = :i'),
                     [{'k': k, 'c': secrets.randbits(32), 'i': i} for i, k in items[start:start + 1000]])

    factors = {}
    for version_id, definition in conn.execute(sa.text('SELECT id, definition FROM questionnaire_versions')):
        if isinstance(definition, str):
            definition = json.loads(definition)
        factors[version_id] = [f['key'] for f in definition['factors']][:SLOTS]
    rows = conn.execute(sa.text(
        'SELECT rs.response_id, rs.round_id, rs.pupil_id, r.questionnaire_version_id, '
        + ', '.join(f'rs.score_{i}' for i in range(1, SLOTS + 1))
        + ' FROM response_scores rs JOIN responses r ON r.id = rs.response_id')).all()
    updates = []
    for row in rows:
        response_id, round_id, pupil_id, version_id = row[:4]
        values = {'r': response_id}
        for i, key in enumerate(factors.get(version_id, []), start=1):
            if row[3 + i] is not None:
                values[f'o{i}'] = offset(keys[pupil_id], key, round_id)
        updates.append(values)
    by_shape = {}
    for values in updates:
        by_shape.setdefault(tuple(sorted(values)), []).append(values)
    for shape, batch in by_shape.items():
        sets = ', '.join(f'offset_{name[1:]} = :{name}' for name in shape if name != 'r')
        if not sets:
            continue
        for start in range(0, len(batch), 1000):
            conn.execute(sa.text(f'UPDATE response_scores SET {sets} WHERE response_id = :r'),
                         batch[start:start + 1000])
    # Cached round statistics are recomputed with their cell keys on next use.
    conn.execute(sa.text('DELETE FROM round_factor_stats'))


def downgrade():
    drops = [('round_factor_stats', 'alpha_key_sum'), ('round_factor_stats', 'key_sum')]
    drops += [('response_scores', f'offset_{i}') for i in range(SLOTS, 0, -1)]
    drops += [('pupils', 'cell_key'), ('pupils', 'record_key')]
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite's own DROP COLUMN: a batch rebuild would drop and re-create pupils, and
        # dropping it deletes every row that cascades from a pupil (answers included).
        for table, column in drops:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        return
    for table, column in drops:
        op.drop_column(table, column)
