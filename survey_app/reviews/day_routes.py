"""Review days: the list, setting one up (leads), the day with its completion view and
meeting marks, and the timetable to print."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from ..accounts.access import current_scope, staff_required
from ..db import db
from ..models import Group, School
from ..models.base import utcnow
from ..models.reviews import ReviewDay, ReviewMeeting
from .days import WHO_CAME, create_review_day, day_rows, mark_meeting
from .forms import MeetingForm, ReviewDayForm
from .operations import ReviewError
from .routes import bp


def _day_or_404(day_id: int) -> ReviewDay:
    day = db.session.get(ReviewDay, day_id)
    if day is None:
        abort(404)
    current_scope().school_or_404(db.session, day.school_id)
    return day


@bp.get("/review-days")
@staff_required()
def review_days():
    """The review days of the schools the staff member sees, newest first."""
    scope = current_scope()
    days = db.session.scalars(select(ReviewDay).where(ReviewDay.school_id.in_(
        select(School.id).where(scope.school_condition()))).order_by(ReviewDay.held_on.desc(), ReviewDay.id)).all()
    return render_template("reviews/days.html", days=days)


def _day_form() -> ReviewDayForm:
    scope = current_scope()
    form = ReviewDayForm()
    form.school.choices = [SelectChoice(s.id, s.name) for s in db.session.scalars(scope.schools())]
    form.groups.choices = [SelectChoice(g.id, g.name) for g in db.session.scalars(scope.groups())]
    return form


@bp.route("/review-days/new", methods=["GET", "POST"])
@staff_required("admin", "lead")
def new_review_day():
    """Set up a review day: a school, a date, the first slot and the groups."""
    form = _day_form()
    if form.validate_on_submit():
        scope = current_scope()
        school = scope.school_or_404(db.session, form.school.data)
        groups = list(db.session.scalars(select(Group).where(Group.id.in_(form.groups.data), scope.group_condition())))
        try:
            day = create_review_day(db.session, current_user, school, name=form.name.data or "",
                                    held_on=form.held_on.data, starts_at=form.starts_at.data.strip(),
                                    slot_minutes=form.slot_minutes.data, groups=groups, now=utcnow())
        except ReviewError as exc:
            db.session.rollback()
            form.held_on.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Review day set up: {len(day.meetings)} meetings.", "success")
            return redirect(url_for("reviews.review_day", day_id=day.id))
    return render_template("reviews/day_form.html", form=form), 400 if form.errors else 200


@bp.get("/review-days/<int:day_id>")
@staff_required()
def review_day(day_id: int):
    """The day's meetings by slot, each to mark held and who came; who still needs one."""
    day = _day_or_404(day_id)
    rows = day_rows(db.session, day, current_scope().pupil_condition())
    return render_template("reviews/day.html", day=day, rows=rows, who=WHO_CAME,
                           waiting=[r for r in rows if not r.meeting.held])


@bp.get("/review-days/<int:day_id>/timetable")
@staff_required()
def review_day_timetable(day_id: int):
    """The day's timetable to print: slot, pupil, year, and space to note who came."""
    day = _day_or_404(day_id)
    return render_template("reviews/timetable.html", day=day,
                           rows=day_rows(db.session, day, current_scope().pupil_condition()))


@bp.post("/review-meetings/<int:meeting_id>")
@staff_required()
def mark_review_meeting(meeting_id: int):
    """Mark one meeting held (or not) and who came."""
    meeting = db.session.get(ReviewMeeting, meeting_id)
    if meeting is None:
        abort(404)
    _day_or_404(meeting.review_day_id)
    current_scope().pupil_or_404(db.session, meeting.pupil_id)
    form = MeetingForm()
    if not form.validate_on_submit():
        abort(400, "That meeting could not be saved: choose who came from the list and try again.")
    try:
        mark_meeting(db.session, current_user, meeting, held=form.held.data, who_came=form.who_came.data or [],
                     now=utcnow())
    except ReviewError as exc:
        db.session.rollback()
        abort(400, str(exc))
    db.session.commit()
    return redirect(url_for("reviews.review_day", day_id=meeting.review_day_id) + f"#meeting-{meeting.id}")
