"""Serving signing and audio: range requests as browsers make them for video, and only to
staff or a signed-in pupil of a round using that questionnaire."""

from __future__ import annotations

from survey_app.db import db
from survey_app.instruments.media_check import CheckedFile
from survey_app.instruments.operations import store_media
from survey_app.models.base import utcnow
from survey_app.questionnaires.store import store_file
from tests.conftest import ROOT, login_as, sign_in_pupil
from tests.instruments.media_support import VIDEO


def _get(client, url, **kwargs):
    """GET `url` and close the response (a file is streamed), keeping what the test reads."""
    resp = client.get(url, **kwargs)
    resp.body = resp.get_data()
    resp.close()
    return resp


def _store(app, staff, instrument="pass9-secondary", tmp=None):
    app.config["MEDIA_DIR"] = str(tmp)
    files = [CheckedFile("s01", "bsl", "webm", "video/webm", VIDEO, "s01.webm")]
    return store_media(db.session, staff, instrument=instrument, kind="sign", language="bsl", files=files,
                       media_dir=tmp, now=utcnow())[0].id


def test_range_requests(app, client, staff_world, tmp_path):
    file_id = _store(app, staff_world.teacher, tmp=tmp_path)
    login_as(client, staff_world.teacher)
    size = len(VIDEO)
    whole = _get(client, f"/media/{file_id}")
    assert whole.status_code == 200 and whole.body == VIDEO
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.mimetype == "video/webm"
    part = _get(client, f"/media/{file_id}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.body == VIDEO[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{size}" and part.headers["Content-Length"] == "10"
    tail = _get(client, f"/media/{file_id}", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.body == VIDEO[-5:]
    assert tail.headers["Content-Range"] == f"bytes {size - 5}-{size - 1}/{size}"
    beyond = _get(client, f"/media/{file_id}", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    assert _get(client, f"/media/{file_id + 99}").status_code == 404


def test_only_staff_and_pupils_of_that_questionnaire_receive_a_file(app, client, staff_world, tmp_path):
    mine = _store(app, staff_world.admin, tmp=tmp_path)
    store_file(db.session, ROOT / "questionnaires" / "pass9-primary.toml")
    db.session.commit()
    other = _store(app, staff_world.admin, instrument="pass9-primary", tmp=tmp_path)
    assert _get(client, f"/media/{mine}").status_code == 404  # not signed in
    sign_in_pupil(client, staff_world.code_of(0))
    assert _get(client, f"/media/{mine}", headers={"Range": "bytes=0-3"}).status_code == 206
    assert _get(client, f"/media/{other}").status_code == 404
    signed_out = app.test_client()
    assert _get(signed_out, f"/media/{mine}").status_code == 404
    login_as(signed_out, staff_world.teacher_b)
    assert _get(signed_out, f"/media/{other}").status_code == 200
