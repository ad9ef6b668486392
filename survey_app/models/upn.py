"""England's unique pupil number (UPN): 13 characters, a check letter then 12 more."""

from __future__ import annotations

import re

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_PATTERN = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


def check_letter(body: str) -> str:
    """Return the check letter for the 12 characters after it (DfE weights 2..13)."""
    total = 0
    for weight, char in enumerate(body, start=2):
        value = int(char) if char.isdigit() else CHECK_LETTERS.index(char)
        total += weight * value
    return CHECK_LETTERS[total % 23]


def make_upn(la: int, establishment: int, year: int, serial: int) -> str:
    """Return a well-formed UPN from its parts (local authority, school, year, serial)."""
    body = f"{la:03d}{establishment:04d}{year:02d}{serial:03d}"
    return check_letter(body) + body


def is_valid_upn(upn: str) -> bool:
    """Return True when `upn` has the UPN shape and a correct check letter."""
    upn = upn.strip().upper()
    if not UPN_PATTERN.match(upn) or (upn[-1].isalpha() and upn[-1] not in CHECK_LETTERS):
        return False
    return check_letter(upn[1:]) == upn[0]
