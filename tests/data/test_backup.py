"""Backup and restore: exact round trips between SQLite and PostgreSQL, refusals that
change nothing, and a consistent snapshot while answers are being saved."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import stamp, upgrade

from survey_app.data.backup import BackupError, restore_backup, write_backup
from survey_app.db import db
from survey_app.models.base import utcnow
from tests.conftest import PG_URL, make_test_app

# ----- helpers -----------------------------------------------------------------------


@pytest.fixture
def stamped(app):
    """Mark the test database (built by create_all) as being at the head revision, as a
    migrated production database is; remove the mark afterwards."""
    stamp()
    yield app
    db.session.remove()  # a transaction left open by the test would block the DROP
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


@contextlib.contextmanager
def fresh_database(kind: str, tmp_path, request):
    """Yield an app on a new database (SQLite file or PostgreSQL schema) upgraded to head."""
    schema = admin = None
    if kind == "sqlite":
        url = "sqlite:///" + str(tmp_path / f"fresh-{uuid.uuid4().hex[:6]}.sqlite3")
    else:
        request.getfixturevalue("pg_schema_url")  # skips or fails without PostgreSQL
        schema = f"r_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    target = make_test_app(url)
    try:
        with target.app_context():
            upgrade()
            db.session.remove()
        yield target
    finally:
        with target.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def all_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every table, all columns, in primary-key order (read with the models'
    column types, so both databases give the same Python values)."""
    out = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(*table.columns).order_by(*order))]
    return out


