"""Uploading signing and recorded audio: good sets are stored, bad ones refused whole with
a message per file, and nothing changes when a ZIP is refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from survey_app.db import db
from survey_app.models import AuditEvent, MediaFile
from tests.conftest import csrf_from, login_as
from tests.instruments.media_support import PNG, VIDEO, WAV, upload, zip_of


@pytest.fixture
def media_dir(app, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    return tmp_path / "media"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(MediaFile))


def test_a_good_signing_set_is_stored_and_listed(client, staff_world, media_dir):
    login_as(client, staff_world.lead)
    resp = upload(client, zip_of({"bsl/s01.webm": VIDEO, "bsl/introduction.webm": VIDEO,
                                  "bsl/answer-4.webm": VIDEO, "__MACOSX/._s01.webm": b"junk"}))
    assert resp.status_code == 302, resp.text
    rows = db.session.scalars(select(MediaFile).order_by(MediaFile.subject)).all()
    assert [(r.kind, r.language, r.subject) for r in rows] == [
        ("sign", "bsl", "answer-4"), ("sign", "bsl", "introduction"), ("sign", "bsl", "s01")]
    assert {r.content_type for r in rows} == {"video/webm"}
    assert len(list(media_dir.iterdir())) == 1  # the same bytes three times: one file on disk
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.staff_id == staff_world.lead.id)) \
        == "media: uploaded"
    page = client.get("/staff/media")
    assert "British Sign Language (BSL)" in page.text and ">3<" in page.text


def test_audio_names_say_their_language(client, staff_world, media_dir):
    login_as(client, staff_world.admin)
    resp = upload(client, zip_of({"s01.cy.wav": WAV, "s02.pl.wav": WAV}), kind="audio")
    assert resp.status_code == 302, resp.text
    assert sorted(db.session.execute(select(MediaFile.language, MediaFile.subject)).all()) == [
        ("cy", "s01"), ("pl", "s02")]
    resp = upload(client, zip_of({"s03.pl.wav": WAV}), kind="audio", audio_language="cy")
    assert resp.status_code == 400 and "is in language &#39;pl&#39;, but this upload is for &#39;cy&#39;" in resp.text


BAD_FILES = [
    ({"s01.webm": VIDEO, "x99.webm": VIDEO}, "x99.webm: &#39;x99&#39; is not a statement of this questionnaire"),
    ({"s01.mov": VIDEO}, "s01.mov: is a .mov file; videos must be .mp4, .webm"),
    ({"s01.webm": PNG}, "s01.webm: is named .webm but its contents are image/png"),
    ({"s01.mp4": VIDEO}, "s01.mp4: is named .mp4 but its contents are video/webm"),
    ({"s01.webm": b"plain text"}, "s01.webm: is not a .webm file inside"),
    ({"../s01.webm": VIDEO}, "../s01.webm: its path leaves the archive"),
    ({"a/s01.webm": VIDEO, "b/s01.webm": VIDEO}, "b/s01.webm: the same text as a/s01.webm"),
]


def test_a_bad_file_refuses_the_whole_zip_and_says_which(client, staff_world, media_dir):
    login_as(client, staff_world.lead)
    for files, message in BAD_FILES:
        resp = upload(client, zip_of(files))
        assert resp.status_code == 400
        assert message in resp.text
        assert "Nothing was stored" in resp.text and "Traceback" not in resp.text
        assert _count() == 0 and not media_dir.exists()


def test_not_a_zip_an_empty_zip_and_a_sign_language_we_do_not_offer(client, staff_world, media_dir):
    login_as(client, staff_world.lead)
    assert "not a ZIP archive" in upload(client, b"hello").text
    assert "no files in it" in upload(client, zip_of({})).text
    assert upload(client, zip_of({"s01.webm": VIDEO}), sign_language="xsl").status_code == 400
    assert _count() == 0


def test_too_large_a_file_or_a_zip_bomb_stops_at_the_limit(app, client, staff_world, media_dir):
    app.config["MEDIA_MAX_FILE_BYTES"] = 50_000
    login_as(client, staff_world.lead)
    # 20 MB of one repeated byte packs into a few KB: refused once 50 KB have come out.
    bomb = VIDEO + b"\x00" * 20_000_000
    resp = upload(client, zip_of({"s01.webm": bomb}))
    assert resp.status_code == 400 and "s01.webm: larger than 48 KB" in resp.text
    app.config["MEDIA_MAX_FILE_BYTES"] = 10_000_000
    app.config["MEDIA_MAX_ZIP_BYTES"] = len(VIDEO) * 2 + 10
    resp = upload(client, zip_of({"s01.webm": VIDEO, "s02.webm": VIDEO, "s03.webm": VIDEO}))
    assert resp.status_code == 400 and "the most one upload may be" in resp.text
    app.config["MEDIA_MAX_FILES"] = 1
    assert "at most 1 can be uploaded" in upload(client, zip_of({"s01.webm": VIDEO, "s02.webm": VIDEO})).text
    assert _count() == 0


def test_a_refused_replacement_keeps_the_set_as_it_was(client, staff_world, media_dir):
    login_as(client, staff_world.lead)
    assert upload(client, zip_of({"s01.webm": VIDEO})).status_code == 302
    before = db.session.scalar(select(MediaFile.sha256))
    other = VIDEO[:-1] + bytes([VIDEO[-1] ^ 1])
    assert upload(client, zip_of({"s01.webm": other, "s02.webm": PNG})).status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(MediaFile.sha256)) == before and len(list(media_dir.iterdir())) == 1
    # A good replacement swaps the file and removes the old bytes.
    assert upload(client, zip_of({"s01.webm": other})).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(MediaFile.sha256)) != before and len(list(media_dir.iterdir())) == 1


def test_an_encrypted_entry_is_refused(client, staff_world, media_dir):
    data = io.BytesIO(zip_of({"s01.webm": VIDEO}))
    raw = bytearray(data.getvalue())
    # Set the "encrypted" flag in the local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + offset] |= 1
    zipfile.ZipFile(io.BytesIO(bytes(raw)))  # still reads as a ZIP
    login_as(client, staff_world.lead)
    assert "is encrypted" in upload(client, bytes(raw)).text


def test_teachers_cannot_upload_or_remove(client, staff_world, media_dir):
    login_as(client, staff_world.teacher)
    assert client.get("/staff/media").status_code == 403
    login_as(client, staff_world.lead)
    assert upload(client, zip_of({"s01.webm": VIDEO})).status_code == 302
    login_as(client, staff_world.teacher)
    page = client.get("/staff/")
    resp = client.post("/staff/media/remove", data={"csrf_token": csrf_from(page.text), "instrument": "pass9-secondary",
                                                    "kind": "sign", "language": "bsl"})
    assert resp.status_code == 403 and _count() == 1
    login_as(client, staff_world.lead)
    page = client.get("/staff/media")
    resp = client.post("/staff/media/remove", data={"csrf_token": csrf_from(page.text), "instrument": "pass9-secondary",
                                                    "kind": "sign", "language": "bsl"})
    assert resp.status_code == 302 and _count() == 0 and not list(media_dir.iterdir())


def test_load_media_command(app, runner, world, tmp_path):
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(zip_of({"s01.webm": VIDEO, "introduction.webm": VIDEO}))
    bad.write_bytes(zip_of({"s01.webm": PNG}))
    result = runner.invoke(args=["load-media", "pass9-secondary", "sign", str(bad)])
    assert result.exit_code == 1 and "s01.webm: is named .webm but its contents are image/png" in result.output
    result = runner.invoke(args=["load-media", "pass9-secondary", "sign", str(good)])
    assert result.exit_code == 0 and "2 file(s) stored for pass9-secondary" in result.output
    assert _count() == 2
