"""The survey in Urdu and Welsh in Chromium: `?lang=` set before sign-in, the page's
`lang`/`dir`, translated statements, axe-core clean; read-aloud picks a voice of the
page's language and says plainly when there is none.

With SCREENSHOT_DIR set, the Urdu and Welsh survey pages are saved there as PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from survey_app.db import db
from tests.browser.pupil import SURVEY_URL
from tests.browser.support import save_screenshot
from tests.browser.test_accessibility import report
from tests.conftest import World
from tests.translation_fixtures import questionnaire_dir

SIGN_IN = {"ur": ("آپ کا کوڈ", "شروع کریں", "جی ہاں، یہ میں ہوں"),
           "cy": ("Dy god", "Dechrau", "Ie, fi yw hwn")}

# A speech engine with one English and one Welsh voice that writes down what it is given.
FAKE_VOICES = """
(() => {
  window.__spoken = [];
  const voices = [{ lang: "en-GB", name: "English" }, { lang: "cy-GB", name: "Welsh" }];
  class FakeUtterance { constructor(text) { this.text = text; this.lang = ""; this.voice = null; } }
  const fake = {
    speak(u) { window.__spoken.push([u.text, u.lang, u.voice && u.voice.name]); },
    cancel() {}, getVoices() { return voices; }, addEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", { value: fake, configurable: true });
  window.SpeechSynthesisUtterance = FakeUtterance;
})();
"""


def _world(app, tmp_path) -> World:
    world = World(app, pupils=2)
    app.config["QUESTIONNAIRE_DIR"] = str(
        questionnaire_dir(tmp_path, world.q, {"ur": "draft", "cy": "reviewed"}))
    world.round.languages = ["cy", "ur"]
    world.round.allow_draft_languages = True
    db.session.commit()
    return world


def _sign_in(page, code: str, lang: str) -> None:
    label, start, yes = SIGN_IN[lang]
    page.goto(f"/?lang={lang}")
    page.get_by_label(label).fill(code)
    page.get_by_role("button", name=start).click()
    page.get_by_role("button", name=yes).click()
    page.wait_for_url(SURVEY_URL)


def test_the_survey_in_urdu_and_welsh_is_axe_clean(app, new_context, tmp_path):
    world = _world(app, tmp_path)
    axe, problems = Axe(), []
    shots = os.environ.get("SCREENSHOT_DIR")
    for index, (lang, direction) in enumerate([("ur", "rtl"), ("cy", "ltr")]):
        page = new_context().new_page()
        _sign_in(page, world.code_of(index), lang)
        html = page.locator("html")
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", direction)
        expect(page.get_by_text(f"{lang}: {world.q.statements[0].text}")).to_be_visible()
        if shots:
            save_screenshot(page, Path(shots), f"survey-{lang}", "desktop")
        found = axe.run(page).response["violations"]
        if found:
            problems.append(report(f"survey in {lang}", found))
    assert not problems, "axe found accessibility violations:\n\n" + "\n\n".join(problems)


def test_read_aloud_uses_a_voice_of_the_language_or_says_there_is_none(app, new_context, tmp_path):
    world = _world(app, tmp_path)
    context = new_context()
    context.add_init_script(FAKE_VOICES)
    page = context.new_page()
    _sign_in(page, world.code_of(0), "cy")
    first = page.locator("fieldset.statement").first
    first.get_by_role("button", name="Darllen yn uchel: datganiad 1").click()
    text = f"cy: {world.q.statements[0].text}"
    assert page.evaluate("window.__spoken") == [[text, "cy", "Welsh"]]
    page.goto("/survey/p/1?lang=ur")  # no Urdu voice in this browser: the button says so
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    button = page.locator("fieldset.statement").first.locator("button.speak").first
    expect(button).to_have_text("اس کمپیوٹر پر اس زبان کی آواز موجود نہیں")
    expect(button).to_have_attribute("data-audio-src", "")
    expect(button).to_have_attribute("aria-disabled", "true")
    button.dispatch_event("click")  # pressing it anyway reads nothing in a wrong voice
    assert page.evaluate("window.__spoken") == []
