"""Local norms: percentiles against numpy on the same data, the stored versioned table,
the commands, and the profile's label (local reference, N pupils, dates)."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from survey_app.authority.norms import ALL_YEARS, NormError, compute_norms, cutoffs_from_norms
from survey_app.db import db
from survey_app.models import Pupil, ResponseScores
from survey_app.models.base import utcnow
from survey_app.scoring.norms import NORM_PERCENTILES, norm_points, percentile, percentile_rank
from tests.authority.support import add_authority, fill_authority
from tests.conftest import login_as


@pytest.mark.parametrize("size", [1, 2, 7, 30, 301])
def test_percentiles_match_numpy(size):
    rng = random.Random(size)
    scores = [round(rng.uniform(0, 100), 2) for _ in range(size)] + [50.0] * (size // 5)
    ordered = sorted(scores)
    for q in (0, 5, 12.5, 50, 95, 100):
        assert percentile(ordered, q) == pytest.approx(float(np.percentile(scores, q)), abs=1e-9)
    expected = np.round(np.percentile(scores, NORM_PERCENTILES), 1)
    assert norm_points(scores) == pytest.approx(list(expected), abs=0.051)


def test_percentile_rank_reads_the_points():
    points = [float(p) for p in range(5, 100, 5)]  # the score equals the percentile
    assert percentile_rank(2.0, points) == ("below", 5)
    assert percentile_rank(99.0, points) == ("above", 95)
    assert percentile_rank(42.5, points) == ("at", 42)
    assert percentile_rank(60.0, points) == ("at", 60)
    assert percentile_rank(50.0, [40.0] * 9 + [50.0] * 5 + [60.0] * 5) == ("at", 60)


@pytest.fixture
def norm_world(app, staff_world):
    add_authority(staff_world)
    staff_world.rounds = fill_authority(staff_world, main=10, second=6, small=3)
    return staff_world


def _scores(round_ids, position=1):
    t = ResponseScores.__table__
    rows = db.session.execute(
        sa.select(Pupil.year_group, sa.func.avg(t.c[f"score_{position}"])).join(Pupil, Pupil.id == t.c.pupil_id)
        .where(t.c.round_id.in_(round_ids)).group_by(t.c.pupil_id, Pupil.year_group)).all()
    out = {}
    for year, value in rows:
        if value is not None:
            out.setdefault(year, []).append(float(value))
            out.setdefault(ALL_YEARS, []).append(float(value))
    return out


def test_norm_table_matches_numpy_and_is_versioned(app, norm_world):
    w = norm_world
    start, end = w.rounds[0].opens_at.date(), w.rounds[-1].opens_at.date()
    table = compute_norms(db.session, w.authority, None, "pass9-secondary", start, end, utcnow(), min_pupils=5)
    db.session.commit()
    factor = w.q.factors[0].key
    expected = _scores([r.id for r in w.rounds])
    cells = {c.year_group: c for c in table.cells if c.factor == factor}
    assert set(cells) == {y for y, v in expected.items() if len(v) >= 5}
    for year, cell in cells.items():
        assert cell.n == len(expected[year])
        assert cell.points == pytest.approx(list(np.round(np.percentile(expected[year], NORM_PERCENTILES), 1)),
                                            abs=0.051)
    assert table.n == len(expected[ALL_YEARS]) and table.version == 1
    again = compute_norms(db.session, w.authority, w.partnership, "pass9-secondary", start, end, utcnow(), 5)
    third = compute_norms(db.session, w.authority, None, "pass9-secondary", start, end, utcnow(), 5)
    assert (again.reference, again.version, third.version) == (f"partnership:{w.partnership.id}", 1, 2)
    cut = cutoffs_from_norms(table, (10, 25, 50))[factor]
    assert cut == [cells[ALL_YEARS].points[NORM_PERCENTILES.index(p)] for p in (10, 25, 50)]
    with pytest.raises(NormError):
        compute_norms(db.session, w.authority, None, "pass9-secondary", start, end, utcnow(), min_pupils=500)
    with pytest.raises(NormError):
        compute_norms(db.session, w.authority, None, "pass9-secondary", end, start - timedelta(days=1), utcnow())


def test_commands_and_the_profile_label(app, norm_world):
    w = norm_world
    runner = app.test_cli_runner()
    start, end = w.rounds[0].opens_at.date().isoformat(), w.rounds[-1].opens_at.date().isoformat()
    result = runner.invoke(args=["compute-norms", "--authority", "Test Authority", "--from", start, "--to", end,
                                 "--min-pupils", "5"])
    assert result.exit_code == 0, result.output
    assert "local reference (Test Authority)" in result.output and "national" not in result.output
    cut = runner.invoke(args=["norm-cutoffs", "1", "--percentiles", "10,25,50"])
    assert cut.exit_code == 0 and cut.output.count("cutoffs = [") == len(w.q.factors)
    assert runner.invoke(args=["norm-cutoffs", "1", "--percentiles", "12"]).exit_code != 0
    client = app.test_client()
    login_as(client, w.teacher)
    page = client.get(f"/staff/pupils/{w.authority_pupils[0].id}/profile")
    assert page.status_code == 200
    section = page.text[page.text.index('id="local-peers"'):page.text.index('id="quality"')]
    assert "local reference (Test Authority)" in section and "percentile" in section
    assert "national" not in section.lower()


def test_authority_staff_are_made_from_the_command_line(app, staff_world):
    add_authority(staff_world)
    runner = app.test_cli_runner()
    made = runner.invoke(args=["create-user", "viewer@example.org", "--role", "authority", "--password-stdin"],
                         input="a-long-unusual-passphrase-for-tests\n")
    assert made.exit_code == 0, made.output
    moved = runner.invoke(args=["add-authority-staff", "viewer@example.org", "--authority", "Test Authority"])
    assert moved.exit_code == 0 and "aggregates only" in moved.output
    from survey_app.models import StaffUser

    viewer = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "viewer@example.org"))
    assert viewer.role == "authority" and viewer.scope_label == "Test Authority"
    refused = runner.invoke(args=["create-user", "v2@example.org", "--role", "authority", "--school",
                                  staff_world.school.urn, "--password-stdin"], input="a-long-unusual-passphrase-x\n")
    assert refused.exit_code != 0
