"""Tracking routes: the tracking list for a selection (in the URL), its files and print view."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import current_scope, staff_required
from ..audit.log import record_export
from ..cohort.build import CohortError, check_filters
from ..cohort.options import selection_options
from ..cohort.selection import CohortSelection, parse_selection
from ..db import db
from ..models import Partnership, School
from ..models.base import utcnow
from ..models.people import year_label
from . import patterns
from .forms import ButtonForm
from .queries import TrackingList, tracking_list
from .table import table_of, to_csv, to_xlsx
from .thresholds import check, chosen, field_name, save

bp = Blueprint("tracking", __name__, template_folder="templates", url_prefix="/staff/tracking")
PAGE_SIZE = 250  # rows a page shows; the files and the print view have them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url_with(endpoint: str | None = None, path: dict | None = None, **changes: str | None) -> str:
    """Return this page's URL (or `endpoint`'s) with the same query, some values changed or dropped."""
    args = {k: v for k, v in request.args.lists()}
    for key, value in changes.items():
        key = key.replace("__", ".")
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    query = urlencode(args, doseq=True)
    return url_for(endpoint or request.endpoint, **(path or {})) + (f"?{query}" if query else "")


def _list_or_400() -> tuple[CohortSelection, TrackingList | None]:
    """Return the selection of the query and its tracking list (None before a choice), or 400/404."""
    parsed = parse_selection({k: request.args.getlist(k) for k in ("school", "group", "year")})
    if parsed.errors:
        abort(400, " ".join(parsed.errors))
    selection = parsed.selection
    scope = current_scope()
    try:
        check_filters(db.session, scope, selection)
    except CohortError:
        abort(404)
    if not (selection.school_ids or selection.group_ids or selection.year_groups):
        return selection, None
    return selection, tracking_list(db.session, scope, selection, utcnow(),
                                    int(current_app.config.get("SUPPRESSION_THRESHOLD", 5)))


def _view_args() -> tuple[dict[str, str], str | None, bool]:
    """Return (filters {column key: text}, sort column, descending) from the query."""
    filters = {k[2:]: v for k, v in request.args.items() if k.startswith("f.") and v.strip()}
    return filters, request.args.get("sort") or None, request.args.get("dir") == "desc"


def _render(template: str, paged: bool = True):
    selection, tracking = _list_or_400()
    filters, sort, descending = _view_args()
    cols, rows = table_of(tracking, filters, sort, descending) if tracking else ([], [])
    matched = len(rows)
    pages = max(1, -(-matched // PAGE_SIZE)) if paged else 1
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    if paged:
        rows = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    names = {s.id: s.name for s in db.session.scalars(select(School).where(
        School.id.in_(list(tracking.thresholds) if tracking else [])))}
    own_rules = {p.key: [(names[sid], p.rule_text(chosen[p.key])) for sid, chosen in
                         (tracking.thresholds.items() if tracking else ()) if chosen.get(p.key)]
                 for p in patterns.PATTERNS}
    html = render_template(template, selection=selection, tracking=tracking, cols=cols, rows=rows,
                           filters=filters, sort=sort, descending=descending, patterns=patterns,
                           options=selection_options(db.session, current_scope()), year_label=year_label,
                           url_with=url_with, own_rules=own_rules, now=utcnow(), matched=matched, page=page,
                           pages=pages, first=(page - 1) * PAGE_SIZE + 1 if paged else 1)
    # Round statistics computed for reliable change are kept for the next page (as the profile does).
    db.session.commit()
    return html


@bp.get("/")
@staff_required()
def tracking_page():
    return _render("tracking/list.html")


@bp.get("/print")
@staff_required()
def tracking_print():
    return _render("tracking/print.html", paged=False)


@bp.get("/export.<fmt>")
@staff_required()
def tracking_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    selection, tracking = _list_or_400()
    if tracking is None:
        abort(400, "Choose a group, a school or a year group first.")
    filters, sort, descending = _view_args()
    cols, rows = table_of(tracking, filters, sort, descending, detailed=True)
    record_export(db.session, current_user.id, f"tracking list ({fmt.upper()})", rows=len(rows),
                  selection=selection.query_string())
    db.session.commit()
    if fmt == "csv":
        body, mimetype = to_csv(cols, rows).encode("utf-8-sig"), "text/csv"
    else:
        body, mimetype = to_xlsx(cols, rows, patterns.NOTE), XLSX
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="tracking-list.{fmt}"'})


def _owner_or_404() -> tuple[tuple[str, int], str]:
    """Return (("school" | "partnership", id), name) from the query, inside the scope, else 404."""
    scope = current_scope()
    if request.values.get("partnership"):
        partnership = scope.partnership(db.session)
        wanted = request.values.get("partnership", type=int)
        if scope.is_admin:
            partnership = db.session.get(Partnership, wanted) if wanted else None
        if partnership is None or partnership.id != wanted:
            abort(404)
        return ("partnership", partnership.id), partnership.name
    school = scope.school_or_404(db.session, request.values.get("school"))
    return ("school", school.id), school.name


@bp.route("/thresholds", methods=["GET", "POST"])
@staff_required("admin", "lead")
def pattern_thresholds():
    owner, name = _owner_or_404()
    form = ButtonForm()
    current, problems = chosen(db.session, owner), []
    shown = {k: {n: f"{v:g}" for n, v in named.items()} for k, named in current.items()}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, "That form had expired; nothing was saved. Please try again.")
        values, problems = check(request.form)
        if not problems:
            changed = save(db.session, current_user, owner, values)
            db.session.commit()
            flash("The thresholds were saved." if changed else "Nothing had changed.", "success")
            return redirect(url_for(".pattern_thresholds", **{owner[0]: owner[1]}))
        shown = {p.key: {n: request.form.get(field_name(p.key, n), "") for n in p.defaults} for p in patterns.PATTERNS}
    return render_template("tracking/thresholds.html", owner=owner, name=name, form=form, shown=shown, current=current,
                           problems=problems, patterns=patterns, field_name=field_name), 400 if problems else 200
