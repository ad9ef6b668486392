"""Round routes: the list, one round, setting up and changing rounds, codes and slips."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models import AccessCode, Group, Pupil, QuestionnaireVersion, SurveyRound, group_members
from ..models.base import utcnow
from ..questionnaires import QuestionnaireError
from ..questionnaires.store import sync_directory
from . import operations as round_service
from . import slips as slip_service
from .completion import round_summaries
from .forms import MODE_HINTS, ActionForm, EditRoundForm, ExtendForm, NewRoundForm, RoundForm
from .operations import MODE_LABELS, PHASE_LABELS, RoundError, RoundSettings

bp = Blueprint("rounds", __name__, template_folder="templates", url_prefix="/staff/rounds")

STATE_ORDER = {"open": 0, "scheduled": 1, "closed": 2}


def _zone() -> str:
    return current_app.config.get("DEFAULT_TIMEZONE", "Europe/London")


def _staff():
    return current_user._get_current_object()


def optional_url(endpoint: str, **values) -> str | None:
    """Return the URL of a page another part of the app may or may not provide yet."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.context_processor
def _round_helpers():
    return {"phase_labels": PHASE_LABELS, "mode_labels": MODE_LABELS, "optional_url": optional_url,
            "has_endpoint": lambda name: name in current_app.view_functions}


# ----- list and one round ------------------------------------------------------------


@bp.get("/")
@staff_required()
def list_rounds():
    scope = current_scope()
    now = utcnow()
    rows = db.session.scalars(scope.rounds().options(selectinload(SurveyRound.questionnaire))).all()
    rows = sorted(rows, key=lambda r: STATE_ORDER[r.state(now)])  # stable: newest first within
    summaries = round_summaries(db.session, scope, rows)
    groups = {r.id: scope.groups_of_round(db.session, r) for r in rows}
    return render_template("rounds/list.html", summaries=summaries, groups=groups, now=now)


def _render_round(survey_round: SurveyRound, extend_form: ExtendForm | None = None,
                  error: str | None = None, status: int = 200):
    scope = current_scope()
    now = utcnow()
    if extend_form is None:
        extend_form = ExtendForm(formdata=None)
        start = max(survey_round.closes_at, now)
        extend_form.closes_at.data = round_service.utc_to_local(start + timedelta(days=7), _zone())
    return render_template(
        "rounds/show.html",
        round=survey_round,
        state=survey_round.state(now),
        summary=round_summaries(db.session, scope, [survey_round])[0],
        group_codes=slip_service.group_code_counts(db.session, scope, survey_round),
        missing=slip_service.pupils_without_codes(db.session, survey_round) if scope.can_manage else 0,
        owner=round_service.owner_name(db.session, round_service.owner_of_round(survey_round)),
        extend_form=extend_form,
        error=error,
    ), status


@bp.get("/<int:round_id>")
@staff_required()
def show_round(round_id: int):
    return _render_round(current_scope().round_or_404(db.session, round_id))


# ----- setting up and changing -------------------------------------------------------


def _group_choices() -> list[SelectChoice]:
    groups = db.session.scalars(
        current_scope().groups().options(selectinload(Group.school), selectinload(Group.partnership))
    ).all()
    sizes = dict(db.session.execute(
        select(group_members.c.group_id, func.count())
        .join(Pupil, Pupil.id == group_members.c.pupil_id)
        .where(Pupil.archived.is_(False), group_members.c.group_id.in_([g.id for g in groups]))
        .group_by(group_members.c.group_id)
    ).all())
    choices = []
    for g in groups:
        owner = g.school or g.partnership
        size = sizes.get(g.id, 0)
        pupils = f"{size} pupil{'s' * (size != 1)}"
        label = f"{g.name} ({owner.name}, {pupils})" if owner else f"{g.name} ({pupils})"
        choices.append(SelectChoice(g.id, label))
    return choices


def _questionnaire_choices() -> list[SelectChoice]:
    rows = db.session.scalars(
        select(QuestionnaireVersion).order_by(QuestionnaireVersion.loaded_at.desc(),
                                              QuestionnaireVersion.id.desc())
    ).all()
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        seen[(row.key, row.version)] = seen.get((row.key, row.version), 0) + 1
    choices = []
    for row in rows:
        label = f"{row.title} ({row.key} v{row.version})"
        if seen[(row.key, row.version)] > 1:
            # The same version number with different contents: the file was edited.
            label += f", copy loaded {row.loaded_at:%d %b %Y}, {row.content_hash[:8]}"
        choices.append(SelectChoice(row.id, label))
    return choices


