"""The cohort report as named tables, and those tables as CSV and XLSX.

A table is a header row and rows of numbers and text. A withheld or undefined number is
None, written as an empty cell (grey in XLSX) and explained in the notes. Every text cell
goes through `csv_safety.safe_cell`, so a group called "=SUM(A1)" cannot run as a formula;
numbers stay numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from ...charts.cohort_layout import comparison_label
from ...files.cells import safe_cell
from ...privacy.disclosure import PRIVACY_NOTE
from ...scoring.cohort_report import CohortReport, CohortResult, Comparison
from .notes import BLANK_NOTE, TITLE, about_lines, method_notes

# Number formats by column kind (XLSX) and the decimals numbers are rounded to.
FORMATS = {"count": "0", "score": "0.00", "stat": "0.000", "p": "0.0000", "percent": "0.0", "points": "0"}
DECIMALS = {"count": None, "score": 2, "stat": 3, "p": 4, "percent": 1, "points": 2}


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    sheet: str  # XLSX sheet name (at most 31 characters)
    description: str
    header: list[str]
    kinds: list[str]  # per column: "text" or a key of FORMATS
    rows: list[list[object]]
    protected: bool = False  # some figures are adjusted for privacy (privacy.disclosure)


def _number(value: float | int | None, kind: str) -> float | int | None:
    if value is None:
        return None
    digits = DECIMALS.get(kind)
    if digits is None:
        return int(value)
    if kind == "p" and 0 < abs(value) < 0.0001:
        return float(f"{value:.2g}")
    return round(float(value), digits)


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return 100 * part / whole


def _cohorts(report: CohortReport) -> list[CohortResult]:
    return [report.main, *report.subgroups]


def _rows(kinds: list[str], rows: list[list[object]]) -> list[list[object]]:
    return [[cell if kind == "text" else _number(cell, kind) for cell, kind in zip(row, kinds, strict=True)]
            for row in rows]


def _make(key: str, title: str, sheet: str, description: str, columns: list[tuple[str, str]],
          rows: list[list[object]], protected: bool = False) -> Table:
    header = [c[0] for c in columns]
    kinds = [c[1] for c in columns]
    if protected:
        description = f"{description} {PRIVACY_NOTE}"
    return Table(key, title, sheet, description, header, kinds, _rows(kinds, rows), protected)


def _comparisons(report: CohortReport) -> Iterator[tuple[CohortResult, Comparison]]:
    for cohort in _cohorts(report):
        for comparison in cohort.comparisons:
            yield cohort, comparison


def build_tables(report: CohortReport) -> list[Table]:
    """Return every table of the report, in reading order."""
    names = {f.key: f.name for f in report.factors}
    rounds = {r.id: r.name for r in report.rounds}
    ident = [("Cohort", "text"), ("Comparison", "text"), ("Factor", "text")]
    change_rows, lost_rows, reliable_rows, distribution_rows = [], [], [], []
    changes_protected = any(c.protected for _, comp in _comparisons(report) for c in comp.factors)
    bins_protected = any(d.protected for _, comp in _comparisons(report) for d in comp.distributions)
    for cohort, comp in _comparisons(report):
        label = comparison_label(comp)
        for c in comp.factors:
            who = [cohort.label, label, names.get(c.factor, c.factor)]
            change_rows.append(who + [
                c.n_baseline, c.n_paired, c.mean_before, c.mean_after, c.mean_change, c.ci_low, c.ci_high,
                c.sd_change, c.t, c.p, c.p_holm, c.dz, c.dz_low, c.dz_high, c.wilcoxon_w, c.wilcoxon_p,
                c.wilcoxon_p_holm, c.wilcoxon_method])
            lost_rows.append(who + [c.n_baseline, c.n_paired, c.n_lost, _share(c.n_lost, c.n_baseline)])
            reliable_rows.append(who + [
                c.n_paired, c.improved, c.unchanged, c.declined, _share(c.improved, c.n_paired),
                _share(c.unchanged, c.n_paired), _share(c.declined, c.n_paired), c.rci_basis])
        for dist in comp.distributions:
            for b in dist.bins:
                distribution_rows.append([cohort.label, label, names.get(dist.factor, dist.factor),
                                          b.low, b.high, b.count])
    tables = [
        _make("factor_change", "Change on each factor", "Change",
              "Mean change from the first round with its 95% CI, effect size, t-test, Wilcoxon check and "
              "Holm-adjusted p-values, for pupils in both rounds.",
              ident + [("Pupils in first round", "count"), ("Pupils in both rounds", "count"),
                       ("Mean before", "score"), ("Mean after", "score"), ("Mean change", "score"),
                       ("95% CI low", "score"), ("95% CI high", "score"), ("SD of changes", "score"),
                       ("t", "stat"), ("p", "p"), ("p (Holm)", "p"), ("d_z", "stat"), ("d_z CI low", "stat"),
                       ("d_z CI high", "stat"), ("Wilcoxon W", "score"), ("Wilcoxon p", "p"),
                       ("Wilcoxon p (Holm)", "p"), ("Wilcoxon method", "text")],
              change_rows, changes_protected),
        _make("attrition", "Pupils compared and pupils lost", "Attrition",
              "Pupils with a score in the first round, how many also answered in the later round, and how many "
              "were lost.",
              ident + [("Pupils in first round", "count"), ("Pupils in both rounds", "count"),
                       ("Pupils lost", "count"), ("% lost", "percent")],
              lost_rows, changes_protected),
        _make("reliable_change", "Reliable change (Jacobson\u2013Truax)", "Reliable change",
              "Pupils whose change is larger than measurement error (|RCI| > 1.96), and the basis of the index.",
              ident + [("Pupils in both rounds", "count"), ("Reliably improved", "count"),
                       ("No reliable change", "count"), ("Reliably declined", "count"), ("% improved", "percent"),
                       ("% no reliable change", "percent"), ("% declined", "percent"), ("Basis", "text")],
              reliable_rows, changes_protected),
    ]
    tables += _band_tables(report, names)
    tables.append(_make(
        "change_distribution", "How much each pupil changed", "Change distribution",
        "Pupils whose change (in points) falls in each range; a range includes its lower end.",
        ident + [("Change from", "points"), ("Change to", "points"), ("Pupils", "count")], distribution_rows,
        bins_protected))
    mean_rows = [[cohort.label, rounds.get(m.round_id, str(m.round_id)), names.get(m.factor, m.factor),
                  m.n, m.mean, m.sd] for cohort in _cohorts(report) for m in cohort.means]
    tables.append(_make(
        "means", "Mean score in each round", "Means",
        "Mean factor score (0 to 100) of the selected pupils who answered in each round.",
        [("Cohort", "text"), ("Round", "text"), ("Factor", "text"), ("Pupils", "count"), ("Mean", "score"),
         ("SD", "score")], mean_rows, any(m.protected for cohort in _cohorts(report) for m in cohort.means)))
    alpha_rows = [[cohort.label, rounds.get(r.round_id, str(r.round_id)), names.get(r.factor, r.factor),
                   r.n, r.statements, r.alpha] for cohort in _cohorts(report) for r in cohort.reliability]
    tables.append(_make(
        "reliability", "Reliability (Cronbach's alpha)", "Reliability",
        "Cronbach's alpha of each factor in each round, over pupils who answered all its statements.",
        [("Cohort", "text"), ("Round", "text"), ("Factor", "text"), ("Pupils", "count"),
         ("Statements", "count"), ("Cronbach's alpha", "stat")], alpha_rows,
        any(r.protected for cohort in _cohorts(report) for r in cohort.reliability)))
    return tables


def _band_tables(report: CohortReport, names: dict[str, str]) -> list[Table]:
    """Return one band-movement table per comparison: from-band rows, to-band columns, totals."""
    tables = []
    for index, comparison in enumerate(report.main.comparisons):
        bands = list(report.bands)
        rows: list[list[object]] = []
        protected = False
        for cohort in _cohorts(report):
            if index >= len(cohort.comparisons):
                continue
            for movement in cohort.comparisons[index].bands:
                protected = protected or movement.protected
                factor = names.get(movement.factor, movement.factor)
                for frm, counts in enumerate(movement.counts):
                    band = movement.bands[frm] if frm < len(movement.bands) else str(frm)
                    rows.append([cohort.label, factor, band, *counts, movement.row_totals[frm]])
                rows.append([cohort.label, factor, "All bands", *movement.column_totals, movement.total])
        tables.append(_make(
            f"band_movement_{index + 1}", f"Movement between bands: {comparison_label(comparison)}",
            f"Bands {index + 1}",
            "Pupils in each band in the first round (rows) and the later round (columns).",
            [("Cohort", "text"), ("Factor", "text"), ("Band in first round", "text")]
            + [(f"To {b}", "count") for b in bands] + [("Total", "count")], rows, protected))
    return tables


def table_by_key(report: CohortReport, key: str) -> Table:
    """Return one table by its key; raises KeyError naming the keys there are."""
    tables = {t.key: t for t in build_tables(report)}
    if key not in tables:
        raise KeyError(f"No table {key!r}; there are: {', '.join(tables)}")
    return tables[key]


def _csv_cell(value: object) -> object:
    return "" if value is None else safe_cell(value)


def tables_csv(report: CohortReport, table: str | None = None) -> str:
    """Return the report as CSV text: one table (header and rows) when `table` names one,
    else a description followed by every table in its own titled section."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table is not None:
        chosen = table_by_key(report, table)
        writer.writerow([safe_cell(h) for h in chosen.header])
        writer.writerows([[_csv_cell(v) for v in row] for row in chosen.rows])
        return out.getvalue()
    writer.writerow([TITLE])
    for label, value in about_lines(report):
        writer.writerow([safe_cell(label), safe_cell(value)])
    writer.writerow(["Blank cells", BLANK_NOTE])
    for t in build_tables(report):
        writer.writerow([])
        writer.writerow([safe_cell(t.title)])
        if t.protected:
            writer.writerow([safe_cell(report.privacy_note)])
        writer.writerow([safe_cell(h) for h in t.header])
        writer.writerows([[_csv_cell(v) for v in row] for row in t.rows])
    return out.getvalue()


