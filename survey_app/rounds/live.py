"""Live completion of a round, per group and per pupil."""

from __future__ import annotations
