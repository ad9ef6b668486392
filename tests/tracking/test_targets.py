"""Open targets on the tracking list: only the open ones, on the page and in the files, from
one query for all the pupils."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa

from survey_app.db import db
from survey_app.models.reviews import Target
from tests.conftest import login_as

OPEN = "Attendance: Be in school every day (review 12 Jan 2027)"


def _targets(world) -> None:
    pupil = world.pupils[0]
    db.session.add_all([
        Target(pupil_id=pupil.id, area="attendance", words="Be in school every day", review_on=date(2027, 1, 12)),
        Target(pupil_id=pupil.id, area="homework", words="Homework club on Tuesdays", review_on=date(2026, 11, 2),
               outcome="met", reviewed_on=date(2026, 11, 2)),
    ])
    db.session.commit()


def test_only_open_targets_show_on_the_page_in_the_csv_and_in_print(client, staff_world):
    _targets(staff_world)
    login_as(client, staff_world.lead)
    url = f"/staff/tracking/?school={staff_world.school.id}"
    page = client.get(url).text
    assert "Open targets" in page and OPEN in page and "Homework club" not in page
    filtered = client.get(url + "&f.targets=school every day").text
    assert staff_world.pupils[0].display_name in filtered and staff_world.pupils[1].display_name not in filtered
    resp = client.get(f"/staff/tracking/export.csv?school={staff_world.school.id}")
    rows = {r["UPN"]: r for r in csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig")))}
    assert rows[staff_world.pupils[0].upn]["Open targets"] == OPEN
    assert rows[staff_world.pupils[1].upn]["Open targets"] == ""
    printed = client.get(f"/staff/tracking/print?school={staff_world.school.id}").text
    assert OPEN in printed and "Homework club" not in printed
    xlsx = client.get(f"/staff/tracking/export.xlsx?school={staff_world.school.id}")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_page_makes_as_many_queries_with_targets_on_every_pupil(client, staff_world):
    _targets(staff_world)
    login_as(client, staff_world.lead)
    url = f"/staff/tracking/?school={staff_world.school.id}"
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    client.get(url)  # warm: whatever is read once per process is read here
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        client.get(url)
        one_pupil = len(statements)
        for pupil in staff_world.pupils[1:]:
            db.session.add_all([Target(pupil_id=pupil.id, area="behaviour", words=f"Calm start {n}",
                                       review_on=date(2027, 2, n + 1)) for n in range(3)])
        db.session.commit()
        statements.clear()
        page = client.get(url).text
        every_pupil = len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert "Behaviour: Calm start 2 (review 3 Feb 2027)" in page
    assert every_pupil == one_pupil