def backup_lines(path) -> tuple[dict, dict[str, list[list]], dict]:
    """Return (header, rows per table, end line) of a backup file."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    header, end = lines[0], lines[-1]
    rows: dict[str, list[list]] = {}
    current = None
    for item in lines[1:-1]:
        if isinstance(item, dict):
            current = item["table"]
            rows[current] = []
        else:
            rows[current].append(item)
    return header, rows, end


def populate(sw) -> None:
    """Add to the staff world finished and unfinished responses and a row in every kind of
    table, with values that are easy to mangle: unicode, bytes, odd floats, dates, JSON."""
    from survey_app.models import (
        AccessCode,
        AuditEvent,
        ChangeLog,
        Job,
        PasswordReset,
        PendingImport,
        PupilFlag,
        RoundFactorStats,
        SupportEntry,
        pupil_flag_members,
    )
    from survey_app.pupil.answers import GivenAnswer, finish_response, record_answers, start_or_resume

    now = utcnow()
    items = [s.id for s in sw.q.statements]
    codes = db.session.scalars(sa.select(AccessCode).where(AccessCode.round_id == sw.round.id)
                               .order_by(AccessCode.id)).all()
    for n, access in enumerate(codes):
        response = start_or_resume(db.session, access, now)
        count = len(items) if n % 2 == 0 else 7
        given = [GivenAnswer(item, 1 + (i + n) % 4, 10**15 + i) for i, item in enumerate(items[:count])]
        record_answers(db.session, response, given, now)
        if n % 2 == 0:
            finish_response(db.session, response, now + timedelta(minutes=9, microseconds=123457))
        db.session.commit()

    pupil = sw.pupils[0]
    pupil.first_name = "Zoë 'Ally' O’Brien — 学生 😀"
    pupil.left_on = date(2025, 7, 18)
    pupil.fsm = True
    sw.pupils[1].shared_with_partnership = False
    flag = PupilFlag(name="Mentored", description="Line one\nline two\ttab", school_id=sw.school.id,
                     created_by_id=sw.lead.id)
    db.session.add(flag)
    db.session.flush()
    db.session.execute(pupil_flag_members.insert(), [{"flag_id": flag.id, "pupil_id": pupil.id}])
    db.session.add_all([
        SupportEntry(pupil_id=pupil.id, kind="intervention", intervention_type="Mentoring",
                     text="<b>not bold</b> & fine", starts_on=date(2025, 1, 6), ends_on=None,
                     author_id=sw.teacher.id),
        RoundFactorStats(round_id=sw.round.id, factor="self_regard", n=3, mean=0.1 + 0.2,
                         sd=1e-300, alpha=-0.0, alpha_n=2, finished_responses=2),
        RoundFactorStats(round_id=sw.round.id, factor="general_work_ethic", n=1, mean=2 / 3,
                         sd=None, alpha=None, alpha_n=0, finished_responses=1),
        AuditEvent(staff_id=sw.admin.id, action="profile.view", pupil_id=pupil.id,
                   detail={"nested": {"list": [1, 2.5, None, True, "é"]}, "empty": {}}),
        ChangeLog(staff_id=sw.lead.id, entity="pupil", entity_id=pupil.id, action="edit",
                  changes={"surname": ["Old", "New"]}),
        Job(token="t" * 64, staff_id=sw.lead.id, kind="cohort.xlsx", params={"rounds": [1, 2]},
                  status="done", progress=100, content=bytes(range(256)) + b"\x00end",
                  finished_at=datetime(2025, 3, 1, 12, 0, 0, 1, tzinfo=UTC)),
        PasswordReset(staff_id=sw.teacher.id, token_hash="h" * 64, created_by_id=sw.admin.id,
                      expires_at=now + timedelta(days=1)),
        PendingImport(token="p" * 64, staff_id=sw.lead.id, kind="pupils", school_id=sw.school.id,
                      filename="roster.csv", content="upn,first_name\r\nA,B\r\n"),
    ])
    sw.teacher.locked_until = datetime(2030, 1, 1, tzinfo=UTC)
    db.session.commit()


MUST_HAVE_ROWS = {
    "partnerships", "schools", "pupils", "groups", "group_members", "group_staff", "staff_users",
    "questionnaire_versions", "survey_rounds", "round_groups", "access_codes", "responses",
    "answers", "factor_scores", "support_entries", "round_factor_stats", "audit_events",
    "change_log", "jobs", "password_resets", "pending_imports", "pupil_flags",
    "pupil_flag_members",
}


# ----- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_backup_restores_every_row_exactly(stamped, staff_world, runner, tmp_path, request, target_kind):
    populate(staff_world)
    source = all_rows(db.engine)
    assert {name for name, rows in source.items() if rows} >= MUST_HAVE_ROWS
    path = tmp_path / "survey.jsonl.gz"

    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    assert path.stat().st_mode & 0o077 == 0  # owner only: it holds pupils' data
    header, rows, end = backup_lines(path)
    assert header["revision"] == db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert [t["name"] for t in header["tables"]] == [t.name for t in db.metadata.sorted_tables]
    assert {t["name"]: t["rows"] for t in header["tables"]} == {k: len(v) for k, v in source.items()}
    assert {k: len(v) for k, v in rows.items()} == {k: len(v) for k, v in source.items()}
    assert end == {"end": True, "tables": len(source), "rows": sum(len(v) for v in source.values())}

    pupil_id = staff_world.pupils[0].id
    record_key = staff_world.pupils[0].record_key  # privacy: the same noise after a restore
    assert record_key is not None
    # Nothing of the source's session may run inside the target's app context: a session
    # binds to the engine of the app current when it starts a transaction.
    db.session.close()
    with fresh_database(target_kind, tmp_path, request) as target, target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(path)])
        assert result.exit_code == 0, result.output
        assert "Restored" in result.output
        restored = all_rows(db.engine)
        for name in source:
            assert restored[name] == source[name], name
        # New rows get fresh ids after a restore (PostgreSQL sequences moved on).
        from survey_app.models import Partnership, Pupil

        extra = Partnership(name="Added after restore")
        db.session.add(extra)
        db.session.commit()
        assert extra.id == max(r[0] for r in source["partnerships"]) + 1
        pupil = db.session.get(Pupil, pupil_id)
        assert pupil.first_name == "Zoë 'Ally' O’Brien — 学生 😀"
        assert pupil.record_key == record_key
        db.session.commit()
        # And again over the top of it (a migrated database, with its triggers).
        result = target.test_cli_runner().invoke(args=["restore", "--replace", str(path)])
        assert result.exit_code == 0, result.output
        assert all_rows(db.engine) == source


def test_restore_refuses_a_database_that_is_not_empty(stamped, staff_world, runner, tmp_path):
    populate(staff_world)
    path = tmp_path / "b.jsonl.gz"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    before = all_rows(db.engine)
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert "not empty" in result.output and "--replace" in result.output
    assert "Nothing was changed" in result.output
    assert all_rows(db.engine) == before


def test_restore_replace_puts_back_the_backup(stamped, staff_world, runner, tmp_path):
    from survey_app.models import Answer, Pupil

    populate(staff_world)
    path = tmp_path / "b.jsonl.gz"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    before = all_rows(db.engine)
    # Changes after the backup: a renamed pupil, a new pupil, deleted answers.
    staff_world.pupils[1].surname = "Changed"
    db.session.add(Pupil(school=staff_world.school, upn="A123456789012", first_name="New",
                         surname="Pupil", year_group=7))
    db.session.execute(sa.delete(Answer).where(Answer.item.like("%1")))
    db.session.commit()
    assert all_rows(db.engine) != before

    result = runner.invoke(args=["restore", "--replace", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert all_rows(db.engine) == before
    added = Pupil(school_id=staff_world.school.id, upn="A123456789013", first_name="After",
                  surname="Restore", year_group=8)
    db.session.add(added)
    db.session.commit()  # no clash with an id handed out before the restore
    assert added.id == max(r[0] for r in before["pupils"]) + 1


def _rewrite(src, dst, change_header=None, keep_lines=None):
    with gzip.open(src, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    if change_header:
        header = json.loads(lines[0])
        change_header(header)
        lines[0] = json.dumps(header) + "\n"
    if keep_lines is not None:
        lines = lines[:keep_lines]
    with gzip.open(dst, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)


def test_restore_refuses_other_revisions_and_damaged_files(stamped, staff_world, runner, tmp_path):
    populate(staff_world)
    good = tmp_path / "good.jsonl.gz"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    before = all_rows(db.engine)

    other_revision = tmp_path / "other.jsonl.gz"
    _rewrite(good, other_revision, change_header=lambda h: h.update(revision="0000old"))
    cut_off = tmp_path / "cut.jsonl.gz"  # stops in the middle of the answers
    with gzip.open(good, "rt") as handle:
        total = sum(1 for _ in handle)
    _rewrite(good, cut_off, keep_lines=total - 40)
    bad_value = tmp_path / "bad.jsonl.gz"  # a value of the wrong kind, in the last row's last column
    with gzip.open(good, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("["))  # (tables after it may be empty)
    row = json.loads(lines[last])
    row[-1] = "not a value of that kind"
    lines[last] = json.dumps(row) + "\n"
    with gzip.open(bad_value, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    not_gzip = tmp_path / "plain.txt"
    not_gzip.write_text("hello\n")
    not_ours = tmp_path / "other-app.jsonl.gz"
    with gzip.open(not_ours, "wt") as handle:
        handle.write('{"format": "something-else"}\n')

    cases = [
        (other_revision, "schema revision 0000old"),
        (cut_off, "incomplete"),
        (bad_value, "damaged"),
        (not_gzip, "not a readable backup"),
        (not_ours, "not a backup file made by this app"),
        (tmp_path / "missing.jsonl.gz", "no backup file"),
    ]
    revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    empty = sa.create_engine("sqlite:///" + str(tmp_path / "no-schema.sqlite3"))
    with pytest.raises(BackupError, match=f"no schema yet.*db upgrade {revision}"):
        restore_backup(empty, db.metadata, good)
    empty.dispose()
    for path, message in cases:
        # --replace: even when allowed to empty the database, a bad file changes nothing.
        result = runner.invoke(args=["restore", "--replace", str(path)])
        assert result.exit_code == 1, (path, result.output)
        assert message in result.output, (path, result.output)
        assert all_rows(db.engine) == before, path


def test_backup_and_restore_refuse_an_unmigrated_database(app, world, runner, tmp_path):
    # The test database is built without migrations, so it has no schema revision.
    result = runner.invoke(args=["backup", str(tmp_path / "x.jsonl.gz")])
    assert result.exit_code == 1
    assert "db upgrade" in result.output
    assert not (tmp_path / "x.jsonl.gz").exists()


def test_restore_refuses_a_database_at_another_revision(stamped, world, runner, tmp_path):
    path = tmp_path / "b.jsonl.gz"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'zzzz'"))
    db.session.commit()
    with pytest.raises(BackupError, match=f"made at schema revision {revision}, but this database is at zzzz"):
        restore_backup(db.engine, db.metadata, path, replace=True)


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_database_behind_the_code_backs_up_and_restores_as_it_is(
        stamped, staff_world, tmp_path, request, target_kind):
    """Before `db upgrade` the database is behind the app's head revision: the backup reads
    the tables as they are in the database (reflected), and such a backup restores into a
    database upgraded to its revision, again without the models, with every value exact."""
    populate(staff_world)
    source = all_rows(db.engine)
    by_models, as_is = tmp_path / "models.jsonl.gz", tmp_path / "as-is.jsonl.gz"
    write_backup(db.engine, db.metadata, by_models, utcnow())
    write_backup(db.engine, db.metadata, as_is, utcnow(), head="a-newer-revision")
    header_models, rows_models, _ = backup_lines(by_models)
    header_as_is, rows_as_is, _ = backup_lines(as_is)

    def columns(header):
        return {t["name"]: dict(t["columns"]) for t in header["tables"]}

    assert columns(header_as_is) == columns(header_models)
    assert {k: len(v) for k, v in rows_as_is.items()} == {k: len(v) for k, v in rows_models.items()}
    db.session.close()
    with fresh_database(target_kind, tmp_path, request) as target, target.app_context():
        restore_backup(db.engine, db.metadata, as_is, head="a-newer-revision")
        assert all_rows(db.engine) == source
        restore_backup(db.engine, db.metadata, as_is, replace=True)  # through the models
        assert all_rows(db.engine) == source
        restore_backup(db.engine, db.metadata, by_models, replace=True, head="a-newer-revision")
        assert all_rows(db.engine) == source


# ----- a consistent snapshot while pupils answer ---------------------------------------


def test_backup_is_consistent_while_answers_are_saved(stamped, world, tmp_path):
    """A thread keeps starting responses, saving answers and finishing, through the same
    service functions as the survey pages, while backups run; every backup's answers and
    scores belong to responses in the same backup, and its counts match its rows."""
    from survey_app.models import AccessCode, Pupil
    from survey_app.models.upn import make_upn
    from survey_app.pupil.answers import GivenAnswer, finish_response, record_answers, start_or_resume
    from survey_app.pupil.codes import issue_codes

    app = stamped
    extra = [Pupil(school=world.school, upn=make_upn(202, 4000, 15, i + 1), first_name=f"P{i}",
                   surname="Busy", year_group=8) for i in range(150)]
    db.session.add_all(extra)
    db.session.flush()
    issue_codes(db.session, world.round, [p.id for p in extra])
    db.session.commit()
    items = [s.id for s in world.q.statements]
    code_ids = db.session.scalars(sa.select(AccessCode.id).where(AccessCode.round_id == world.round.id)
                                  .order_by(AccessCode.id)).all()

    stop = threading.Event()
    commits = [0]
    failure: list[BaseException] = []

    def answering() -> None:
        try:
            with app.app_context():
                for n, code_id in enumerate(code_ids):
                    if stop.is_set():
                        break
                    now = utcnow()
                    response = start_or_resume(db.session, db.session.get(AccessCode, code_id), now)
                    given = [GivenAnswer(item, 1 + (i + n) % 4, 10**15 + i) for i, item in enumerate(items[:12])]
                    record_answers(db.session, response, given, now)
                    if n % 3 == 0:
                        record_answers(db.session, response,
                                       [GivenAnswer(item, 2, 10**15 + 100 + i) for i, item in enumerate(items)], now)
                        finish_response(db.session, response, now)
                    db.session.commit()
                    commits[0] += 1
                db.session.remove()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failure.append(exc)

    writer = threading.Thread(target=answering)
    writer.start()
    checked = overlapping = 0
    try:
        deadline = time.monotonic() + 20
        while writer.is_alive() and time.monotonic() < deadline and overlapping < 8:
            path = tmp_path / f"b{checked}.jsonl.gz"
            before = commits[0]
            write_backup(db.engine, db.metadata, path, utcnow())
            overlapping += commits[0] > before
            header, rows, end = backup_lines(path)
            assert {t["name"]: t["rows"] for t in header["tables"]} == {k: len(v) for k, v in rows.items()}
            assert end["rows"] == sum(len(v) for v in rows.values())
            response_ids = {r[0] for r in rows["responses"]}
            answer_responses = {r[1] for r in rows["answers"]}
            score_responses = {r[1] for r in rows["factor_scores"]}
            assert answer_responses <= response_ids, "answers without their response"
            assert score_responses <= response_ids, "scores without their response"
            # Every response in the snapshot has its answers: a response and its first
            # answers are committed together by the writer.
            assert response_ids <= answer_responses, "a response without its answers"
            checked += 1
            path.unlink()
    finally:
        stop.set()
        writer.join(timeout=60)
    assert not failure, failure
    assert overlapping >= 3, f"only {overlapping} of {checked} backups ran while answers were saved"