def tables_xlsx(report: CohortReport) -> bytes:
    """Return an XLSX workbook: an "About" sheet, then one sheet per table with a frozen,
    bold header row, numbers as numbers in a fixed format and withheld cells blank and grey."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DCE4EE")
    withheld_fill = PatternFill("solid", fgColor="EEF1F4")
    wrap = Alignment(wrap_text=True, vertical="top")
    tables = build_tables(report)
    book = Workbook()
    about = book.active
    about.title = "About"
    lines: list[tuple[str, str]] = [(TITLE, "")]
    lines += about_lines(report)
    lines += [("", ""), ("How to read this", "")]
    lines += method_notes(report)
    lines += [("", ""), ("Sheets", "")]
    lines += [(t.sheet, f"{t.title}. {t.description}") for t in tables]
    for label, value in lines:
        about.append([_text(label), _text(value)])
    for row in about.iter_rows():
        row[0].font = bold
        row[1].alignment = wrap
    about.column_dimensions["A"].width = 34
    about.column_dimensions["B"].width = 100
    for t in tables:
        sheet = book.create_sheet(t.sheet[:31])
        sheet.append([_text(h) for h in t.header])
        for cell in sheet[1]:
            cell.font = bold
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        for values in t.rows:
            sheet.append([_text(v) if isinstance(v, str) else v for v in values])
        for col, kind in enumerate(t.kinds, start=1):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=col, max_col=col):
                if cell.value is None:
                    cell.fill = withheld_fill
                elif kind != "text":
                    cell.number_format = FORMATS[kind]
        sheet.freeze_panes = "A2"
        for col, heading in enumerate(t.header, start=1):
            longest = max([len(heading) // 2 + 2] + [len(str(r[col - 1])) for r in t.rows if r[col - 1] is not None])
            sheet.column_dimensions[sheet.cell(row=1, column=col).column_letter].width = min(48, max(9, longest + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: object) -> object:
    """Return text neutralised for a spreadsheet; openpyxl would otherwise store '=...' as a formula."""
    return safe_cell(value)
