"""Paper answers: typed in by staff, or imported from a CSV."""

from __future__ import annotations
