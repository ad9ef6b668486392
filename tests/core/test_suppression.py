"""Suppression: small counts withheld, and nothing withheld can be worked out from totals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.privacy.suppression import (
    statistic_allowed,
    suppress_counts,
    suppress_split_tables,
    suppress_table,
)

tables = st.integers(1, 4).flatmap(
    lambda rows: st.integers(1, 4).flatmap(
        lambda cols: st.lists(st.lists(st.integers(0, 12), min_size=cols, max_size=cols),
                              min_size=rows, max_size=rows)))


def lines(t):
    """Each additive line (total, parts) of a suppressed table, margins included."""
    rows, cols = len(t.cells), len(t.cells[0])
    out = [(t.row_totals[r], t.cells[r]) for r in range(rows)]
    out += [(t.column_totals[c], [t.cells[r][c] for r in range(rows)]) for c in range(cols)]
    out += [(t.total, t.row_totals), (t.total, t.column_totals)]
    return out


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(2, 6))
def test_no_small_count_shown_and_no_single_hidden_part(counts, threshold):
    t = suppress_table(counts, threshold)
    shown = [v for row in t.cells for v in row] + t.row_totals + t.column_totals + [t.total]
    assert not any(v is not None and 0 < v < threshold for v in shown)
    for total, parts in lines(t):
        if total is not None:
            assert sum(p is None for p in parts) != 1
    # Whatever is shown is the true value.
    for r, row in enumerate(counts):
        for c, v in enumerate(row):
            assert t.cells[r][c] in (None, v)


def test_examples():
    parts, total = suppress_counts([20, 3, 9], 5)
    assert parts == [20, None, None] and total == 32
    parts, total = suppress_counts([20, 0, 9], 5)
    assert parts == [20, 0, 9]
    parts, total = suppress_counts([2, 1], 5)
    assert parts == [None, None] and total is None
    assert statistic_allowed(5, 5) and not statistic_allowed(4, 5) and not statistic_allowed(None, 5)


@settings(max_examples=150, deadline=None)
@given(tables, tables, st.integers(2, 6))
def test_split_sides_hide_the_same_cells(a, b, threshold):
    if len(a) != len(b) or len(a[0]) != len(b[0]):
        b = [[(x + 3) % 13 for x in row] for row in a]
    ta, tb = suppress_split_tables([a, b], threshold)
    for ra, rb in zip(ta.cells, tb.cells, strict=True):
        assert [v is None for v in ra] == [v is None for v in rb]
    assert [v is None for v in ta.row_totals] == [v is None for v in tb.row_totals]
    assert (ta.total is None) == (tb.total is None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=4, max_size=4), min_size=4, max_size=4), st.integers(2, 6))
def test_band_groups_take_part_in_complementary_suppression(counts, threshold):
    size = range(4)
    groups = [[(r, c) for r in size for c in size if c < r], [(r, r) for r in size],
              [(r, c) for r in size for c in size if c > r]]
    t = suppress_table(counts, threshold, groups=groups)
    for g, cells in enumerate(groups):
        total = t.group_totals[g]
        assert total is None or not 0 < total < threshold
        if total is not None:
            assert sum(t.cells[r][c] is None for r, c in cells) != 1
            assert total == sum(counts[r][c] for r, c in cells)
    if t.total is not None:
        assert sum(v is None for v in t.group_totals) != 1
