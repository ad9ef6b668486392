"""What a member of staff does in the browser, for the staff browser tests."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS, Axe
from playwright.sync_api import Page, expect

from tests.conftest import TEST_PASSWORD

ROSTER_COLUMNS = ["UPN", "Legal Surname", "Forename", "Year", "Reg Group", "Gender", "SEN", "FSM", "EAL"]


def sign_in_staff(page: Page, email: str) -> None:
    """Sign in through the form and wait for the home page."""
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()


def sign_out_staff(page: Page) -> None:
    """Sign out from a staff page that has loaded. Signing out ends the account's sessions
    everywhere, so a tour walking the same account at another width may have signed this
    browser out already: then the page is the sign-in page, which is what this waits for."""
    button = page.get_by_role("button", name="Sign out")
    if button.count():
        button.click()
    expect(page.get_by_role("heading", name="Staff sign in")).to_be_visible()


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    """Write a roster CSV with the usual SIMS column names and return its path."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ROSTER_COLUMNS)
        writer.writerows(rows)
    return path


def local_input(moment: datetime, zone: str = "Europe/London") -> str:
    """`moment` (aware) as a datetime-local input value in the school's time zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def open_now_close_later(days: int = 7) -> tuple[str, str]:
    now = datetime.now(ZoneInfo("UTC"))
    return local_input(now - timedelta(minutes=10)), local_input(now + timedelta(days=days))


def start_axe(page: Page, axe: Axe) -> None:
    """Inject axe-core into the loaded page and start it, without waiting for its answer."""
    page.evaluate(axe.axe_script)
    # From a timer, so that this call returns at once and axe runs while Python does other work.
    page.evaluate("options => { window.__axeRun = new Promise(resolve => setTimeout("
                  "() => resolve(axe.run(document, options)), 0)); }", DEFAULT_OPTIONS)


def collect_axe(page: Page) -> list[dict]:
    """Wait for the run `start_axe` began on this page; return its violations."""
    return page.evaluate("() => window.__axeRun.then(results => results.violations)")


# ----- every staff page, for axe and screenshots -------------------------------------

STAFF_PAGES = [
    "sign-in", "sign-in-error", "home-lead", "schools", "partnership", "school", "pupils", "pupil",
    "pupil-edit", "pupil-edit-errors", "roster-upload", "roster-preview", "groups", "group",
    "group-form", "group-add-pupils", "rounds", "round", "round-new", "round-new-errors", "codes",
    "slips", "completion", "paper-entry", "heatmap", "profile", "profile-print", "change-password",
    "not-found", "home-teacher", "forbidden", "staff-list", "staff-new", "staff-show",
]
CHART = "[data-chart='profile-chart-data'] .main-svg"


def prepare_staff_world(world) -> None:
    """Give the world's round answers: every pupil of Group A but the first has finished."""
    from tests.profiles.test_profiles import answer_round

    answer_round(world, world.round, [*world.pupils[1:], world.pupil2], level=2.6, seed=5)


