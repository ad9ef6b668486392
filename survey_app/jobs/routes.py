"""A job's own page for the member of staff who started it: progress (polled by
export-status.js), the outcome, and the file to download."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, jsonify, render_template, send_file
from flask_login import current_user

from ..accounts.access import staff_required
from ..db import db
from .queries import job_for, page_state, stored_file
from .registry import TASKS

bp = Blueprint("jobs", __name__, template_folder="templates", url_prefix="/staff/jobs")


@bp.get("/<token>")
@staff_required()
def job_page(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    spec = TASKS.get(job.kind)
    return render_template("jobs/status.html", job=job, state=page_state(job), title=spec.label if spec else "Job")


@bp.get("/<token>.json")
@staff_required()
def job_json(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    return jsonify(page_state(job))


@bp.get("/<token>/download")
@staff_required()
def job_download(token: str):
    job = job_for(db.session, current_user, token) or abort(404)
    content = stored_file(job)
    if content is None:
        abort(404)
    return send_file(BytesIO(content), mimetype=job.mimetype, as_attachment=True,
                     download_name=job.filename, max_age=0)
