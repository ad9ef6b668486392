"""Commands, through app.test_cli_runner(), on both databases where they touch one."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models import (
    AccessCode,
    Answer,
    FactorScore,
    Pupil,
    Response,
    School,
    StaffUser,
    SurveyRound,
)
from survey_app.pupil.codes import ALPHABET, CODE_LENGTH

ROOT = Path(__file__).resolve().parents[2]


def test_check_questionnaire_good(runner):
    result = runner.invoke(args=["check-questionnaire", str(ROOT / "questionnaires/pass9-secondary.toml")])
    assert result.exit_code == 0
    assert "OK" in result.output and "50 statements" in result.output and "9 factors" in result.output
    # One line for the questionnaire, then one for each of its translations (all checked).
    first, *translations = result.output.strip().splitlines()
    assert "pass9-secondary v1.1.0" in first and "pupil and family wording for 9 of 9 factors" in first
    assert len(translations) == len(list((ROOT / "questionnaires/translations").glob("pass9-secondary.*.toml"))) >= 10
    assert all(": OK: " in line and "50 statements" in line for line in translations)


def test_check_questionnaire_bad(runner, tmp_path):
    text = (ROOT / "tests/data/mini.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('factor = "beta"\ntext = "Beta one."', 'factor = "delta"\ntext = "B."')
                   .replace("cutoffs = [30.0, 50.0, 80.0]", "cutoffs = [50.0, 30.0, 80.0]"))
    result = runner.invoke(args=["check-questionnaire", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: statements[1] (id 'b1').factor: unknown factor 'delta'" in result.output
    assert "cut-offs out of order" in result.output
    missing = runner.invoke(args=["check-questionnaire", str(tmp_path / "none.toml")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_data_builds_the_partnership_once(runner, tmp_path):
    codes = tmp_path / "codes.csv"
    logins = tmp_path / "logins.txt"
    result = runner.invoke(args=["demo-data", "--codes-csv", str(codes), "--logins-file", str(logins)])
    assert result.exit_code == 0, result.output
    # Demo staff with random passwords, shown and kept owner-only.
    lines = logins.read_text().splitlines()
    assert len(lines) == 12 and lines[0].split()[:2] == ["admin", "admin@demo.example.org"]
    assert lines[0] in result.output and (logins.stat().st_mode & 0o077) == 0
    assert count(StaffUser) == 12
    assert "School: Hollins School for Deaf Children" in result.output  # progress
    assert count(School) == 5 and 280 <= count(Pupil) <= 320
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.opens_at)).all()
    assert [r.phase for r in rounds] == ["before", "during", "after"]
    finished = db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
        Response.round_id == rounds[0].id, Response.finished_at.is_not(None)))
    assert finished > 250
    assert count(FactorScore) > 0 and count(Answer) > 20000
    # Pupils in one group come from several schools and year groups.
    group = rounds[0].groups[0]
    assert len({p.school_id for p in group.pupils}) > 1 and len({p.year_group for p in group.pupils}) > 1
    # Mean scores rise from before to during (the programme helps a little).
    means = [db.session.scalar(sa.select(sa.func.avg(FactorScore.score)).where(
        FactorScore.round_id == r.id)) for r in rounds[:2]]
    assert means[1] > means[0]

    with codes.open() as handle:
        rows = list(csv.DictReader(handle))
    assert "code" in rows[0] and len(rows) > 200
    assert all(len(r["code"]) == CODE_LENGTH and set(r["code"]) <= set(ALPHABET) for r in rows)
    unused = db.session.scalar(sa.select(sa.func.count()).select_from(AccessCode).where(
        AccessCode.round_id == rounds[2].id, AccessCode.first_used_at.is_(None)))
    assert unused == len(rows)

    before = (count(Pupil), count(Answer), count(AccessCode))
    again = runner.invoke(args=["demo-data", "--logins-file", str(logins)])
    assert again.exit_code == 0 and "already present" in again.output
    assert (count(Pupil), count(Answer), count(AccessCode)) == before
    assert count(StaffUser) == 12 and logins.read_text().splitlines() == lines
