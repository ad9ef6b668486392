"""Suppression of small numbers: the one function every cohort aggregate passes through.

A count of 1 to threshold-1 pupils is withheld (primary suppression; zero is shown). A
statistic over fewer than `threshold` pupils (a mean, an SD, an alpha) is withheld.
Complementary suppression then withholds more cells wherever a hidden cell could be
worked out by subtraction: in a table with margins, any row, column or margin line whose
total is shown must hide either none or at least two of its parts. Across a split of a
cohort into two sub-groups, a cell hidden on one side is hidden on the other too (the
whole cohort's figure is shown, so one side would give the other away).

Pure code: lists of counts in, lists with None for withheld out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 5


def is_small(n: int | None, threshold: int) -> bool:
    """True when a count of pupils must be withheld (1 .. threshold-1)."""
    return n is not None and 0 < n < threshold


def statistic_allowed(n: int | None, threshold: int) -> bool:
    """True when a statistic computed over n pupils may be shown."""
    return n is not None and n >= threshold


@dataclass(frozen=True)
class SuppressedTable:
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    group_totals: list[int | None] = field(default_factory=list)  # sums over the `groups` asked for

    @property
    def hidden(self) -> int:
        """The number of withheld cells (margins included)."""
        values = [c for row in self.cells for c in row] + self.row_totals + self.column_totals + [self.total]
        return sum(v is None for v in values + self.group_totals)


def _lines(rows: int, cols: int, groups: Sequence[Sequence[tuple[int, int]]] = ()) -> list:
    """Each additive line of a table with margins and any extra groups: (its total, its parts)."""
    lines = []
    for g, cells in enumerate(groups):
        lines.append((("grp", g, 0), [("cell", r, c) for r, c in cells]))
    if groups:
        lines.append((("all", 0, 0), [("grp", g, 0) for g in range(len(groups))]))
    for r in range(rows):
        lines.append((("row", r, 0), [("cell", r, c) for c in range(cols)]))
    for c in range(cols):
        lines.append((("col", 0, c), [("cell", r, c) for r in range(rows)]))
    lines.append((("all", 0, 0), [("row", r, 0) for r in range(rows)]))
    lines.append((("all", 0, 0), [("col", 0, c) for c in range(cols)]))
    return lines


Key = tuple[str, int, int]  # ("cell", row, col), ("row", row, 0), ("col", 0, col), ("all", 0, 0)


def suppress_table(
    counts: Sequence[Sequence[int]], threshold: int, force_hidden: set[Key] | None = None,
    groups: Sequence[Sequence[tuple[int, int]]] = (),
) -> SuppressedTable:
    """Return a table of counts with small cells and margins withheld, complementary included.

    `force_hidden` names cells or margins to withhold whatever their value (used to keep
    sub-groups of one cohort consistent with each other). `groups` are further sums that
    are shown (lists of (row, column) cells covering the table, e.g. the diagonal): each
    is withheld when small and takes part in complementary suppression like a margin.
    """
    rows = len(counts)
    cols = len(counts[0]) if rows else 0
    value: dict[tuple[str, int, int], int] = {}
    for r in range(rows):
        for c in range(cols):
            value[("cell", r, c)] = int(counts[r][c])
        value[("row", r, 0)] = sum(int(x) for x in counts[r])
    for c in range(cols):
        value[("col", 0, c)] = sum(int(counts[r][c]) for r in range(rows))
    value[("all", 0, 0)] = sum(value[("row", r, 0)] for r in range(rows))
    for g, cells in enumerate(groups):
        value[("grp", g, 0)] = sum(int(counts[r][c]) for r, c in cells)
    hidden = {key for key, v in value.items() if is_small(v, threshold)}
    hidden |= set(force_hidden or ())
    lines = _lines(rows, cols, groups)
    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            if total in hidden:
                continue
            hidden_parts = [p for p in parts if p in hidden]
            if len(hidden_parts) != 1:
                continue
            visible = [p for p in parts if p not in hidden]
            if not visible:
                continue
            # Withhold the smallest other part (non-zero first: hiding a zero reveals less).
            choice = min(visible, key=lambda p: (value[p] == 0, value[p]))
            hidden.add(choice)
            changed = True

    def shown(key: tuple[str, int, int]) -> int | None:
        return None if key in hidden else value[key]

    return SuppressedTable(
        cells=[[shown(("cell", r, c)) for c in range(cols)] for r in range(rows)],
        row_totals=[shown(("row", r, 0)) for r in range(rows)],
        column_totals=[shown(("col", 0, c)) for c in range(cols)],
        total=shown(("all", 0, 0)),
        group_totals=[shown(("grp", g, 0)) for g in range(len(groups))],
    )


def suppress_counts(
    counts: Sequence[int], threshold: int, force_hidden: set[int] | None = None
) -> tuple[list[int | None], int | None]:
    """Return parts that add up to a total, with small parts (and the total) withheld."""
    table = suppress_table([list(counts)], threshold, {("cell", 0, i) for i in (force_hidden or set())})
    return table.cells[0], table.row_totals[0]


def hidden_keys(table: SuppressedTable) -> set[Key]:
    """Return the cells and margins a suppressed table withholds."""
    keys: set[Key] = {("cell", r, c) for r, row in enumerate(table.cells) for c, v in enumerate(row) if v is None}
    keys |= {("row", r, 0) for r, v in enumerate(table.row_totals) if v is None}
    keys |= {("col", 0, c) for c, v in enumerate(table.column_totals) if v is None}
    if table.total is None:
        keys.add(("all", 0, 0))
    keys |= {("grp", g, 0) for g, v in enumerate(table.group_totals) if v is None}
    return keys


def suppress_split_tables(
    sides: Sequence[Sequence[Sequence[int]]], threshold: int, groups: Sequence[Sequence[tuple[int, int]]] = (),
) -> list[SuppressedTable]:
    """Suppress the same table for two or more sub-groups whose sum is shown elsewhere.

    A cell or margin hidden in one sub-group is hidden in all, then each table's complementary
    suppression runs again, until nothing changes.
    """
    forced: set[Key] = set()
    while True:
        tables = [suppress_table(side, threshold, forced, groups) for side in sides]
        union = set().union(*(hidden_keys(t) for t in tables)) if tables else set()
        if union <= forced:
            return tables
        forced |= union
