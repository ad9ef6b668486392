"""The scope helper: who sees which schools, pupils, groups and rounds."""

from __future__ import annotations

from survey_app.accounts.scope import Scope
from survey_app.db import db


def names(rows):
    return sorted(getattr(r, "name", None) or r.first_name for r in rows)


def visible(user):
    scope = Scope(user)
    return {
        "schools": names(db.session.scalars(scope.schools())),
        "groups": names(db.session.scalars(scope.groups())),
        "pupils": len(db.session.scalars(scope.pupils()).all()),
        "rounds": names(db.session.scalars(scope.rounds())),
    }


def test_admin_sees_everything(staff_world):
    v = visible(staff_world.admin)
    assert v["schools"] == ["Elsewhere Academy", "Second School", "Test School"]
    assert v["groups"] == ["Group A", "Group B"] and v["pupils"] == 6
    assert v["rounds"] == ["Before", "Elsewhere round"]


def test_partnership_lead_sees_its_schools_only(staff_world):
    v = visible(staff_world.lead)
    assert v["schools"] == ["Second School", "Test School"]
    assert v["groups"] == ["Group A"] and v["pupils"] == 5 and v["rounds"] == ["Before"]


def test_school_lead_sees_its_school_only(staff_world):
    v = visible(staff_world.other_lead)
    assert v["schools"] == ["Elsewhere Academy"]
    assert v["groups"] == ["Group B"] and v["pupils"] == 1 and v["rounds"] == ["Elsewhere round"]


def test_teacher_sees_only_their_groups(staff_world):
    v = visible(staff_world.teacher)
    assert v["groups"] == ["Group A"] and v["pupils"] == 5 and v["rounds"] == ["Before"]
    # A pupil from another school in their group makes that school visible by name.
    assert v["schools"] == ["Second School", "Test School"]
    v = visible(staff_world.teacher_b)
    assert v["groups"] == ["Group B"] and v["pupils"] == 1


def test_one_row_by_id_outside_scope_is_not_found(staff_world):
    import pytest
    from werkzeug.exceptions import NotFound

    scope = Scope(staff_world.teacher)
    assert scope.pupil_or_404(db.session, staff_world.pupils[0].id).id == staff_world.pupils[0].id
    for getter, ident in [(scope.pupil_or_404, staff_world.other_pupil.id),
                          (scope.group_or_404, staff_world.group_b.id),
                          (scope.round_or_404, staff_world.round_b.id),
                          (scope.pupil_or_404, "abc"), (scope.pupil_or_404, 10**9)]:
        with pytest.raises(NotFound):
            getter(db.session, ident)