def visit(page: Page, url: str, heading: str | re.Pattern, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    expect(page.locator("h1")).to_have_text(heading)


def staff_tour(page: Page, world, roster: Path) -> Iterator[str]:
    """Visit every staff page in turn, yielding its name once it is loaded and settled.

    Signs in (and out) as the lead, a teacher and the administrator on the one page; uses
    `roster` as the file of the roster import.
    """
    school, pupil, rid = world.school, world.pupils[1], world.round.id

    visit(page, "/staff/sign-in", "Staff sign in")
    yield "sign-in"

    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_be_visible()
    yield "sign-in-error"

    sign_in_staff(page, world.lead.email)
    yield "home-lead"

    visit(page, "/staff/schools/", "Schools and pupils")
    yield "schools"
    visit(page, f"/staff/schools/partnerships/{world.partnership.id}", world.partnership.name)
    yield "partnership"
    visit(page, f"/staff/schools/{school.id}", school.name)
    yield "school"
    visit(page, f"/staff/schools/{school.id}/pupils", f"Pupils at {school.name}")
    yield "pupils"
    visit(page, f"/staff/schools/pupils/{pupil.id}", re.compile(pupil.display_name))
    yield "pupil"
    visit(page, f"/staff/schools/pupils/{pupil.id}/edit", f"Edit {pupil.display_name}")
    yield "pupil-edit"
    page.get_by_label("First name").fill("")
    page.get_by_label("Surname").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("p.error")).to_have_count(2)
    yield "pupil-edit-errors"

    visit(page, f"/staff/schools/import?school={school.id}", "Import pupils from a roster")
    yield "roster-upload"
    page.get_by_label("Roster file (CSV, OneRoster ZIP or CTF XML)").set_input_files(roster)
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h1")).to_have_text(f"Check the import into {school.name}")
    expect(page.locator("#bad-title")).to_be_visible()
    yield "roster-preview"

    visit(page, "/staff/groups/", "Groups")
    yield "groups"
    visit(page, f"/staff/groups/{world.group.id}", world.group.name)
    yield "group"
    visit(page, "/staff/groups/new", "Create a group")
    yield "group-form"
    visit(page, f"/staff/groups/{world.group.id}/pupils/add?school={world.school2.id}",
          f"Add pupils to “{world.group.name}”")
    expect(page.locator("#results-title")).to_be_visible()
    yield "group-add-pupils"

    visit(page, "/staff/rounds/", "Survey rounds")
    yield "rounds"
    visit(page, f"/staff/rounds/{rid}", re.compile(world.round.name))
    yield "round"
    visit(page, "/staff/rounds/new", "Set up a survey round")
    yield "round-new"
    page.get_by_label("Name of the round").fill("")
    page.get_by_label("Closes").fill("2001-01-01T09:00")
    page.get_by_role("button", name="Create the round and its codes").click()
    expect(page.locator(".error-summary li")).not_to_have_count(0)
    yield "round-new-errors"
    visit(page, f"/staff/rounds/{rid}/codes", f"Codes: {world.round.name}")
    yield "codes"
    visit(page, f"/staff/rounds/{rid}/slips", f"Code slips: {world.round.name}")
    yield "slips"
    visit(page, f"/staff/rounds/{rid}/completion", f"Completion: {world.round.name}")
    yield "completion"
    first = world.pupils[0]
    visit(page, f"/staff/rounds/{rid}/pupils/{first.id}/paper", re.compile("Paper answers"))
    yield "paper-entry"

    visit(page, f"/staff/groups/{world.group.id}/heatmap", world.group.name)
    yield "heatmap"
    visit(page, f"/staff/pupils/{pupil.id}/profile", pupil.display_name)
    expect(page.locator(CHART).first).to_be_visible()
    yield "profile"
    visit(page, f"/staff/pupils/{pupil.id}/profile/print", re.compile("learning profile"))
    expect(page.locator(CHART).first).to_be_visible()
    yield "profile-print"
    visit(page, "/staff/password", "Change your password")
    yield "change-password"
    visit(page, "/staff/groups/999999", "Page not found", status=404)
    yield "not-found"

    page.goto("/staff/")
    sign_out_staff(page)
    sign_in_staff(page, world.teacher.email)
    yield "home-teacher"
    visit(page, "/staff/schools/", "Not allowed", status=403)
    yield "forbidden"

    page.goto("/staff/")
    sign_out_staff(page)
    sign_in_staff(page, world.admin.email)
    visit(page, "/staff/admin/staff", "Staff accounts")
    yield "staff-list"
    visit(page, "/staff/admin/staff/new", "Create a staff account")
    yield "staff-new"
    visit(page, f"/staff/admin/staff/{world.teacher.id}", world.teacher.name)
    yield "staff-show"
