"""What a pupil does in the browser, and what the database then holds, for the tests."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from survey_app.db import db
from survey_app.models import Answer, FactorScore, Response

SURVEY_URL = re.compile(r"/survey/[ps]/\d+$")


def sign_in(page: Page, code: str) -> None:
    """Type `code` on the start page, confirm the name, and wait for the first survey screen."""
    page.goto("/")
    page.get_by_label("Your code").fill(code)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="Is this you?")).to_be_visible()
    page.get_by_role("button", name="Yes, this is me").click()
    page.wait_for_url(SURVEY_URL)


def statement(page: Page, number: int) -> Locator:
    """The fieldset (role group) of statement `number` (1-based)."""
    return page.get_by_role("group", name=re.compile(rf"^Statement {number} of \d+\b"))


def radio(page: Page, number: int, label: str) -> Locator:
    return statement(page, number).get_by_role("radio", name=label, exact=True)


def choose(page: Page, number: int, label: str) -> None:
    radio(page, number, label).check()


def label_for(world, index: int) -> str:
    """A varied answer for statement `index` (0-based): cycles through the scale."""
    return world.q.scale[index % len(world.q.scale)].label


def value_for(world, index: int) -> int:
    return world.q.scale[index % len(world.q.scale)].value


def expected(world, count: int, start: int = 0) -> dict[str, int]:
    """{statement id: value} for statements [start, start+count) answered with `value_for`."""
    return {world.q.statements[i].id: value_for(world, i) for i in range(start, start + count)}


def wait_saved(page: Page, timeout: float = 10_000) -> None:
    """Wait until the autosave says every answer so far has reached the server."""
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved", timeout=timeout)


# ----- the database, seen from the test's app context -------------------------------


def response_of(world, pupil_index: int = 0) -> Response | None:
    db.session.rollback()  # end the test's transaction: see what the server committed
    return db.session.scalar(
        sa.select(Response).where(
            Response.round_id == world.round.id,
            Response.pupil_id == world.pupils[pupil_index].id,
        )
    )


def stored_answers(world, pupil_index: int = 0) -> dict[str, int]:
    response = response_of(world, pupil_index)
    if response is None:
        return {}
    rows = db.session.execute(
        sa.select(Answer.item, Answer.value).where(Answer.response_id == response.id)
    )
    return {item: value for item, value in rows}


def stored_scores(world, pupil_index: int = 0) -> list[FactorScore]:
    response = response_of(world, pupil_index)
    assert response is not None
    return list(
        db.session.scalars(sa.select(FactorScore).where(FactorScore.response_id == response.id))
    )
