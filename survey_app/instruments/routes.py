"""Instrument pages: the recorded audio and sign-language video of each questionnaire
(leads and administrators upload them), and the files themselves, served by the app
with range requests to the pupils taking that questionnaire and to staff."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from wtforms import SelectChoice

from ..accounts.access import staff_required
from ..db import db
from ..errors import error_response
from ..models import MediaFile
from ..models.base import utcnow
from ..pupil import state
from .forms import SIGN_LANGUAGE_NAMES, MediaRemoveForm, MediaUploadForm
from .media_check import MediaLimits, MediaRefused, check_media_zip
from .operations import remove_media, store_media, stored_path
from .queries import instrument_of_version, instruments, media_of, media_sets, signing_offered

bp = Blueprint("instruments", __name__, template_folder="templates")
UPLOAD_ENDPOINT = "instruments.upload_media"


def _allow_large_upload():
    # A ZIP of videos is larger than any other form, so its limit is raised before
    # anything reads the body (the CSRF and NUL checks run first and parse the form).
    if request.endpoint == UPLOAD_ENDPOINT:
        # (A megabyte over the unpacked limit for the form around it; the ZIP's contents
        # are counted as they are unpacked.)
        request.max_content_length = current_app.config["MEDIA_MAX_ZIP_BYTES"] + 1024 * 1024


@bp.record_once
def _first_before_request(setup_state):
    setup_state.app.before_request_funcs.setdefault(None, []).insert(0, _allow_large_upload)


@bp.app_context_processor
def _pupil_media():
    # Pupil templates ask for an instrument's files by name, so the pupil area does not
    # import this one (which sits above it).
    return {"instrument_media": lambda key: media_of(db.session, key),
            "signing_offered": _signing_offered, "sign_language_names": SIGN_LANGUAGE_NAMES}


def _signing_offered() -> bool:
    # The start page must still open with the database down (it then says so on sign-in).
    try:
        return signing_offered(db.session)
    except SQLAlchemyError:
        db.session.rollback()
        return False


def _limits() -> MediaLimits:
    config = current_app.config
    return MediaLimits(config["MEDIA_MAX_FILE_BYTES"], config["MEDIA_MAX_ZIP_BYTES"], config["MEDIA_MAX_FILES"])


def _page(form, errors=(), status=200):
    return render_template("instruments/media.html", form=form, errors=list(errors), sets=media_sets(db.session),
                           remove_form=MediaRemoveForm(), limits=_limits()), status


def _upload_form():
    form = MediaUploadForm()
    form.instrument.choices = [SelectChoice(i.key, f"{i.title} ({i.key})") for i in instruments(db.session)]
    return form


@bp.get("/staff/media")
@staff_required("admin", "lead")
def media_page():
    """The recorded audio and signing of every questionnaire, and the upload form."""
    return _page(_upload_form())


@bp.post("/staff/media")
@staff_required("admin", "lead")
def upload_media():
    """Check a ZIP and store every file in it, or refuse it whole with a line per bad file."""
    form = _upload_form()
    if not form.validate_on_submit():
        return _page(form, status=400)
    found = {i.key: i for i in instruments(db.session)}[form.instrument.data]
    kind = form.kind.data
    language = form.sign_language.data if kind == "sign" else form.audio_language.data
    try:
        files = check_media_zip(form.archive.data.stream, kind=kind, language=language,
                                subjects=set(found.subjects), limits=_limits())
    except MediaRefused as refused:
        return _page(form, refused.errors, status=400)
    store_media(db.session, current_user._get_current_object(), instrument=found.key, kind=kind,
                language=language, files=files, media_dir=current_app.config["MEDIA_DIR"], now=utcnow())
    flash(f"{len(files)} file(s) stored for {found.title}.", "success")
    return redirect(url_for("instruments.media_page"))


@bp.post("/staff/media/remove")
@staff_required("admin", "lead")
def remove_media_set():
    """Remove one set of files (an instrument's videos in one sign language, or its audio in one language)."""
    form = MediaRemoveForm()
    if not form.validate_on_submit():
        abort(400, "That set could not be removed: reload the page and try again.")
    removed = remove_media(db.session, current_user._get_current_object(), instrument=form.instrument.data,
                           kind=form.kind.data, language=form.language.data, media_dir=current_app.config["MEDIA_DIR"])
    flash(f"{removed} file(s) removed.", "success")
    return redirect(url_for("instruments.media_page"))


def _may_receive(row: MediaFile) -> bool:
    """Staff may hear and see every file; a pupil only those of the questionnaire they are answering."""
    if current_user.is_authenticated:
        return True
    known = state.answering(state.current() or {})
    return known is not None and instrument_of_version(db.session, known[1]) == row.instrument


# Files up to this size are read into memory to be sent (see media_file).
IN_MEMORY_BYTES = 8 * 1024 * 1024


@bp.get("/media/<int:file_id>")
def media_file(file_id: int):
    """One recorded or signed file, with range requests (206, 416); 404 to anyone else."""
    row = db.session.get(MediaFile, file_id)
    if row is None or not _may_receive(row):
        abort(404)
    path = stored_path(current_app.config["MEDIA_DIR"], row)
    if not path.is_file():
        abort(404)
    size = path.stat().st_size
    if request.range is not None and request.range.range_for_length(size) is None:
        # (Checked here: send_file would raise with the file already open.)
        response = error_response(416, "That part of the file does not exist.")
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    # Short recordings and clips are sent from memory, so no open file outlives a request the
    # browser breaks off (media elements often do); longer files stream from disk.
    body = io.BytesIO(path.read_bytes()) if size <= IN_MEMORY_BYTES else path
    response = send_file(body, mimetype=row.content_type, conditional=True, etag=row.sha256, max_age=0,
                         last_modified=path.stat().st_mtime)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response
