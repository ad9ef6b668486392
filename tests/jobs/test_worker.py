"""The job queue with a real worker process: an export runs in the worker (the web
process starts no thread) and its progress reaches the page; a worker killed with SIGKILL
mid-job leaves its job to the next worker (run again, or failed once its attempts are
used up, never "running" for ever); a passing error is retried a bounded number of times.
Both databases."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from survey_app.db import db
from survey_app.jobs import enqueue
from survey_app.jobs.queries import STOPPED, status_of
from survey_app.jobs.runner import run_job
from survey_app.models import Job
from survey_app.models.base import utcnow
from tests.cohort_data import add_pupils, add_rounds, fill
from tests.conftest import csrf_from, login_as
from tests.jobs.conftest import LEASE, wait_for


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_an_export_runs_in_the_worker_and_its_progress_reaches_the_page(client, staff_world, start_worker,
                                                                         tmp_path):
    rounds = add_rounds(staff_world, names=("After",))
    fill(staff_world, rounds, add_pupils(staff_world, 12), seed=5, attendance=1.0)
    selection = "&".join(f"round={r.id}" for r in rounds)
    login_as(client, staff_world.lead)
    token = csrf_from(client.get(f"/staff/cohort/?{selection}").text)
    before = set(threading.enumerate())
    started = client.post("/staff/cohort/exports", data={"format": "report", "selection": selection,
                                                         "csrf_token": token})
    assert started.status_code == 302
    assert set(threading.enumerate()) <= before  # the web process started no thread
    status_url = started.headers["Location"]
    waiting = client.get(status_url + ".json").get_json()
    assert waiting["status"] == "queued" and waiting["message"] == "Waiting for a worker"

    start_worker()
    seen: list[tuple[str, int]] = []

    def finished():
        state = client.get(status_url + ".json").get_json()
        seen.append((state["status"], state["progress"]))
        return state if state["status"] in ("done", "failed") else None

    state = wait_for(finished, 120, "the export", tmp_path / "worker.log")
    assert state["status"] == "done", state
    assert any(status == "running" and 0 < progress < 100 for status, progress in seen), seen
    page = client.get(status_url)
    assert page.status_code == 200 and "Ready to download" in page.text
    file = client.get(state["download"])
    assert file.status_code == 200 and file.data[:5] == b"%PDF-"


def test_a_killed_workers_job_is_taken_up_again_or_failed(app, start_worker, tmp_path):
    again = enqueue("test.slow", session=db.session, staff=None, seconds=[60, 0.3]).id
    once = enqueue("test.slow_once", session=db.session, staff=None, seconds=[60]).id
    worker = start_worker()
    wait_for(lambda: all(_job(i).status == "running" and _job(i).progress > 1 for i in (again, once)),
             60, "both jobs running", tmp_path / "worker.log")
    worker.kill()  # SIGKILL: no chance to tidy up
    time.sleep(LEASE + 0.5)
    # Past the lease the page no longer says "running", even before a worker comes back.
    state = status_of(_job(again), utcnow(), timedelta(seconds=LEASE))
    assert state["status"] == "queued" and state["message"] == STOPPED
    start_worker()
    wait_for(lambda: _job(again).status == "done" and _job(once).status == "failed", 60,
             "the jobs taken up again", tmp_path / "worker.log")
    done, failed = _job(again), _job(once)
    assert done.attempts == 2 and done.result == {"attempt": 2} and done.progress == 100
    assert failed.attempts == 1 and "stopped before it finished" in failed.message


def test_a_passing_error_is_retried_a_bounded_number_of_times(app):
    huey = app.extensions["huey"]
    recovers = enqueue("test.flaky", session=db.session, staff=None, fail_times=1).id
    run_job(app, huey, recovers)
    job = _job(recovers)
    assert job.status == "queued" and job.attempts == 1 and "trying again (attempt 2 of 3)" in job.message
    retry = huey.pending()[-1]  # the retry is queued to run after a pause
    assert retry.args == (recovers,) and retry.eta is not None
    run_job(app, huey, recovers)
    assert _job(recovers).status == "done" and _job(recovers).result == {"attempt": 2}
    run_job(app, huey, recovers)  # a stray second message runs nothing
    assert _job(recovers).attempts == 2

    gives_up = enqueue("test.flaky", session=db.session, staff=None, fail_times=5).id
    for _ in range(4):
        run_job(app, huey, gives_up)
    job = _job(gives_up)
    assert job.status == "failed" and job.attempts == 3 and "failed 3 times" in job.message


def test_a_queue_that_cannot_be_reached_fails_the_job_in_words(app, monkeypatch):
    from survey_app.jobs import queue

    def unreachable(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(queue, "queue_job", unreachable)
    job = _job(enqueue("test.slow", session=db.session, staff=None, seconds=[0.1]).id)
    assert job.status == "failed" and job.message == queue.UNQUEUED
