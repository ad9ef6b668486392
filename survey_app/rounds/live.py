"""Live completion of a round, per group and per pupil: a page, and the JSON it polls.

The page works on its own (a Refresh link); static/js/completion.js updates it in
place from completion.json every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, jsonify, make_response, render_template, request, url_for
from werkzeug.exceptions import NotFound

from ..accounts.access import current_scope, staff_required
from ..accounts.scope import Scope
from ..db import db
from ..models import Group, SurveyRound
from ..models.base import utcnow
from ..security import no_store
from ..templating import local_time
from .completion import GroupProgress, round_progress
from .routes import bp

POLL_SECONDS = 5
STATUSES = ("finished", "in progress", "not started")


@dataclass(frozen=True)
class Completion:
    """What the completion page and its JSON show: the groups and the counts."""

    round: SurveyRound
    groups: list[Group]  # every group of the round the user sees (for the filter)
    shown: list[GroupProgress]
    group_id: int | None
    now: datetime

    def counts(self) -> dict[str, int]:
        # A pupil in two groups of the round is counted once.
        status = {p.pupil_id: p.status for gp in self.shown for p in gp.pupils}
        out = {s: sum(1 for v in status.values() if v == s) for s in STATUSES}
        out["total"] = len(status)
        return out

    def summary(self) -> str:
        c = self.counts()
        return f"{c['finished']} finished, {c['in progress']} in progress, {c['not started']} not started"


def load_completion(scope: Scope, survey_round: SurveyRound, group_arg: str | None) -> Completion:
    """Return the round's progress within `scope`, for one group when `group_arg` names one.

    Refuses (NotFound) a group that is not one of the round's groups the user sees.
    """
    progress = round_progress(db.session, scope, survey_round)
    groups = [gp.group for gp in progress]
    group_id = None
    if group_arg:
        try:
            group_id = int(group_arg)
        except ValueError:
            raise NotFound() from None
        progress = [gp for gp in progress if gp.group.id == group_id]
        if not progress:
            raise NotFound()
    return Completion(survey_round, groups, progress, group_id, utcnow())


def last_seen(value: datetime | None, now: datetime) -> str:
    """Return a last-activity time in the school's zone: the time today, else day and time."""
    if value is None:
        return "—"
    same_day = local_time(value, "%Y-%m-%d") == local_time(now, "%Y-%m-%d")
    return local_time(value, "%H:%M" if same_day else "%a %-d %b, %H:%M")


def as_json(c: Completion) -> dict:
    """Return the completion data polled by completion.js."""
    return {
        "round": {"id": c.round.id, "name": c.round.name, "state": c.round.state(c.now)},
        "updated": local_time(c.now, "%H:%M:%S"),
        "counts": c.counts(),
        "summary": c.summary(),
        "groups": [
            {
                "id": gp.group.id,
                "name": gp.group.name,
                "counts": {s: gp.count(s) for s in STATUSES} | {"total": len(gp.pupils)},
                "pupils": [
                    {
                        "id": p.pupil_id,
                        "name": p.name,
                        "status": p.status,
                        "answered": p.answered,
                        "total": p.total,
                        "last_activity": p.last_activity.isoformat() if p.last_activity else None,
                        "last_activity_text": last_seen(p.last_activity, c.now),
                    }
                    for p in gp.pupils
                ],
            }
            for gp in c.shown
        ],
    }


@bp.get("/<int:round_id>/completion")
@staff_required()
def completion(round_id: int):
    """Who has not started, who is in progress (how far, last activity) and who has finished."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    c = load_completion(scope, survey_round, request.args.get("group"))
    page = render_template(
        "rounds/completion.html",
        c=c,
        last_seen=last_seen,
        json_url=url_for("rounds.completion_json", round_id=round_id, group=c.group_id),
        poll_seconds=POLL_SECONDS,
        idle_minutes=current_app.config["STAFF_IDLE_MINUTES"],
        can_import=scope.can_manage,
    )
    return no_store(make_response(page))


@bp.get("/<int:round_id>/completion.json")
@staff_required()
def completion_json(round_id: int):
    """The completion page's data as JSON: groups, their pupils {id, name, status, answered, total}."""
    scope = current_scope()
    survey_round = scope.round_or_404(db.session, round_id)
    return no_store(jsonify(as_json(load_completion(scope, survey_round, request.args.get("group")))))
