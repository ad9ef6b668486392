"""The report's tables shaped for print: one table per cohort (and comparison), rounds side
by side, band movements as small matrices, numbers formatted with a true minus sign.

The CSV and XLSX keep the long, one-fact-a-row shape of tables.py; on paper the same
numbers fit on far fewer pages when pivoted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...charts.cohort_layout import comparison_label
from ...privacy.disclosure import PRIVACY_NOTE
from ...scoring.cohort_report import CohortReport
from .tables import Table, build_tables

# Leading text columns that split a long table into one printed table per value.
PRINT_GROUPS = {"factor_change": 2, "attrition": 2, "reliable_change": 2, "change_distribution": 2}


@dataclass(frozen=True)
class PrintPart:
    caption: str
    header: list[str]
    rows: list[list[dict]]
    groups: list[tuple[str, int]] = field(default_factory=list)  # a header row above: (label, columns)
    matrices: list[PrintPart] = field(default_factory=list)  # shown as a grid of small tables instead


def display(value: object, kind: str) -> dict:
    """Return one printed cell: {"text", "css"}; None prints blank and grey."""
    if value is None:
        return {"text": "", "css": "text" if kind == "text" else "num withheld"}
    if kind == "text":
        return {"text": str(value), "css": "text"}
    number = float(value)  # type: ignore[arg-type]
    if kind == "count":
        text = f"{int(number)}"
    elif kind == "p":
        text = "<0.0001" if number < 0.0001 else f"{number:.4f}"
    elif kind == "percent":
        text = f"{number:.1f}"
    elif kind == "points":
        text = f"{number:g}"
    elif kind == "stat":
        text = f"{number:.3f}"
    else:
        text = f"{number:.2f}"
    return {"text": text.replace("-", "\u2212"), "css": "num"}


def _grouped(table: Table) -> dict:
    group = PRINT_GROUPS.get(table.key, 1)
    parts: dict[tuple, list[list[dict]]] = {}
    for row in table.rows:
        cells = [display(v, k) for v, k in zip(row[group:], table.kinds[group:], strict=True)]
        parts.setdefault(tuple(str(v) for v in row[:group]), []).append(cells)
    return {"title": table.title, "description": table.description,
            "parts": [PrintPart(" \u00b7 ".join(key), table.header[group:], rows) for key, rows in parts.items()]}


def _wide_distribution(table: Table) -> Table:
    """Return the change distribution as one row per factor and a column per range, when
    every factor uses the same ranges (else unchanged)."""
    ranges: list[tuple] = []
    grouped: dict[tuple, list] = {}
    for cohort, comparison, factor, low, high, count in table.rows:
        grouped.setdefault((cohort, comparison, factor), []).append(((low, high), count))
    for entries in grouped.values():
        edges = [edge for edge, _ in entries]
        if ranges and edges != ranges:
            return table
        ranges = edges
    header = table.header[:3] + [f"{display(lo, 'points')['text']} to {display(hi, 'points')['text']}"
                                 for lo, hi in ranges]
    rows = [list(key) + [count for _, count in entries] for key, entries in grouped.items()]
    return Table(table.key, table.title, table.sheet,
                 table.description + " Columns: change in points.", header,
                 ["text"] * 3 + ["count"] * len(ranges), rows)


def _means(report: CohortReport) -> dict:
    parts = []
    for cohort in [report.main, *report.subgroups]:
        lookup = {(m.round_id, m.factor): m for m in cohort.means}
        rows = []
        for info in report.factors:
            cells = [display(info.name, "text")]
            for rnd in report.rounds:
                m = lookup.get((rnd.id, info.key))
                cells += [display(m.n if m else None, "count"), display(m.mean if m else None, "score"),
                          display(m.sd if m else None, "score")]
            rows.append(cells)
        parts.append(PrintPart(cohort.label, ["Factor"] + ["Pupils", "Mean", "SD"] * len(report.rounds), rows,
                               groups=[("", 1)] + [(r.name, 3) for r in report.rounds]))
    return {"title": "Mean score in each round",
            "description": "Mean factor score (0 to 100) of the selected pupils who answered in each round.",
            "parts": parts}


def _reliability(report: CohortReport) -> dict:
    parts = []
    for cohort in [report.main, *report.subgroups]:
        lookup = {(r.round_id, r.factor): r for r in cohort.reliability}
        rows = []
        for info in report.factors:
            found = [lookup.get((rnd.id, info.key)) for rnd in report.rounds]
            statements = next((r.statements for r in found if r is not None), None)
            cells = [display(info.name, "text"), display(statements, "count")]
            for r in found:
                cells += [display(r.n if r else None, "count"), display(r.alpha if r else None, "stat")]
            rows.append(cells)
        parts.append(PrintPart(cohort.label, ["Factor", "Statements"] + ["Pupils", "Alpha"] * len(report.rounds),
                               rows, groups=[("", 2)] + [(r.name, 2) for r in report.rounds]))
    return {"title": "Reliability (Cronbach's alpha)",
            "description": "Cronbach's alpha of each factor in each round, over pupils who answered all its "
                           "statements.", "parts": parts}


def _bands(report: CohortReport) -> list[dict]:
    names = {f.key: f.name for f in report.factors}
    tables = []
    for index, comparison in enumerate(report.main.comparisons):
        parts = []
        for cohort in [report.main, *report.subgroups]:
            if index >= len(cohort.comparisons):
                continue
            matrices = []
            for movement in cohort.comparisons[index].bands:
                rows = [[display(band, "text"), *(display(c, "count") for c in counts),
                         display(movement.row_totals[i], "count")]
                        for i, (band, counts) in enumerate(zip(movement.bands, movement.counts, strict=True))]
                rows.append([display("Total", "text"), *(display(c, "count") for c in movement.column_totals),
                             display(movement.total, "count")])
                matrices.append(PrintPart(names.get(movement.factor, movement.factor),
                                          ["From \\ to", *movement.bands, "Total"], rows))
            parts.append(PrintPart(cohort.label, [], [], matrices=matrices))
        tables.append({"title": f"Movement between bands: {comparison_label(comparison)}",
                       "description": "Pupils in each band in the first round (rows) and in the later round "
                                      "(columns).", "parts": parts})
    return tables


def print_tables(report: CohortReport) -> list[dict]:
    """Return every table of the report shaped for print, in reading order."""
    shaped = []
    tables = build_tables(report)
    for table in tables:
        if table.key.startswith("band_movement_"):
            if table.key == "band_movement_1":
                bands = _bands(report)
                for shape, band_table in zip(bands, [t for t in tables if t.key.startswith("band_movement_")],
                                             strict=True):
                    shaped.append(_noted(shape, band_table))
        elif table.key == "means":
            shaped.append(_noted(_means(report), table))
        elif table.key == "reliability":
            shaped.append(_noted(_reliability(report), table))
        elif table.key == "change_distribution":
            shaped.append(_grouped(_wide_distribution(table)))
        else:
            shaped.append(_grouped(table))
    return shaped


def _noted(shape: dict, table) -> dict:
    """A print table with the privacy sentence when its figures are protected."""
    if table.protected and PRIVACY_NOTE not in shape["description"]:
        shape["description"] = f"{shape['description']} {PRIVACY_NOTE}"
    return shape
