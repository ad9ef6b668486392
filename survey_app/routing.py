"""URL converters: `<int:...>` in a route only matches ids a database column can hold.

Werkzeug's integer converter takes any number of digits. SQLite cannot bind an integer
past 2**63 - 1 (OverflowError, a 500), and no id column holds more than 2**31 - 1, so a
larger number in a URL is simply a page that does not exist (404).
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # INTEGER columns on PostgreSQL


class IdConverter(IntegerConverter):
    """`<int:name>`: a whole number from 0 to MAX_ID; anything larger does not match (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
