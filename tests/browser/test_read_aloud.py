"""Read aloud: the speaker buttons hand the words to the browser's speech synthesis."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pupil import sign_in, statement
from tests.conftest import World

# Runs before any page script: a speech engine that only writes down what it is given.
FAKE_SPEECH = """
(() => {
  window.__spoken = [];
  window.__cancelled = 0;
  class FakeUtterance {
    constructor(text) { this.text = text; this.lang = ""; this.rate = 1; }
  }
  const fake = {
    speak(utterance) { window.__spoken.push(utterance.text); },
    cancel() { window.__cancelled += 1; },
    speaking: false,
    pending: false,
    getVoices() { return []; },
  };
  Object.defineProperty(window, "speechSynthesis", { value: fake, configurable: true });
  window.SpeechSynthesisUtterance = FakeUtterance;
})();
"""

NO_SPEECH = """
delete window.speechSynthesis;
delete window.SpeechSynthesisUtterance;
"""


def test_read_aloud_speaks_the_statement_and_the_answer(app, new_context):
    world = World(app)  # pass9-secondary: some statements have "other words" too
    context = new_context()
    context.add_init_script(FAKE_SPEECH)
    page = context.new_page()
    sign_in(page, world.code_of(0))

    first = statement(page, 1)
    text = world.q.statements[0].text
    label = world.q.scale[1].label
    first.get_by_role("button", name="Read aloud: statement 1").click()
    first.get_by_role("button", name=f"Read aloud: {label}", exact=True).click()
    assert page.evaluate("window.__spoken") == [text, label]
    assert page.evaluate("window.__cancelled") == 2  # each press stops what was being read

    # Reading aloud is not answering.
    expect(first.get_by_role("radio", checked=True)).to_have_count(0)
    expect(page.locator("#save-status")).to_have_attribute("data-state", "idle")

    # The "other words" of a statement are read too.
    index = next(i for i, s in enumerate(world.q.statements) if s.easy)
    page.goto(f"/survey/p/{index // world.q.page_size + 1}")
    current = statement(page, index + 1)
    current.get_by_text("Say it in other words").click()
    current.get_by_role("button", name=f"Read aloud: other words for statement {index + 1}").click()
    assert page.evaluate("window.__spoken") == [world.q.statements[index].easy]


def test_read_aloud_buttons_stay_hidden_without_speech_synthesis(app, new_context):
    world = World(app)
    context = new_context()
    context.add_init_script(NO_SPEECH)
    page = context.new_page()
    sign_in(page, world.code_of(0))
    assert page.evaluate("'speechSynthesis' in window") is False
    expect(statement(page, 1)).to_be_visible()
    speak = page.locator("button.speak")
    expect(speak).not_to_have_count(0)
    shown = speak.evaluate_all("buttons => buttons.filter(b => !b.hidden || b.getClientRects().length)")
    assert shown == []
    expect(page.get_by_role("button", name="Read aloud: statement 1")).to_have_count(0)
