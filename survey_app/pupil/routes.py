"""Pupil routes: each validates, calls a service, then redirects or renders."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import db
from ..errors import error_response
from ..extensions import csrf, limiter
from ..models.base import utcnow
from ..questionnaires.store import cached_definition
from ..security import check_script_csrf, json_too_deep, no_store
from . import codes as access_codes
from . import language, signing, state
from .answers import (
    TOUCH_EVERY,
    AnswerRefused,
    answers_of,
    finish_response,
    parse_given,
    record_answers,
    save_answers,
    sequence_now,
    start_or_resume,
)
from .forms import (
    NAV_CHOICES,
    CodeForm,
    ConfirmForm,
    FinishForm,
    HopesForm,
    ModeForm,
    SignOutForm,
    answer_form_class,
)
from .results import results_for, results_shared, save_hope
from .script_strings import script_strings
from .views import (
    SurveyView,
    code_problem_message,
    first_unanswered_url,
    load_pupil_response,
    parse_posted_answers,
    statements_markup,
    view_url,
)
from .voice import save_comment, voice_question

bp = Blueprint("pupil", __name__, template_folder="templates")

# An autosave body is an object holding a list of objects: three levels.
MAX_JSON_DEPTH = 8


@bp.after_request
def _no_store(response):
    return no_store(response)


@bp.before_request
def _keep_alive():
    # Idle check first (it clears a stale session), then count this request as activity.
    if state.current() is not None:
        state.mark_seen()


@bp.before_request
def _language():
    language.prepare()


@bp.context_processor
def _page_language():
    current = language.current()
    return {"page_lang": current.page, "page_dir": current.page_direction, "pupil_language": current,
            "script_strings": script_strings}


def _code_failed(response) -> bool:
    # Only a refused code counts towards the per-address limit: a class of thirty
    # signs in from one school address.
    return response.status_code not in (302, 303)


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["CODE_ATTEMPT_LIMIT"],
    methods=["POST"],
    deduct_when=_code_failed,
    error_message="Too many codes tried",
)

def start():
    """The sign-in page: the pupil types the code from their slip."""
    form = CodeForm()
    idle = state.was_idle_out()
    if form.validate_on_submit():
        check = access_codes.check_code(db.session, form.code.data, utcnow())
        if check.ok:
            state.sign_in(check.access_code.id, check.access_code.reissued_at)
            signing.remember(request.form.get("always_sign") == "1")
            return redirect(url_for("pupil.confirm"))
        if check.problem == "finished" and (shown := _results_after_sign_in(check.access_code)):
            return shown
        form.code.errors.append(code_problem_message(check))
        return render_template("pupil/start.html", form=form, idle=idle), 400
    status = 400 if form.errors else 200
    return render_template("pupil/start.html", form=form, idle=idle), status


@bp.route("/confirm", methods=["GET", "POST"])
def confirm():
    """'Is this you?': the pupil checks the name before any answer is shown."""
    data = state.current()
    if not data:
        return redirect(url_for("pupil.start"))
    access = db.session.get(access_codes.AccessCode, data["code_id"])
    if access is None or not state.holds_code(data, access.reissued_at):
        state.sign_out()
        return redirect(url_for("pupil.start"))
    form = ConfirmForm()
    if form.validate_on_submit():
        return _confirmed(access, form)
    return render_template("pupil/confirm.html", form=form, pupil=access.pupil)


def _confirmed(access, form):
    """The pupil answered "Is this you?": start or resume their response, or start again."""
    if form.no.data:
        state.sign_out()
        flash(_("That's fine. Check the code on your slip, or ask your teacher for help."), "info")
        return redirect(url_for("pupil.start"))
    check = access_codes.check_code(db.session, access.code, utcnow())
    if not check.ok:
        state.sign_out()
        flash(code_problem_message(check), "warning")
        return redirect(url_for("pupil.start"))
    response = start_or_resume(db.session, access, utcnow())
    language.record_language(response.id, language.current().code)
    db.session.commit()
    state.confirm(response.id, response.questionnaire_version_id, response.questionnaire.content_hash)
    return redirect(url_for("pupil.resume"))


@bp.get("/survey")
def resume():
    """Send the pupil to the first statement they have not answered yet."""
    loaded = load_pupil_response()
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    return redirect(first_unanswered_url(q, response.mode, answers_of(db.session, response.id)))


@bp.route("/survey/<any(s, p):kind>/<int:number>", methods=["GET", "POST"])
def answer(kind: str, number: int):
    """One statement (s) or one page of statements (p); a POST saves what was chosen."""
    loaded = load_pupil_response()
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    mode = "single" if kind == "s" else "page"
    view = SurveyView.build(q, mode, number)
    if view is None:
        abort(404)
    form = answer_form_class(q)()
    if request.method == "POST":
        return _save_page(response, q, form, view)
    if response.mode != mode:
        response.mode = mode
        db.session.commit()
    return _survey_page(response, language.localise(q), view, form)


def _save_page(response, q, form, view):
    """Save the answers a plain form post (JavaScript off, or Next/Back) chose; then go on."""
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return error_response(400, _("This page had expired, so nothing was saved. "
                                         "Please reload the page and answer again."))
        return error_response(400, _("That answer is not one of the choices. Nothing was saved."))
    nav = request.form.get("nav", "next")
    asked = request.form.get("lang")
    if nav not in NAV_CHOICES or (asked is not None and not language.valid_code(asked)):
        abort(400, _("That button is not part of this survey."))
    given = parse_posted_answers(q, form, request.form, sequence_now(utcnow()))
    if given:
        try:
            record_answers(db.session, response, given, utcnow())
        except AnswerRefused as refused:
            db.session.rollback()
            return error_response(refused.status, refused.message)
        db.session.commit()
    if asked is not None:  # a language button: answers saved, the same screen in that language
        return redirect(view.url_for_number(view.number) + "?lang=" + asked)
    if nav == "later":
        state.sign_out()
        return redirect(url_for("pupil.signed_out", reason="later"))
    return redirect(view.url_after(nav))


def _survey_page(response, q, view, form):
    answers = answers_of(db.session, response.id)
    return render_template(
        "pupil/survey.html", q=q, view=view, form=form, answers=answers, response=response,
        statements_html=statements_markup(q, view, answers), seq_base=sequence_now(utcnow()),
        mode_form=ModeForm(), signout_form=SignOutForm(), idle_minutes=current_app.config["PUPIL_IDLE_MINUTES"],
        lang_form="survey-form",
    )


@bp.post("/survey/mode")
def switch_mode():
    """Switch between one statement at a time and a page of statements."""
    loaded = load_pupil_response()
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    form = ModeForm()
    if not form.validate_on_submit():
        abort(400, _("That way of showing the survey is not available."))
    try:
        at = max(1, min(int(form.at.data), len(q.statements)))
    except (TypeError, ValueError):
        at = 1
    response.mode = form.mode.data
    db.session.commit()
    return redirect(view_url(q, response.mode, at - 1))


@bp.post("/survey/api/answers")
@csrf.exempt  # checked by check_script_csrf, which remembers a verified token
def api_answers():
    """Autosave: JSON {response, answers: [{item, value, seq}]}; 200 {saved, items}."""
    check_script_csrf()
    known = state.answering(state.current() or {})
    if known is None:
        return _signed_out_or_older_session()
    response_id, version_id, content_hash, reissued = known
    payload = _autosave_payload(response_id)
    if not isinstance(payload, dict):
        return payload
    q = cached_definition(db.session, version_id, content_hash)
    now = utcnow()
    try:
        given = parse_given(payload.get("answers"), q, sequence_now(now))
        save_answers(db.session, response_id, version_id, given, now, reissued,
                     count_time=state.touch_due(TOUCH_EVERY.total_seconds()))
    except AnswerRefused as refused:
        db.session.rollback()
        return error_response(refused.status, refused.message)
    if db.session().in_transaction():  # (the one-statement save has committed itself)
        db.session.commit()
    return jsonify(saved=len(given), items=[g.item for g in given])


def _autosave_payload(response_id: int):
    """Return the autosave's JSON object, or the error response that refuses it (too big,
    too deeply nested, unreadable, or for another sign-in's response)."""
    limit = current_app.config["PUPIL_MAX_BODY"]
    if (request.content_length or 0) > limit:
        return error_response(413, "Too much was sent at once. Nothing was saved.")
    body = request.get_data(cache=True)
    if len(body) > limit:  # (sent without a length)
        return error_response(413, "Too much was sent at once. Nothing was saved.")
    if json_too_deep(body, MAX_JSON_DEPTH):
        return error_response(400, "The answers could not be read. Nothing was saved.")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return error_response(400, "The answers could not be read. Nothing was saved.")
    if payload.get("response") != response_id:
        return error_response(403, "These answers belong to a different sign-in, so they were not saved.")
    return payload


