"""Cells that a spreadsheet would run as formulas are neutralised on export."""

from __future__ import annotations

DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Return `value` with a leading quote when a spreadsheet would read it as a formula.

    Numbers are left alone, so negative numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_STARTS):
        return "'" + value
    return value


def safe_row(row: dict) -> dict:
    """Return a copy of a CSV row with every text cell neutralised."""
    return {key: safe_cell(value) for key, value in row.items()}
