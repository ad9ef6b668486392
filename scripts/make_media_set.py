"""Make a small, valid set of sign-language videos and recorded audio for a questionnaire.

    python scripts/make_media_set.py questionnaires/pass9-secondary.toml /tmp/media
        -> /tmp/media/signing-bsl.zip  (one WebM per statement, answer and the introduction)
           /tmp/media/audio-cy.zip     (one WAV per statement and answer, "language" cy)

The videos are real, playable WebM files of a few coloured frames showing the statement
id, made without ffmpeg: Pillow encodes each frame as a lossy WebP, whose VP8 key frame
is exactly what a WebM video track carries, and this script wraps the frames in the
smallest Matroska container a browser plays. The audio is a short tone (Python's wave
module). Tests use the same functions; staff use the ZIPs for the acceptance check.
"""

from __future__ import annotations

import io
import math
import struct
import sys
import tomllib
import wave
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

FRAME_MS = 250


def _vint_size(n: int) -> bytes:
    if n < 0x7F:
        return bytes([0x80 | n])
    return b"\x01" + n.to_bytes(7, "big")


def _element(element_id: int, payload: bytes) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + _vint_size(len(payload)) + payload


def _uint(element_id: int, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def vp8_frame(label: str, colour: tuple[int, int, int], size: tuple[int, int] = (160, 120)) -> bytes:
    """Return one VP8 key frame (the bitstream a WebM block carries) showing `label`."""
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).text((12, size[1] // 2 - 6), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "WEBP", quality=40, lossless=False, exact=True)
    data = out.getvalue()
    assert data[12:16] == b"VP8 ", "Pillow wrote an extended WebP"
    length = struct.unpack("<I", data[16:20])[0]
    return data[20:20 + length]


def webm_video(label: str, frames: int = 4, size: tuple[int, int] = (160, 120)) -> bytes:
    """Return a playable WebM (VP8, no sound) of `frames` frames showing `label`."""
    colours = [(20, 70, 140), (120, 40, 110), (20, 110, 70), (150, 80, 20)]
    header = _element(0x1A45DFA3, b"".join([
        _uint(0x4286, 1), _uint(0x42F7, 1), _uint(0x42F2, 4), _uint(0x42F3, 8),
        _element(0x4282, b"webm"), _uint(0x4287, 2), _uint(0x4285, 2)]))
    info = _element(0x1549A966, b"".join([
        _uint(0x2AD7B1, 1_000_000), _element(0x4D80, b"make_media_set"), _element(0x5741, b"make_media_set"),
        _element(0x4489, struct.pack(">d", float(frames * FRAME_MS)))]))
    track = _element(0xAE, b"".join([
        _uint(0xD7, 1), _uint(0x73C5, 1), _uint(0x83, 1), _element(0x86, b"V_VP8"),
        _element(0xE0, _uint(0xB0, size[0]) + _uint(0xBA, size[1]))]))
    tracks = _element(0x1654AE6B, track)
    blocks = b"".join(
        _element(0xA3, b"\x81" + struct.pack(">h", i * FRAME_MS) + b"\x80"
                 + vp8_frame(label, colours[i % len(colours)], size))
        for i in range(frames))
    cluster = _element(0x1F43B675, _uint(0xE7, 0) + blocks)
    return header + _element(0x18538067, info + tracks + cluster)


def wav_tone(seconds: float = 0.4, pitch: float = 440.0, rate: int = 8000) -> bytes:
    """Return a short mono WAV tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / rate)))
                               for i in range(int(seconds * rate))))
    return out.getvalue()


def subjects(questionnaire: Path) -> list[str]:
    """Return the statement ids, answers and introduction of a questionnaire file."""
    data = tomllib.loads(questionnaire.read_text(encoding="utf-8"))
    answers = [f"answer-{o['value']}" for o in data.get("scale", {}).get("options", [])]
    return ["introduction", *[s["id"] for s in data["statements"]], *answers]


def zip_of(files: dict[str, bytes]) -> bytes:
    """Return a ZIP holding `files` (name -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def signing_zip(names: list[str], frames: int = 4) -> bytes:
    return zip_of({f"{name}.webm": webm_video(name, frames) for name in names})


def audio_zip(names: list[str], language: str) -> bytes:
    return zip_of({f"{name}.{language}.wav": wav_tone(pitch=300 + 10 * i) for i, name in enumerate(names)})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    questionnaire, target = Path(argv[0]), Path(argv[1])
    target.mkdir(parents=True, exist_ok=True)
    names = subjects(questionnaire)
    (target / "signing-bsl.zip").write_bytes(signing_zip(names))
    (target / "audio-cy.zip").write_bytes(audio_zip([n for n in names if n != "introduction"], "cy"))
    print(f"{target / 'signing-bsl.zip'}: {len(names)} videos")
    print(f"{target / 'audio-cy.zip'}: {len(names) - 1} recordings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
