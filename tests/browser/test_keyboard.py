"""A whole survey with the keyboard only: no mouse click anywhere."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.pupil import (
    SURVEY_URL,
    expected,
    radio,
    response_of,
    statement,
    stored_answers,
    stored_scores,
    value_for,
)
from tests.conftest import World

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return null; }
  const fs = el.closest("fieldset.statement");
  return {
    tag: el.tagName.toLowerCase(),
    type: el.getAttribute("type") || "",
    text: (el.tagName === "INPUT" ? el.value : el.textContent).trim().replace(/\\s+/g, " "),
    statement: fs ? Number(fs.dataset.index) + 1 : null,
  };
}"""


def focused(page: Page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page: Page, want, limit: int = 30) -> dict:
    """Press Tab until the focused element satisfies `want(info)`; fail after `limit` presses."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        if info and want(info):
            return info
        seen.append(info and f"{info['tag']}:{info['text'][:30]}")
    raise AssertionError(f"never reached by Tab; focus went through: {seen}")


def button(text: str):
    return lambda info: info["text"] == text and (
        info["tag"] == "button" or info["type"] in ("submit", "button")
    )


def test_whole_survey_by_keyboard_only(app, new_context):
    world = World(app, questionnaire="pass9-primary", mode="single")
    total = len(world.q.statements)
    scale = len(world.q.scale)
    page = new_context().new_page()

    page.goto("/")
    code_box = page.get_by_label("Your code")
    expect(code_box).to_be_focused()  # autofocus: the pupil can type straight away
    # Big, clear letters (the staff area's form styles must not shrink the pupil's code box).
    expect(code_box).to_have_css("font-size", "32px")
    page.keyboard.type(world.code_of(0).lower())  # small letters are fine
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Is this you?")).to_be_visible()
    tab_to(page, button("Yes, this is me"))
    page.keyboard.press("Enter")
    page.wait_for_url(SURVEY_URL)
    assert page.url.endswith("/survey/s/1")
    screens = page.url.removesuffix("1")  # ".../survey/s/"
    expect(page.get_by_text("you can press the keys 1 to 4")).to_be_visible()

    for index in range(total):
        number = index + 1
        current = statement(page, number)
        expect(current).to_be_visible()
        option = index % scale  # 0-based position of the answer we want
        if index % 3 == 2:
            # Ordinary radio-group keys: Tab into the group, Space, then arrows.
            tab_to(page, lambda info, n=number: info["type"] == "radio" and info["statement"] == n)
            page.keyboard.press("Space")
            for _ in range(option):
                page.keyboard.press("ArrowDown")
        else:
            page.keyboard.press(str(option + 1))  # the 1-4 shortcut keys
        label = world.q.scale[option].label
        expect(radio(page, number, label)).to_be_checked()
        if number < total:
            if index % 3 == 2:
                page.keyboard.press("Enter")  # Enter on the chosen answer moves on, as Next does
            else:
                tab_to(page, button("Next"))
                page.keyboard.press("Enter")
            # The next statement's words take the focus, so a screen reader reads them.
            expect(statement(page, number + 1).locator("legend")).to_be_focused()
            expect(page).to_have_url(f"{screens}{number + 1}")
        else:
            expect(page.get_by_role("button", name="Next")).to_be_hidden()

    tab_to(page, button("Check and finish"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check before you finish")).to_be_visible()
    expect(page.get_by_text("You have answered every statement")).to_be_visible()
    tab_to(page, button("Finish the survey"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    response = response_of(world)
    assert response is not None and response.finished_at is not None
    assert response.mode == "single"
    answers = stored_answers(world)
    assert answers == expected(world, total)
    assert answers[world.q.statements[2].id] == value_for(world, 2)
    scores = stored_scores(world)
    assert {s.factor for s in scores} == {f.key for f in world.q.factors}
    assert all(s.items_answered == s.items_total for s in scores)
    assert all(s.score is not None for s in scores)
