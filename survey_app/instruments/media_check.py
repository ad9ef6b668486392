"""Checking a ZIP of recorded audio or sign-language video before anything is stored.

`check_media_zip` reads the archive entry by entry and returns every file it would store,
or raises MediaRefused with one message per bad file. It trusts nothing in the archive:
names are checked against the instrument (never used as paths), types are read from the
bytes (the `filetype` package's magic numbers) and must agree with the extension, and
sizes are counted while reading, so a ZIP that lies about its sizes (a zip bomb) stops at
the limit instead of filling the disk or the memory.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import filetype

from ..models.media import SIGN_LANGUAGES

# What each kind of set may hold: extension -> the type its bytes must show.
AUDIO_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "wav": "audio/x-wav",
               "webm": "audio/webm"}
VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
# filetype names a WebM holding sound only video/webm, and an MP4 by its brand: what else
# the bytes may show for a wanted type.
_ALSO_SEEN = {"audio/webm": {"video/webm"}, "audio/mp4": {"video/mp4"}}
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
# Files that computers add to archives by themselves, left out without a word.
_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_READ = 64 * 1024


class MediaRefused(ValueError):
    """The upload was refused as a whole; `errors` says why, one line per file."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class MediaLimits:
    max_file_bytes: int
    max_zip_bytes: int
    max_files: int


@dataclass(frozen=True)
class CheckedFile:
    """One file that passed every check, with its bytes."""

    subject: str
    language: str
    extension: str
    content_type: str
    data: bytes
    original_name: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def subjects_of(statement_ids: Iterable[str], scale_values: Iterable[int]) -> set[str]:
    """Return the names a file may have (without language and extension): each statement
    id, `introduction`, and `answer-<value>` for each answer on the scale."""
    return {*statement_ids, "introduction", *(f"answer-{v}" for v in scale_values)}


def _parse_name(base: str, kind: str, language: str) -> tuple[str, str, str] | str:
    """Return (subject, language, extension) from a file name, or the problem in words."""
    stem, dot, extension = base.rpartition(".")
    extension = extension.lower()
    if not dot or not stem:
        return "has no extension"
    allowed = AUDIO_TYPES if kind == "audio" else VIDEO_TYPES
    if extension not in allowed:
        return f"is a .{extension} file; {'audio' if kind == 'audio' else 'videos'} must be " + \
            ", ".join(f".{e}" for e in allowed)
    if kind == "audio":
        subject, dot, code = stem.rpartition(".")
        if not dot:
            return "does not say its language: name it like p01.cy.mp3 (statement, language, type)"
        code = code.lower()
        if not LANGUAGE_CODE.match(code):
            return f"has {code!r} where the language code goes (like cy, pl or ur)"
        if language and code != language:
            return f"is in language {code!r}, but this upload is for {language!r}"
        return subject, code, extension
    return stem, language, extension


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    """Return the entry's bytes, or None as soon as more than `cap` come out."""
    out = bytearray()
    with archive.open(info) as stream:
        while chunk := stream.read(_READ):
            out += chunk
            if len(out) > cap:
                return None
    return bytes(out)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def check_media_zip(stream: IO[bytes], *, kind: str, language: str, subjects: set[str],
                    limits: MediaLimits) -> list[CheckedFile]:
    """Return every file of the ZIP `stream`, checked; refuse (MediaRefused) if any is bad.

    `kind` is "audio" (files named `<subject>.<language>.<ext>`; `language` empty means
    any language) or "sign" (files named `<subject>.<ext>`, all in sign language
    `language`). Refused: not a ZIP, an encrypted entry, a path that climbs out or is
    absolute, a name the instrument does not have, the same text twice, a type other than
    its extension says, a file or the whole over its limit, more files than allowed, and
    an empty archive.
    """
    if kind == "sign" and language not in SIGN_LANGUAGES:
        raise MediaRefused([f"{language!r} is not a sign language we offer ({', '.join(SIGN_LANGUAGES)})."])
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise MediaRefused(["The file is not a ZIP archive. Put the files in a ZIP and upload that."]) from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir() and not _JUNK.search(i.filename)]
        if not entries:
            raise MediaRefused(["The ZIP has no files in it."])
        if len(entries) > limits.max_files:
            raise MediaRefused([f"The ZIP holds {len(entries)} files; at most {limits.max_files} "
                                "can be uploaded at once."])
        errors: list[str] = []
        checked: list[CheckedFile] = []
        seen: dict[tuple[str, str], str] = {}
        total = 0
        for info in entries:
            name = info.filename
            problem = _entry_problem(info)
            if problem:
                errors.append(f"{name}: {problem}")
                continue
            parsed = _parse_name(name.rsplit("/", 1)[-1], kind, language)
            if isinstance(parsed, str):
                errors.append(f"{name}: {parsed}.")
                continue
            subject, code, extension = parsed
            if subject not in subjects:
                errors.append(f"{name}: {subject!r} is not a statement of this questionnaire "
                              "(nor introduction or answer-<value>).")
                continue
            if (subject, code) in seen:
                errors.append(f"{name}: the same text as {seen[(subject, code)]}; keep one of them.")
                continue
            seen[(subject, code)] = name
            data = _read_capped(archive, info, limits.max_file_bytes)
            if data is None:
                errors.append(f"{name}: larger than {_mb(limits.max_file_bytes)}, the most one file may be.")
                continue
            total += len(data)
            if total > limits.max_zip_bytes:
                raise MediaRefused([*errors, f"The files come to more than {_mb(limits.max_zip_bytes)} "
                                    "once unpacked, the most one upload may be. Split them into smaller ZIPs."])
            type_problem = _type_problem(data, kind, extension)
            if type_problem:
                errors.append(f"{name}: {type_problem}")
                continue
            content_type = (AUDIO_TYPES if kind == "audio" else VIDEO_TYPES)[extension]
            checked.append(CheckedFile(subject, code, extension, content_type, data, name[:200]))
        if errors:
            raise MediaRefused(errors)
    return checked


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if info.flag_bits & 0x1:
        return "is encrypted; upload files without a password."
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or "\\" in name or ".." in parts or re.match(r"^[A-Za-z]:", name):
        return "its path leaves the archive's folder (a name with .., \\ or a drive)."
    if any(ord(c) < 32 for c in name):
        return "its name holds a control character."
    return None


def _type_problem(data: bytes, kind: str, extension: str) -> str | None:
    want = (AUDIO_TYPES if kind == "audio" else VIDEO_TYPES)[extension]
    guessed = filetype.guess(data[:8192])
    seen = guessed.mime if guessed else None
    if seen == want or seen in _ALSO_SEEN.get(want, ()):
        return None
    if seen is None:
        return f"is not a .{extension} file inside (its contents are not {want})."
    return f"is named .{extension} but its contents are {seen}."
