"""The survey in Urdu by keyboard only, and the survey page's reflow, zoom and forced colours
in Urdu (right to left) and English.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from survey_app.db import db
from tests.browser.pupil import SURVEY_URL, expected, response_of, sign_in, stored_answers
from tests.browser.test_keyboard import button, tab_to
from tests.browser.test_languages import SIGN_IN, _sign_in
from tests.conftest import World
from tests.translation_fixtures import questionnaire_dir

# Urdu of "Next", "Check and finish", "Finish the survey", "Thank you!" and the check page's
# "You have answered every statement. Well done!" (survey_app/translations/ur).
NEXT, CHECK, FINISH = "اگلا", "دیکھیں اور ختم کریں", "سروے ختم کریں"
THANKS, ALL_ANSWERED = "بہت شکریہ!", "آپ نے ہر بیان کا جواب دے دیا ہے۔ شاباش!"

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"

# The computed look of the label of an answer (0-based `option`) of the first statement.
LOOK = """([option]) => {
  const label = document.querySelectorAll("fieldset.statement")[0]
    .querySelectorAll(".option label")[option];
  const s = getComputedStyle(label);
  return [s.borderColor, s.borderWidth, s.outlineStyle, s.outlineWidth, s.outlineColor,
          s.backgroundColor, s.color].join(" | ");
}"""


def _world(app, tmp_path, **options) -> World:
    """A round offering Urdu (a draft translation, allowed), as test_languages.py sets it up."""
    world = World(app, **options)
    app.config["QUESTIONNAIRE_DIR"] = str(questionnaire_dir(tmp_path, world.q, {"ur": "draft"}))
    world.round.languages = ["ur"]
    world.round.allow_draft_languages = True
    db.session.commit()
    return world


def _radio(page: Page, number: int, value: int):
    return page.locator(f"#q{number}-{value}")


def test_whole_survey_in_urdu_by_keyboard_only(app, new_context, tmp_path):
    world = _world(app, tmp_path, questionnaire="pass9-primary", mode="single", pupils=1)
    total, scale = len(world.q.statements), len(world.q.scale)
    page = new_context().new_page()

    page.goto("/?lang=ur")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ur")
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.get_by_label(SIGN_IN["ur"][0])).to_be_focused()
    page.keyboard.type(world.code_of(0))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="کیا یہ آپ ہیں؟")).to_be_visible()
    tab_to(page, button(SIGN_IN["ur"][2]))
    page.keyboard.press("Enter")
    page.wait_for_url(SURVEY_URL)
    assert page.url.endswith("/survey/s/1")
    expect(html).to_have_attribute("dir", "rtl")

    for index in range(total):
        number = index + 1
        expect(page.locator(f"fieldset.statement[data-index='{index}']")).to_be_visible()
        option = index % scale
        if index % 3 == 2:
            # Ordinary radio-group keys: Tab into the group, Space, then arrows.
            tab_to(page, lambda info, n=number: info["type"] == "radio" and info["statement"] == n)
            page.keyboard.press("Space")
            for _ in range(option):
                page.keyboard.press("ArrowDown")
        else:
            page.keyboard.press(str(option + 1))  # the 1-4 shortcut keys
        expect(_radio(page, number, world.q.scale[option].value)).to_be_checked()
        if number < total:
            if index % 3 == 2:
                # Enter on the focused answer moves on: the form's default button is Next,
                # not one of the header's language buttons (which belong to the form too).
                page.keyboard.press("Enter")
            else:
                tab_to(page, button(NEXT))
                page.keyboard.press("Enter")
            expect(page).to_have_url(f"{page.url.rsplit('/', 1)[0]}/{number + 1}")

    tab_to(page, button(CHECK))
    page.keyboard.press("Enter")
    expect(page.get_by_text(ALL_ANSWERED)).to_be_visible()
    tab_to(page, button(FINISH))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=THANKS)).to_be_visible()
    expect(html).to_have_attribute("lang", "ur")
    expect(html).to_have_attribute("dir", "rtl")

    response = response_of(world)
    assert response is not None and response.finished_at is not None
    assert response.language == "ur"
    assert stored_answers(world) == expected(world, total)


def _assert_reflows(page: Page) -> None:
    page.wait_for_function(NO_SIDEWAYS_SCROLL)
    first = page.locator("fieldset.statement").first
    width = page.evaluate("window.innerWidth")
    for label in first.locator(".option label").all():
        expect(label).to_be_visible()
        box = label.bounding_box()  # wholly inside the window's width, none cut off sideways
        assert box is not None and box["x"] >= -1 and box["x"] + box["width"] <= width + 1, box


def test_reflow_zoom_and_forced_colours_in_urdu_and_english(app, new_context, tmp_path):
    world = _world(app, tmp_path, pupils=2)
    for index, (lang, direction) in enumerate([("ur", "rtl"), ("en", "ltr")]):
        narrow = new_context(viewport={"width": 320, "height": 640})
        page = narrow.new_page()
        if lang == "en":
            sign_in(page, world.code_of(index))
        else:
            _sign_in(page, world.code_of(index), lang)
        expect(page.locator("html")).to_have_attribute("dir", direction)
        _assert_reflows(page)

        # 1280 CSS px at 200% zoom lays out as 640 CSS px at device scale factor 2 (the
        # equivalence WCAG 1.4.10 Reflow uses): the same signed-in session in such a window.
        zoomed = new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2,
                             storage_state=narrow.storage_state())
        page = zoomed.new_page()
        page.goto("/survey/p/1")
        expect(page.locator("html")).to_have_attribute("dir", direction)
        _assert_reflows(page)

        # Forced colours (Windows High Contrast): a chosen answer still looks chosen.
        page.emulate_media(forced_colors="active")
        assert page.evaluate("matchMedia('(forced-colors: active)').matches")
        page.keyboard.press("2")  # by key, so no mouse hover styles the label
        expect(page.locator("#q1-" + str(world.q.scale[1].value))).to_be_checked()
        page.evaluate("document.activeElement.blur()")  # compare "chosen", not the focus ring
        chosen, other = page.evaluate(LOOK, [1]), page.evaluate(LOOK, [0])
        assert chosen != other, f"in forced colours the chosen answer looks like the rest: {chosen}"
