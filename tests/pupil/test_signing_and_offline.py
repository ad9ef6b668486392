"""The pupil's side of signing, recorded audio and shared computers: the "Watch in BSL"
blocks, the "always show signing" choice, the service worker and Clear-Site-Data."""

from __future__ import annotations

import json
import re

from survey_app.db import db
from survey_app.instruments.media_check import CheckedFile
from survey_app.instruments.operations import store_media
from survey_app.models.base import utcnow
from tests.conftest import csrf_from
from tests.instruments.media_support import VIDEO, WAV


def _sign_in(client, code, always_sign=False):
    page = client.get("/")
    data = {"code": code, "csrf_token": csrf_from(page.text)}
    if always_sign:
        data["always_sign"] = "1"
    assert client.post("/", data=data).status_code == 302
    confirm = client.get("/confirm")
    client.post("/confirm", data={"yes": "Yes, this is me", "csrf_token": csrf_from(confirm.text)})
    return client.get("/survey", follow_redirects=True)


def _media(app, world, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path)
    sign = store_media(db.session, _staff(), instrument="pass9-secondary", kind="sign", language="bsl", files=[
        CheckedFile("s01", "bsl", "webm", "video/webm", VIDEO, "s01.webm"),
        CheckedFile("introduction", "bsl", "webm", "video/webm", VIDEO, "introduction.webm")],
        media_dir=tmp_path, now=utcnow())
    audio = store_media(db.session, _staff(), instrument="pass9-secondary", kind="audio", language="cy", files=[
        CheckedFile("s02", "cy", "wav", "audio/x-wav", WAV, "s02.cy.wav")], media_dir=tmp_path, now=utcnow())
    return {row.subject: row.id for row in sign + audio}


def _staff():
    from survey_app.models import StaffUser

    user = db.session.query(StaffUser).first()
    if user is None:
        user = StaffUser(email="media@example.org", name="Media", role="admin", password_hash="x")
        db.session.add(user)
        db.session.commit()
    return user


def test_watch_in_bsl_blocks_and_the_always_show_choice(app, client, world, tmp_path):
    ids = _media(app, world, tmp_path)
    assert 'name="always_sign"' in client.get("/").text
    page = _sign_in(client, world.code_of(0), always_sign=True).text
    blocks = re.findall(r'<details class="signing" data-for="([^"]+)" (open)?', page)
    assert blocks == [("intro", "open"), ("st-s01", "open")]
    assert f'src="/media/{ids["s01"]}"' in page and "controls" in page and "autoplay" not in page
    assert "Watch in BSL<span class=\"visually-hidden\">: statement 1</span>" in page
    assert "I feel I belong at this school." in page.split('data-for="st-s01"')[1].split("</details>")[0]
    audio = json.loads(re.search(r'data-audio="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert audio == {"cy": {"s02": ids["s02"]}}
    assert 'href="/static/css/media.css"' in page and "survey-offline.js" in page

    other = app.test_client()
    page = _sign_in(other, world.code_of(1)).text
    assert re.findall(r'<details class="signing" data-for="([^"]+)" (open)?', page) == [("intro", ""), ("st-s01", "")]


def test_no_media_no_blocks_but_the_high_contrast_styles_stay(client, world):
    page = _sign_in(client, world.code_of(0)).text
    assert "survey-media" not in page and 'href="/static/css/media.css"' in page
    assert "always_sign" not in client.get("/").text


def test_service_worker_and_clearing_on_the_way_out(client, world):
    sw = client.get("/survey-sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/" and "no-store" in sw.headers["Cache-Control"]
    sw.close()
    page = _sign_in(client, world.code_of(0))
    assert "no-store" in page.headers["Cache-Control"] and "Clear-Site-Data" not in page.headers
    out = client.post("/signout", data={"csrf_token": csrf_from(page.text), "reason": "later"})
    assert out.status_code == 302 and out.headers["Clear-Site-Data"] == '"cache"'
    signed_out = client.get(out.location)
    assert signed_out.headers["Clear-Site-Data"] == '"cache"' and "survey-cleanup.js" in signed_out.text
    # Back after signing out: the survey page is not there any more.
    assert client.get("/survey/p/1").status_code == 302
    assert "survey-cleanup.js" in client.get("/").text