def _signed_out_or_older_session():
    """Autosave for a session signed in before the questionnaire version was kept in it
    (the full path), or the 401 that tells the page to ask the pupil to sign in again."""
    loaded = load_pupil_response(api=True)
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    state.confirm(response.id, response.questionnaire_version_id, q.content_hash)
    return api_answers()


@bp.get("/survey/check")
def check():
    """Before finishing: list any statements not answered yet."""
    loaded = load_pupil_response()
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    q = language.localise(q)
    answers = answers_of(db.session, response.id)
    missing = [(i, s) for i, s in enumerate(q.statements) if s.id not in answers]
    return render_template(
        "pupil/check.html",
        q=q,
        response=response,
        missing=missing,
        answered=len(q.statements) - len(missing),
        form=FinishForm(),
        signout_form=SignOutForm(),
        view_url=view_url,
        voice_question=voice_question(db.session, response.round_id, q),
    )


@bp.post("/survey/finish")
def finish():
    """Finish the survey: scores are stored and the code cannot be used again."""
    loaded = load_pupil_response()
    if not isinstance(loaded, tuple):
        return loaded
    response, q = loaded
    form = FinishForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        finish_response(db.session, response, utcnow())
    except AnswerRefused as refused:
        db.session.rollback()
        return error_response(refused.status, refused.message)
    if voice_question(db.session, response.round_id, q):
        save_comment(db.session, response, form.comment.data or "", utcnow())
    db.session.commit()
    if results_shared(db.session, response.round_id):
        state.show_results(response.id)
        return redirect(url_for("pupil.results"))
    version_id = response.questionnaire_version_id
    state.sign_out()
    session["thanks"] = version_id
    session["thanks_lang"] = language.current().code
    return redirect(url_for("pupil.thanks"))