def _load_questionnaire_files() -> str | None:
    """Store new questionnaire files so they can be chosen; return a problem to show, if any."""
    try:
        sync_directory(db.session, current_app.config["QUESTIONNAIRE_DIR"])
        db.session.commit()
    except QuestionnaireError as exc:
        db.session.rollback()
        return f"A questionnaire file has a problem, so new files were not loaded: {exc}"
    except IntegrityError:
        db.session.rollback()  # someone else stored the same file a moment ago
    return None


def _settings(form: RoundForm, keep: list[Group] = ()) -> RoundSettings:
    chosen = db.session.scalars(
        current_scope().groups().where(Group.id.in_(form.groups.data or []))
    ).all()
    zone = _zone()
    return RoundSettings(
        name=form.name.data or "", phase=form.phase.data,
        opens_at=round_service.local_to_utc(form.opens_at.data, zone),
        closes_at=round_service.local_to_utc(form.closes_at.data, zone),
        groups=[*chosen, *keep], mode=form.mode.data,
        allow_finish_later=bool(form.allow_finish_later.data),
    )


def _show_problems(form, exc: RoundError) -> None:
    for name, message in exc.problems.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


def _show_more_problems(form: RoundForm, owner: round_service.Owner,
                        existing: SurveyRound | None = None, keep: list[Group] = ()) -> None:
    """When the form itself is refused, also run the round's own checks on what did parse,
    so every problem shows at once rather than one screen after another."""
    if form.opens_at.data is None or form.closes_at.data is None:
        return
    problems = round_service.check_settings(db.session, owner, _settings(form, keep), utcnow(), existing)
    for name, message in problems.items():
        field = form._fields.get(name)
        if field is not None and not field.errors:
            field.errors = [message]


def _new_round_owner(form: NewRoundForm) -> round_service.Owner | None:
    if not current_scope().is_admin:
        return round_service.owner_of_staff(_staff())
    owner = round_service.parse_owner(form.owner.data)
    if owner is None or not round_service.owner_name(db.session, owner):
        return None
    return owner


def _default_times(form: RoundForm) -> None:
    local = round_service.utc_to_local(utcnow(), _zone())
    opens = local.replace(minute=0) + timedelta(hours=1)
    form.opens_at.data = opens
    form.closes_at.data = opens + timedelta(days=14)


@bp.route("/new", methods=["GET", "POST"])
@staff_required("admin", "lead")
def new_round():
    problem = _load_questionnaire_files() if request.method == "GET" else None
    form = _new_round_form()
    if request.method == "GET":
        _default_times(form)
    else:
        created = _create_from(form)
        if created is not None:
            codes = db.session.scalar(select(func.count(AccessCode.id)).where(AccessCode.round_id == created.id))
            flash(f"Round \u2018{created.name}\u2019 created with {codes} code(s).", "success")
            return redirect(url_for(".show_round", round_id=created.id))
    status = 400 if request.method == "POST" else 200
    return render_template("rounds/form.html", form=form, round=None, problem=problem,
                           mode_hints=MODE_HINTS, kept=[]), status


def _new_round_form() -> NewRoundForm:
    form = NewRoundForm()
    form.questionnaire.choices = _questionnaire_choices()
    form.groups.choices = _group_choices()
    if current_scope().is_admin:
        form.owner.choices = [SelectChoice(v, label) for v, label in round_service.owner_choices(db.session)]
    else:
        del form.owner
    return form


