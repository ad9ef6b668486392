"""Upload size and type limits: a body over MAX_CONTENT_LENGTH gets 413 with a friendly page,
an autosave over PUPIL_MAX_BODY a 413 in JSON, a file over an import's own limit a clear
400; files that are not CSV text (an image, a ZIP or workbook, a PDF, UTF-16, binary) named
.csv are refused with a clear message, and none of this changes a row.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib

import pytest

from tests.conftest import csrf_from, login_as, sign_in_pupil
from tests.security_support import backend_of, post_multipart, record_figures, row_counts

ROSTER_HEAD = b"UPN,Legal Surname,Forename,Year\r\n"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _zip() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("roster.csv", ROSTER_HEAD.decode() + "A123,Smith,Ann,7\r\n")
    return buffer.getvalue()


NOT_CSV = {
    "a PNG image": _png(),
    "a ZIP archive": _zip(),
    "an Excel workbook": b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00" * 40,
    "an old Excel file": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200,
    "a PDF": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "UTF-16 text": ROSTER_HEAD.decode().encode("utf-16") + "A1,Smith,Ann,7".encode("utf-16-le"),
    "a program": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)),
    "Latin-1 text": ROSTER_HEAD + "A1,Gon\xe7alves,Jo\xe3o,7\r\n".encode("latin-1"),
    "an empty file": b"",
    "a NUL deep in the file": ROSTER_HEAD + b"Z201400099001,Smith,Ann,7\r\n" * 300 + b"Y201400099002,Sm\x00th,Bo,7\r\n",
}
CLEAR_WORDS = re.compile(r"not a CSV|not text|not UTF-8|workbook|PDF|empty|CSV UTF-8|not be read|larger than|"
                         r"the limit is", re.I)


def _upload_targets(world):
    return {
        "roster import": ("/staff/schools/import", "roster", {"school": str(world.school.id)}),
        "paper-answers import": (f"/staff/rounds/{world.round.id}/paper-answers", "file", {}),
    }


def _error_text(html: str) -> str:
    """The words of the page's error summary (not the page's own hints)."""
    boxes = re.findall(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", " ".join(boxes)).split())


def test_files_that_are_not_csv_are_refused_clearly_and_change_nothing(app, client, staff_world):
    login_as(client, staff_world.admin)
    token = csrf_from(client.get("/staff/schools/import").text)
    before = row_counts(exclude=set())
    tried, unclear = 0, []
    for target, (url, field, extra) in _upload_targets(staff_world).items():
        for label, body in NOT_CSV.items():
            resp = post_multipart(client, url, {**extra, "csrf_token": token, field: (io.BytesIO(body), "pupils.csv")})
            tried += 1
            assert resp.status_code == 400, f"{target}, {label}: {resp.status_code}"
            assert b"Traceback" not in resp.get_data()
            if not CLEAR_WORDS.search(_error_text(resp.text)):
                unclear.append(f"{target}, {label}: {_error_text(resp.text)[:200]!r}")
    after = row_counts(exclude=set())
    backend = backend_of(app)
    record_figures(
        f"upload_types[{backend}]",
        f"upload types ({backend}): {tried} files that are not CSV text named .csv (image, ZIP, workbooks, PDF, "
        f"UTF-16, Latin-1, binary, empty, a NUL deep inside), {tried} refused with 400, "
        f"{tried - len(unclear)} with a clear message, rows changed: {after != before}",
        files=tried, refused=tried, clear_message=tried - len(unclear), rows_changed=after != before,
    )
    assert not unclear, "\n".join(unclear)
    assert after == before


@pytest.mark.parametrize("target", ["roster import", "paper-answers import", "a form"])
def test_a_body_over_the_limit_gets_a_friendly_413_and_changes_nothing(app, client, staff_world, target):
    login_as(client, staff_world.admin)
    token = csrf_from(client.get("/staff/groups/new").text)
    limit = app.config["MAX_CONTENT_LENGTH"]
    before = row_counts(exclude=set())
    big = ROSTER_HEAD + b"A123456789012,Smith,Ann,7\r\n" * (limit // 26 + 10)
    if target == "a form":
        resp = client.post("/staff/groups/new", data={"csrf_token": token, "name": "Big", "kind": "programme",
                                                      "description": "x" * (limit + 1)})
    else:
        url, field, extra = _upload_targets(staff_world)[target]
        resp = post_multipart(client, url, {**extra, "csrf_token": token, field: (io.BytesIO(big), "big.csv")})
    assert resp.status_code == 413
    assert "That was too large to accept. Nothing was changed." in resp.text
    assert "Traceback" not in resp.text
    assert row_counts(exclude=set()) == before
    backend = backend_of(app)
    record_figures(f"upload_size[{target}-{backend}]",
                   f"upload size ({target}, {backend}): a body over {limit // 1024 // 1024} MB answered "
                   f"{resp.status_code} with the friendly page, rows changed: False", status=resp.status_code)


def test_a_file_over_an_imports_own_limit_is_refused_in_words(app, client, staff_world):
    login_as(client, staff_world.admin)
    token = csrf_from(client.get("/staff/schools/import").text)
    body = ROSTER_HEAD + b"A123456789012,Smith,Ann,7\r\n" * 120_000  # about 3.2 MB: under 4 MB, over 3 MB
    before = row_counts(exclude=set())
    for url, field, extra in _upload_targets(staff_world).values():
        resp = post_multipart(client, url, {**extra, "csrf_token": token, field: (io.BytesIO(body), "big.csv")})
        assert resp.status_code == 400
        assert re.search(r"larger than [13] MB|the limit is 1 MB", resp.text), _error_text(resp.text)
    assert row_counts(exclude=set()) == before


def test_autosave_over_the_pupil_limit_is_413_in_json(app, world):
    client = app.test_client()
    page = sign_in_pupil(client, world.code_of(0))
    token = csrf_from(page.text)
    response_id = int(re.search(r'data-response="(\d+)"', page.text).group(1))
    item = world.q.statements[0].id
    answers = [{"item": item, "value": 1, "seq": n} for n in range(app.config["PUPIL_MAX_BODY"] // 30)]
    body = json.dumps({"response": response_id, "answers": answers})
    assert len(body) > app.config["PUPIL_MAX_BODY"]
    before = row_counts(exclude=set())
    resp = client.post("/survey/api/answers", data=body, content_type="application/json",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert resp.status_code == 413 and resp.is_json
    assert "Nothing was saved" in resp.json["message"]
    assert row_counts(exclude=set()) == before