def _results_after_sign_in(access):
    """A finished pupil signing in again while the round is open sees "My results" when the
    round shares them: return that redirect, or None."""
    from ..models import Response

    response_id = db.session.scalar(select(Response.id).where(
        Response.round_id == access.round_id, Response.pupil_id == access.pupil_id))
    if response_id is None or results_for(db.session, response_id, utcnow()) is None:
        return None
    state.show_results(response_id)
    return redirect(url_for("pupil.results"))


@bp.route("/results", methods=["GET", "POST"])
def results():
    """"My results": strengths first, questions to think about, and the pupil's hopes."""
    response_id = state.results_response()
    found = (results_for(db.session, response_id, utcnow(), language.current().translation)
             if response_id else None)
    if found is None:
        state.sign_out()
        return redirect(url_for("pupil.start"))
    form = HopesForm()
    if form.validate_on_submit():
        save_hope(db.session, found.response, form.hopes.data or "", form.better_at.data or "", utcnow())
        db.session.commit()
        flash(_("Saved. Your tutor will read what you wrote."), "success")
        return redirect(url_for("pupil.results") + "#hopes-title")
    if request.method == "GET" and found.hope is not None:
        form.hopes.data, form.better_at.data = found.hope.hopes, found.hope.better_at
    html = render_template("pupil/results.html", found=found, q=found.questionnaire, form=form,
                           signout_form=SignOutForm())
    return html, 400 if form.errors else 200


@bp.get("/thanks")
def thanks():
    """The thank-you page, with the questionnaire's closing words."""
    from ..models import QuestionnaireVersion
    from ..questionnaires.store import definition_of

    version_id = session.get("thanks")
    row = db.session.get(QuestionnaireVersion, version_id) if isinstance(version_id, int) else None
    closing = language.closing_of(definition_of(row), session.get("thanks_lang")) if row else None
    return render_template("pupil/thanks.html", closing=closing)


@bp.post("/signout")
def sign_out():
    """'Finish for now', or the idle timer: forget this pupil in this browser."""
    form = SignOutForm()
    reason = form.reason.data if form.validate_on_submit() else None
    if reason is None:
        abort(400)
    state.sign_out()
    return redirect(url_for("pupil.signed_out", reason=reason))


@bp.get("/signed-out")
def signed_out():
    reason = request.args.get("reason", "later")
    if reason not in ("later", "idle"):
        reason = "later"
    return render_template("pupil/signed_out.html", reason=reason)