def _create_from(form: NewRoundForm) -> SurveyRound | None:
    """Create the round the posted form describes (committed), or put the problems on the form."""
    owner = _new_round_owner(form)
    valid = form.validate_on_submit()
    if owner is None and current_scope().is_admin:
        form.owner.errors = [*form.owner.errors, "Choose the partnership or school the round belongs to."]
    elif owner is None:
        form.form_errors.append("Your account has no school or partnership, so it cannot set up rounds.")
    elif not valid:
        _show_more_problems(form, owner)
    else:
        try:
            survey_round = round_service.create_round(
                db.session, _staff(), form.questionnaire.data, owner, _settings(form), utcnow())
        except RoundError as exc:
            db.session.rollback()
            _show_problems(form, exc)
        else:
            db.session.commit()
            return survey_round
    return None


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@staff_required("admin", "lead")
def edit_round(round_id: int):
    survey_round = current_scope().round_or_404(db.session, round_id)
    form = _edit_round_form(survey_round)
    offered = {c.value for c in form.groups.choices}
    # Groups this user cannot choose from (archived, or outside their scope) stay as they are.
    kept = [g for g in survey_round.groups if g.id not in offered]
    if request.method == "POST" and not form.validate_on_submit():
        _show_more_problems(form, round_service.owner_of_round(survey_round), survey_round, kept)
    elif request.method == "POST":
        try:
            update = round_service.update_round(db.session, _staff(), survey_round, _settings(form, kept), utcnow())
        except RoundError as exc:
            db.session.rollback()
            _show_problems(form, exc)
        else:
            db.session.commit()
            extra = f" {update.codes_issued} new code(s) made." if update.codes_issued else ""
            flash(f"Changes saved.{extra}" if update.changes else "Nothing was changed.",
                  "success" if update.changes else "info")
            return redirect(url_for(".show_round", round_id=survey_round.id))
    status = 400 if request.method == "POST" else 200
    return render_template("rounds/form.html", form=form, round=survey_round, problem=None,
                           mode_hints=MODE_HINTS, kept=kept), status


def _edit_round_form(survey_round: SurveyRound) -> EditRoundForm:
    zone = _zone()
    form = EditRoundForm(data={
        "name": survey_round.name, "phase": survey_round.phase, "mode": survey_round.mode,
        "opens_at": round_service.utc_to_local(survey_round.opens_at, zone),
        "closes_at": round_service.utc_to_local(survey_round.closes_at, zone),
        "allow_finish_later": survey_round.allow_finish_later,
        "groups": [g.id for g in survey_round.groups],
    })
    form.groups.choices = _group_choices()
    return form


def _act(round_id: int, action, done: str):
    survey_round = current_scope().round_or_404(db.session, round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(survey_round)
    except RoundError as exc:
        db.session.rollback()
        return _render_round(survey_round, error=str(exc), status=400)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".show_round", round_id=survey_round.id))


@bp.post("/<int:round_id>/open")
@staff_required("admin", "lead")
def open_round(round_id: int):
    return _act(round_id, lambda r: round_service.open_now(db.session, _staff(), r, utcnow()),
                "The round is open now: pupils can sign in with their codes.")


@bp.post("/<int:round_id>/close")
@staff_required("admin", "lead")
def close_round(round_id: int):
    return _act(round_id, lambda r: round_service.close_now(db.session, _staff(), r, utcnow()),
                "The round is closed. Pupils can no longer answer.")


@bp.post("/<int:round_id>/issue-codes")
@staff_required("admin", "lead")
def issue_codes(round_id: int):
    survey_round = current_scope().round_or_404(db.session, round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    made = slip_service.issue_missing_codes(db.session, _staff(), survey_round)
    db.session.commit()
    flash(f"{made} new code(s) made." if made else "Every pupil already has a code.", "success")
    return redirect(url_for(".show_round", round_id=survey_round.id))


@bp.post("/<int:round_id>/extend")
@staff_required("admin", "lead")
def extend_round(round_id: int):
    survey_round = current_scope().round_or_404(db.session, round_id)
    form = ExtendForm()
    if form.validate_on_submit():
        closes_at = round_service.local_to_utc(form.closes_at.data, _zone())
        try:
            round_service.extend_round(db.session, _staff(), survey_round, closes_at, utcnow())
        except RoundError as exc:
            db.session.rollback()
            form.closes_at.errors = [*form.closes_at.errors, *exc.problems.values()]
        else:
            db.session.commit()
            flash("The closing time has been moved.", "success")
            return redirect(url_for(".show_round", round_id=survey_round.id))
    problems = " ".join(form.closes_at.errors)
    return _render_round(survey_round, extend_form=form, status=400,
                         error=f"The closing time was not moved. {problems}".strip())
