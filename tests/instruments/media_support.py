"""Helpers for the media tests: the generator script's functions, and uploading a ZIP."""

from __future__ import annotations

import importlib.util
import io

from tests.conftest import ROOT, csrf_from

_spec = importlib.util.spec_from_file_location("make_media_set", ROOT / "scripts" / "make_media_set.py")
make_media_set = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_media_set)

zip_of = make_media_set.zip_of
VIDEO = make_media_set.webm_video("s01", frames=1)
WAV = make_media_set.wav_tone(seconds=0.05)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, data: bytes, *, instrument="pass9-secondary", kind="sign", sign_language="bsl",
           audio_language=""):
    """Post a ZIP through the staff page; return the response."""
    page = client.get("/staff/media")
    return client.post("/staff/media", data={
        "csrf_token": csrf_from(page.text), "instrument": instrument, "kind": kind,
        "sign_language": sign_language, "audio_language": audio_language,
        "archive": (io.BytesIO(data), "set.zip"),
    }, content_type="multipart/form-data")
