"""axe-core on every pupil page in Welsh, Urdu and Arabic, at desktop and tablet widths,
with the translations we ship (questionnaires/translations/) and the real catalogs.

A pupil starts at `/?lang=CODE` and walks the survey as in test_accessibility.py's tour:
start, a wrong code, "Is this you?", "not me", the survey page with two answers saved, its
"offline" line, one statement at a time, the check page, signed out after "Finish for now",
signed in again and finished (thanks), "My results" once the round shares them, and the
"not found" page of an address no page has. Every element is found by id, name or form
action, and every word looked for comes from the catalog or the translation file at run
time, so nothing here depends on English labels.

With SCREENSHOT_DIR set, each page is saved there as CODE-NAME-VIEWPORT.png.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from babel.support import Translations
from playwright.sync_api import Page, expect

from survey_app.db import db
from tests.browser.pupil import SURVEY_URL, wait_saved
from tests.browser.support import VIEWPORTS, save_screenshot
from tests.browser.test_accessibility import SCOPES, report, violations
from tests.conftest import World
from tests.reviews.support import finish_with_levels, share_results

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "survey_app" / "translations"
TRANSLATIONS = ROOT / "questionnaires" / "translations"
LANGUAGES = {"cy": "ltr", "ur": "rtl", "ar": "rtl"}
OFFLINE = ("Not sent yet: waiting for the connection. {n} answer is kept on this computer and will "
           "be sent when it comes back.")
LEVELS = {"perceived_learning_capability": 4, "preparedness_for_learning": 1}
PAGES = [
    "start", "start-bad-code", "confirm", "start-not-me", "survey-page", "survey-offline",
    "survey-single", "check", "signed-out", "thanks", "my-results", "not-found",
]


class Words:
    """The page words of one language, from its compiled catalog; each must be translated."""

    def __init__(self, code: str):
        self.catalog = Translations.load(str(CATALOGS), [code])

    def __call__(self, english: str) -> str:
        text = self.catalog.gettext(english)
        assert text != english, f"{english!r} has no translation in the catalog"
        return text


def _sign_in(page: Page, code: str, lang: str) -> None:
    """Start page in `lang`, the code, "yes, this is me" (by the button's name), the survey."""
    page.goto(f"/?lang={lang}")
    page.locator("#code").fill(code)
    page.locator("form.code-form [type=submit]").click()
    page.locator("#confirm-title").wait_for()
    page.locator("[type=submit][name=yes]").click()
    page.wait_for_url(SURVEY_URL)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_pupil_page_in_the_language_has_no_axe_violations(app, new_context, lang):
    world = World(app, pupils=2)
    world.round.languages = list(LANGUAGES)
    world.round.allow_draft_languages = True
    db.session.commit()
    assert app.config["QUESTIONNAIRE_DIR"] == str(ROOT / "questionnaires")
    texts = tomllib.loads((TRANSLATIONS / f"{world.q.key}.{lang}.toml").read_text("utf-8"))
    first, second = (texts["statements"][s.id] for s in world.q.statements[:2])
    words, code, direction = Words(lang), world.code_of(0), LANGUAGES[lang]
    shots = os.environ.get("SCREENSHOT_DIR")
    axe, seen, problems = Axe(), [], []
    context = new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    html = page.locator("html")

    def check(name: str, heading: str | None = None) -> None:
        """The page is in `lang` (its `lang`, `dir` and first heading), then axe at each width."""
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", direction)
        if heading is not None:
            expect(page.locator("main h1").first).to_have_text(words(heading))
        seen.append(name)
        for number, (viewport, size) in enumerate(VIEWPORTS.items()):
            page.set_viewport_size(size)
            if shots:
                save_screenshot(page, Path(shots), f"{lang}-{name}", viewport)
            found = violations(page, axe, SCOPES.get(name), first=number == 0)
            if found:
                problems.append(report(f"{lang} {name} at {viewport} ({page.url})", found))
        page.set_viewport_size(VIEWPORTS["desktop"])

    page.goto(f"/?lang={lang}")
    check("start", "Welcome")

    page.locator("#code").fill("ZZZZ-ZZZZ")
    page.locator("form.code-form [type=submit]").click()
    expect(page.locator("#code-error")).to_be_visible()
    expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    check("start-bad-code", "Welcome")

    page.locator("#code").fill(code)
    page.locator("form.code-form [type=submit]").click()
    check("confirm", "Is this you?")

    page.locator("[type=submit][name=no]").click()
    expect(page.locator(".flash[role=status]")).to_have_text(
        words("That's fine. Check the code on your slip, or ask your teacher for help."))
    check("start-not-me", "Welcome")

    _sign_in(page, code, lang)
    expect(page.locator(".statement-text", has_text=first)).to_be_visible()
    expect(page.locator(".statement-text", has_text=second)).to_be_visible()
    values = [option.value for option in world.q.scale]
    page.locator(f"#q1-{values[0]}").check()
    page.locator(f"#q2-{values[1]}").check()
    wait_saved(page)
    check("survey-page")

    context.set_offline(True)
    page.locator(f"#q3-{values[2]}").check()
    expect(page.locator("#save-status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#save-status")).to_have_text(words(OFFLINE).replace("{n}", "1"))
    check("survey-offline")
    context.set_offline(False)
    wait_saved(page, timeout=20_000)

    page.locator("#mode-form [type=submit]").click()
    page.wait_for_url("**/survey/s/1")
    page.locator("#nav-next").click()
    expect(page.locator(".statement-text", has_text=second)).to_be_visible()
    expect(page.locator(".statement-text", has_text=first)).to_be_hidden()
    check("survey-single")

    page.locator("#nav-check").click()
    expect(page.locator(".missing-list li").first).to_be_visible()
    check("check", "Check before you finish")

    page.locator("header form[action$='/signout'] [type=submit]").click()
    check("signed-out", "Your answers are saved")

    _sign_in(page, code, lang)
    page.goto("/survey/check")
    page.locator("#finish-form [type=submit]").click()
    expect(page.locator("main")).to_contain_text(texts["closing"].strip().split("\n\n")[0])
    check("thanks", "Thank you!")

    # Results shared, and a classmate who finished with a strength and a factor to think
    # about, so the page shows its lists (in the translation's words) as well as the form.
    share_results(world.round)
    finish_with_levels(world, world.round, world.pupils[1], LEVELS)
    page.goto(f"/?lang={lang}")
    page.locator("#code").fill(world.code_of(1))
    page.locator("form.code-form [type=submit]").click()
    page.wait_for_url("**/results")
    expect(page.locator("#good")).to_have_text(words("What you feel good about"))
    expect(page.locator("#think")).to_have_text(words("Questions to think about"))
    strength = texts["factors"]["perceived_learning_capability"]["strength"]
    expect(page.locator(".results-list li", has_text=strength)).to_be_visible()
    check("my-results", "Thank you! Here is what you told us")

    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    check("not-found", "Page not found")

    assert seen == PAGES
    assert not problems, "axe found accessibility violations:\n\n" + "\n\n".join(problems)
