"""Long work that goes on the queue: a large roster import, confirmed by a lead, is done
by the worker (here run in the test's own process, one job at a time) and the lead's job
page shows the outcome; a preview that changed in between imports nothing. Both databases."""

from __future__ import annotations

import sqlalchemy as sa

from survey_app.db import db
from survey_app.jobs.runner import run_job
from survey_app.models import Job, PendingImport, Pupil, SurveyRound
from tests.conftest import csrf_from, login_as
from tests.schools.test_roster_import import pupils_csv, upload


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _confirm(client, school_id: int, csv_text: str):
    resp = upload(client, school_id, csv_text.encode(), "big.csv")
    preview = client.get(resp.location).text
    digest = preview.split('name="digest" type="hidden" value="')[1].split('"')[0]
    return client.post(resp.location + "/confirm", data={"csrf_token": csrf_from(preview), "digest": digest})


def test_a_large_import_is_done_by_the_worker_and_its_page_shows_the_result(app, client, staff_world):
    app.config["IMPORT_QUEUE_ROWS"] = 20
    login_as(client, staff_world.lead)
    school = staff_world.school.id
    before = _count(Pupil)
    queued = _confirm(client, school, pupils_csv(25))
    assert queued.status_code == 302 and "/staff/jobs/" in queued.location
    assert _count(Pupil) == before and _count(PendingImport) == 0  # claimed; nothing written yet
    waiting = client.get(queued.location)
    assert waiting.status_code == 200 and "Waiting for a worker" in waiting.text
    job = db.session.scalar(sa.select(Job))
    run_job(app, app.extensions["huey"], job.id)
    assert _count(Pupil) == before + 25
    state = client.get(queued.location + ".json").get_json()
    assert state["status"] == "done" and state["summary"]["added"] == 25
    assert "/imports/" in state["next"]["url"] and client.get(state["next"]["url"]).status_code == 200
    assert db.session.scalar(sa.select(Job.content).where(Job.id == job.id)) is None  # the upload is gone
    # Only the lead who started it sees the job.
    login_as(client, staff_world.other_lead)
    assert client.get(queued.location).status_code == 404


def test_a_queued_import_whose_preview_changed_imports_nothing(app, client, staff_world):
    app.config["IMPORT_QUEUE_ROWS"] = 20
    login_as(client, staff_world.lead)
    queued = _confirm(client, staff_world.school.id, pupils_csv(25))
    _confirm(client, staff_world.school.id, pupils_csv(2, start=3))  # small: imported at once
    before = _count(Pupil)
    job = db.session.scalar(sa.select(Job))
    run_job(app, app.extensions["huey"], job.id)
    state = client.get(queued.location + ".json").get_json()
    assert state["status"] == "failed" and "changed after you looked at the preview" in state["message"]
    assert _count(Pupil) == before


def _run_all(app) -> list[Job]:
    for job_id in db.session.scalars(sa.select(Job.id).where(Job.status == "queued").order_by(Job.id)).all():
        run_job(app, app.extensions["huey"], job_id)
    db.session.expire_all()
    return db.session.scalars(sa.select(Job).order_by(Job.id)).all()


def test_rescore_backup_and_retention_go_on_the_queue_from_the_command_line(stamped, runner, staff_world, tmp_path):
    app = stamped
    queued = runner.invoke(args=["rescore", "--queue"])
    assert queued.exit_code == 0 and "Queued as job 1 (rounds.rescore)" in queued.output
    backup = tmp_path / "by-hand.jsonl.gz"
    assert runner.invoke(args=["backup", "--queue", str(backup)]).exit_code == 0
    assert runner.invoke(args=["apply-retention", "--queue"]).exit_code == 0
    listed = runner.invoke(args=["jobs"])
    assert listed.output.count("queued") == 3 and "data.backup" in listed.output
    assert not backup.exists()  # nothing done until the worker takes them up
    rescore, backed_up, retention = _run_all(app)
    assert rescore.status == "done" and rescore.result == {"rounds": _count(SurveyRound), "responses": 0}
    assert backed_up.status == "done" and backup.exists() and backed_up.result["tables"] > 10
    assert retention.status == "done" and retention.result["pupils"] == 0


def test_the_nightly_jobs_follow_the_settings(stamped, tmp_path):
    app = stamped
    from survey_app.jobs.queue import queue_nightly

    assert queue_nightly(app.config) == []
    for name in ("survey-20200101-021500.jsonl.gz", "survey-20200102-021500.jsonl.gz"):
        (tmp_path / name).write_bytes(b"old")
    app.config.update(BACKUP_DIR=str(tmp_path), BACKUP_KEEP=2, NIGHTLY_RETENTION=True)
    assert [job.kind for job in queue_nightly(app.config)] == ["data.backup", "data.retention"]
    backed_up, retention = _run_all(app)
    assert backed_up.status == "done" and retention.status == "done", backed_up.message
    assert backed_up.result["removed"] == ["survey-20200101-021500.jsonl.gz"]
    assert sorted(p.name for p in tmp_path.glob("survey-*.jsonl.gz"))[0] == "survey-20200102-021500.jsonl.gz"


def test_a_job_no_worker_takes_up_reads_as_failed_in_the_end(app):
    from datetime import timedelta

    from survey_app.jobs.queries import GIVE_UP_AFTER, NO_WORKER, status_of
    from survey_app.models.base import utcnow

    job = db.session.get(Job, _enqueue_slow())
    lease = timedelta(seconds=2)
    assert status_of(job, utcnow(), lease)["status"] == "queued"
    later = status_of(job, utcnow() + GIVE_UP_AFTER + timedelta(seconds=1), lease)
    assert later["status"] == "failed" and later["message"] == NO_WORKER


def _enqueue_slow() -> int:
    from survey_app.jobs import enqueue

    return enqueue("test.slow", session=db.session, staff=None, seconds=[0.1]).id


def test_a_large_paper_answers_import_is_done_by_the_worker(app, client, staff_world):
    from survey_app.models import Response
    from tests.rounds.test_paper_answers import confirm, csv_text
    from tests.rounds.test_paper_answers import upload as upload_answers

    app.config["IMPORT_QUEUE_ROWS"] = 2
    login_as(client, staff_world.lead)
    pupils = staff_world.pupils[:3]
    uploaded = upload_answers(client, staff_world, csv_text([[p.upn, "4", "3", "2"] for p in pupils]))
    queued = confirm(client, uploaded.location)
    assert queued.status_code == 302 and "/staff/jobs/" in queued.location
    assert _count(Response, Response.round_id == staff_world.round.id) == 0
    run_job(app, app.extensions["huey"], db.session.scalar(sa.select(Job.id)))
    state = client.get(queued.location + ".json").get_json()
    assert state["status"] == "done" and state["summary"]["responses"] == 3, state
    assert state["next"]["url"].endswith(f"/rounds/{staff_world.round.id}/completion")
    assert _count(Response, Response.round_id == staff_world.round.id, Response.finished_at.is_not(None)) == 3
