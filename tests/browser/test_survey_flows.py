"""Stopping half-way and carrying on, working without JavaScript, and losing the network."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pupil import (
    choose,
    expected,
    label_for,
    radio,
    response_of,
    sign_in,
    statement,
    stored_answers,
    value_for,
    wait_saved,
)
from tests.conftest import World


def test_left_half_way_and_resumed_in_a_fresh_browser(app, new_context):
    world = World(app)  # pass9-secondary, ten statements a page
    page = new_context().new_page()
    sign_in(page, world.code_of(0))
    assert page.url.endswith("/survey/p/1")
    for index in range(10):
        choose(page, index + 1, label_for(world, index))
    page.get_by_role("button", name="Next").click()
    expect(statement(page, 11)).to_be_visible()
    for index in (10, 11):
        choose(page, index + 1, label_for(world, index))
    # Straight away, before the last save is back: "Finish for now" must wait for it.
    page.get_by_role("button", name="Finish for now").click()
    expect(page.get_by_role("heading", name="Your answers are saved")).to_be_visible()
    assert stored_answers(world) == expected(world, 12)

    # Another computer: nothing carried over but the code on the slip.
    page = new_context().new_page()
    sign_in(page, world.code_of(0))
    assert page.url.endswith("/survey/p/2")
    expect(statement(page, 13)).to_be_visible()
    expect(statement(page, 10)).to_be_hidden()
    expect(statement(page, 13).get_by_role("radio", checked=True)).to_have_count(0)
    for index in (10, 11):
        expect(radio(page, index + 1, label_for(world, index))).to_be_checked()
    expect(page.get_by_text("12 of 50 answered")).to_be_visible()

    page.get_by_role("button", name="Back").click()
    expect(statement(page, 1)).to_be_visible()
    expect(statement(page, 13)).to_be_hidden()
    for index in range(10):
        expect(radio(page, index + 1, label_for(world, index))).to_be_checked()
        expect(statement(page, index + 1).get_by_role("radio", checked=True)).to_have_count(1)
    assert stored_answers(world) == expected(world, 12)
    response = response_of(world)
    assert response is not None and response.finished_at is None


def test_without_javascript_every_step_is_a_plain_form_post(app, new_context):
    world = World(app)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, world.code_of(1))
    assert page.url.endswith("/survey/p/1")
    expect(statement(page, 1)).to_be_visible()
    expect(statement(page, 11)).to_be_hidden()
    # No script: no read-aloud buttons, and saving happens on the buttons only.
    expect(page.get_by_role("button", name="Read aloud: statement 1")).to_be_hidden()
    expect(page.get_by_text("you can press the keys 1 to 4")).to_be_hidden()  # they would do nothing
    for index in (0, 1, 2):
        choose(page, index + 1, label_for(world, index))
    assert stored_answers(world, 1) == {}

    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/survey/p/2")
    expect(statement(page, 11)).to_be_visible()
    expect(statement(page, 1)).to_be_hidden()
    assert stored_answers(world, 1) == expected(world, 3)
    expect(page.get_by_text("3 of 50 answered")).to_be_visible()

    for index in (10, 11):
        choose(page, index + 1, label_for(world, index))
    page.get_by_role("button", name="Back").click()
    page.wait_for_url("**/survey/p/1")
    for index in (0, 1, 2):
        expect(radio(page, index + 1, label_for(world, index))).to_be_checked()
    # Change the answer to statement 2: the newer post wins.
    choose(page, 2, label_for(world, 3))
    page.get_by_role("button", name="Check and finish").click()
    page.wait_for_url("**/survey/check")
    want = expected(world, 3) | expected(world, 2, start=10)
    want[world.q.statements[1].id] = value_for(world, 3)
    assert stored_answers(world, 1) == want
    expect(page.get_by_text("You have answered 5 of 50 statements.")).to_be_visible()
    expect(page.get_by_role("link", name="Statement 4:")).to_be_visible()

    page.get_by_role("button", name="Finish the survey").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    response = response_of(world, 1)
    assert response is not None and response.finished_at is not None
    assert stored_answers(world, 1) == want


def test_answers_given_while_offline_are_sent_when_the_network_returns(app, new_context):
    world = World(app)
    context = new_context()
    page = context.new_page()
    sign_in(page, world.code_of(2))
    for index in range(3):
        choose(page, index + 1, label_for(world, index))
    wait_saved(page)
    assert stored_answers(world, 2) == expected(world, 3)

    context.set_offline(True)
    for index in range(3, 8):
        choose(page, index + 1, label_for(world, index))
    # A saved answer changed while offline must not be lost either.
    choose(page, 2, label_for(world, 0))
    status = page.locator("#save-status")
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_contain_text("waiting for the connection")
    expect(status).to_contain_text("6 answers are kept")
    expect(page.get_by_text("8 of 50 answered")).to_be_visible()
    assert stored_answers(world, 2) == expected(world, 3)  # nothing new reached the server

    # Leaving for the check page must not drop the waiting answers either.
    page.get_by_role("button", name="Check and finish").click()
    expect(status).to_contain_text("not sent yet")
    assert page.url.endswith("/survey/p/1")

    context.set_offline(False)
    wait_saved(page, timeout=20_000)
    want = expected(world, 8)
    want[world.q.statements[1].id] = value_for(world, 0)
    assert stored_answers(world, 2) == want
    response = response_of(world, 2)
    assert response is not None and response.finished_at is None
