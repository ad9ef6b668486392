"""A survey that survives a dropped network, and a shared computer: the service worker's
kept pages, sign-out then Back, and the next pupil on the same browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pupil import (
    choose,
    expected,
    label_for,
    response_of,
    sign_in,
    statement,
    stored_answers,
    wait_saved,
)
from tests.conftest import World

KEPT = """async () => {
  const names = (await caches.keys()).filter(n => n.startsWith("survey-pages-"));
  if (names.length !== 1) return [names.length, 0];
  return [names.length, (await (await caches.open(names[0])).keys()).length];
}"""
STORED = """() => Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter(k => k.startsWith("survey-"))"""


def _answer_screen(page, world, screen):
    for index in range((screen - 1) * 10, screen * 10):
        choose(page, index + 1, label_for(world, index))


def test_network_cut_after_the_third_page_and_back_before_finishing(app, new_context):
    world = World(app)  # pass9-secondary: 50 statements, ten a page
    context = new_context()
    page = context.new_page()
    sign_in(page, world.code_of(0))
    # The worker keeps the five screens and their files once the pupil is in.
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=10_000)
    page.wait_for_function(f"({KEPT})().then(r => r[0] === 1 && r[1] >= 8)", timeout=10_000)
    for screen in (1, 2, 3):
        _answer_screen(page, world, screen)
        page.get_by_role("button", name="Next").click()
    wait_saved(page)

    context.set_offline(True)
    _answer_screen(page, world, 4)
    # The page is reloaded while offline: the kept copy comes back with every answer on it.
    page.reload()
    expect(statement(page, 31)).to_be_visible()
    expect(page.get_by_text("40 of 50 answered")).to_be_visible()
    page.get_by_role("button", name="Next").click()
    _answer_screen(page, world, 5)
    page.get_by_role("button", name="Check and finish").click()
    expect(page.locator("#save-status")).to_contain_text("not sent yet")
    assert stored_answers(world) == expected(world, 30)

    context.set_offline(False)
    wait_saved(page, timeout=20_000)
    page.get_by_role("button", name="Check and finish").click()
    expect(page.get_by_text("You have answered every statement.")).to_be_visible()
    page.get_by_role("button", name="Finish the survey").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert stored_answers(world) == expected(world, 50)
    assert response_of(world).finished_at is not None
    page.wait_for_function(f"({KEPT})().then(r => r[0] === 0)")
    assert page.evaluate(STORED) == []


def test_sign_out_then_back_and_the_next_pupil(app, new_context):
    world = World(app)
    page = new_context().new_page()
    sign_in(page, world.code_of(0))
    page.wait_for_function(f"({KEPT})().then(r => r[0] === 1 && r[1] >= 8)", timeout=10_000)
    for index in range(3):
        choose(page, index + 1, label_for(world, index))
    page.get_by_role("button", name="Finish for now").click()
    expect(page.get_by_role("heading", name="Your answers are saved")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_role("group")).to_have_count(0)
    page.wait_for_function(f"({KEPT})().then(r => r[0] === 0)")
    assert page.evaluate(STORED) == []

    sign_in(page, world.code_of(1))
    expect(page.get_by_text("0 of 50 answered")).to_be_visible()
    expect(page.get_by_role("radio", checked=True)).to_have_count(0)
    choose(page, 1, label_for(world, 3))
    wait_saved(page)
    assert stored_answers(world, 1) == {world.q.statements[0].id: world.q.scale[3].value}
    assert stored_answers(world, 0) == expected(world, 3)

    # Windows high contrast: the chosen answer still stands out from the others.
    page.emulate_media(forced_colors="active")
    look = "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.borderTopWidth]; }"
    chosen = statement(page, 1).locator("input:checked + label").evaluate(look)
    other = statement(page, 1).locator("input:not(:checked) + label").first.evaluate(look)
    assert chosen != other, (chosen, other)
