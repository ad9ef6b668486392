"""A survey that survives a dropped network, and a shared computer: the service worker's
kept pages, sign-out then Back, and the next pupil on the same browser."""

from __future__ import annotations

import time

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
from tests.fault_proxy import TcpProxy

KEPT = """async () => {
  const names = (await caches.keys()).filter(n => n.startsWith("survey-pages-"));
  if (names.length !== 1) return [names.length, 0];
  return [names.length, (await (await caches.open(names[0])).keys()).length];
}"""
STORED = """() => Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter(k => k.startsWith("survey-"))"""


def _until(page, script: str, ok, timeout: float = 10.0):
    """Evaluate `script` (a function, awaited) until `ok(result)`; return the result. (Not
    wait_for_function: its polling evaluates a string, which the pages' CSP forbids.)"""
    deadline = time.monotonic() + timeout
    while True:
        result = page.evaluate(script)
        if ok(result):
            return result
        assert time.monotonic() < deadline, f"still {result!r} after {timeout} s"
        page.wait_for_timeout(100)


def _answer_screen(page, world, screen):
    for index in range((screen - 1) * 10, screen * 10):
        choose(page, index + 1, label_for(world, index))


def _cut(context, link, offline: bool) -> None:
    # Playwright's offline mode does not reach service workers, so the link to the server
    # is cut too (a TCP proxy, as a school's dropped connection would): the page and the
    # worker both lose the network.
    context.set_offline(offline)
    link.cut() if offline else link.restore()


def test_network_cut_after_the_third_page_and_back_before_finishing(app, new_context, live_server):
    world = World(app)  # pass9-secondary: 50 statements, ten a page
    link = TcpProxy("127.0.0.1", int(live_server.rsplit(":", 1)[1])).start()
    context = new_context(base_url=f"http://127.0.0.1:{link.port}")
    page = context.new_page()
    sign_in(page, world.code_of(0))
    # The worker keeps the survey page and its files once the pupil is in.
    _until(page, "() => navigator.serviceWorker.controller !== null", bool)
    _until(page, KEPT, lambda r: r[0] == 1 and r[1] >= 6)
    for screen in (1, 2, 3):
        _answer_screen(page, world, screen)
        page.get_by_role("button", name="Next").click()
    wait_saved(page)

    _cut(context, link, True)
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

    _cut(context, link, False)
    wait_saved(page, timeout=20_000)
    page.get_by_role("button", name="Check and finish").click()
    expect(page.get_by_text("You have answered every statement.")).to_be_visible()
    page.get_by_role("button", name="Finish the survey").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert stored_answers(world) == expected(world, 50)
    assert response_of(world).finished_at is not None
    _until(page, KEPT, lambda r: r[0] == 0)
    assert page.evaluate(STORED) == []
    link.stop()


def test_sign_out_then_back_and_the_next_pupil(app, new_context):
    world = World(app)
    page = new_context().new_page()
    sign_in(page, world.code_of(0))
    _until(page, KEPT, lambda r: r[0] == 1 and r[1] >= 6)
    for index in range(3):
        choose(page, index + 1, label_for(world, index))
    page.get_by_role("button", name="Finish for now").click()
    expect(page.get_by_role("heading", name="Your answers are saved")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_role("group")).to_have_count(0)
    _until(page, KEPT, lambda r: r[0] == 0)
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


PLAYS = """() => {
  window.__played = [];
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () { window.__played.push(this.src); return play.call(this); };
  // No voice for any language, as on many school computers: the recording must be used.
  if (window.speechSynthesis) {
    speechSynthesis.getVoices = () => [];
    speechSynthesis.speak = () => { window.__spoke = true; };
  }
}"""


def test_watch_in_bsl_by_keyboard_and_a_recording_when_there_is_no_voice(app, new_context, tmp_path):
    from survey_app.db import db
    from survey_app.instruments.media_check import CheckedFile
    from survey_app.instruments.operations import store_media
    from survey_app.models import StaffUser
    from survey_app.models.base import utcnow
    from tests.instruments.media_support import VIDEO, WAV

    world = World(app)
    app.config["MEDIA_DIR"] = str(tmp_path)
    staff = StaffUser(email="m@example.org", name="M", role="admin", password_hash="x")
    db.session.add(staff)
    db.session.commit()
    video, = store_media(db.session, staff, instrument="pass9-secondary", kind="sign", language="bsl",
                         files=[CheckedFile("s01", "bsl", "webm", "video/webm", VIDEO, "s01.webm")],
                         media_dir=tmp_path, now=utcnow())
    audio, = store_media(db.session, staff, instrument="pass9-secondary", kind="audio", language="en",
                         files=[CheckedFile("s01", "en", "wav", "audio/x-wav", WAV, "s01.en.wav")],
                         media_dir=tmp_path, now=utcnow())
    context = new_context()
    context.add_init_script(f"({PLAYS})()")
    page = context.new_page()
    sign_in(page, world.code_of(0))
    first = statement(page, 1)
    watch = first.locator("summary", has_text="Watch in BSL")
    expect(watch).to_be_visible()
    expect(statement(page, 2).locator("summary")).to_have_count(0)
    player = first.locator("video")
    expect(player).to_be_hidden()
    watch.focus()
    page.keyboard.press("Enter")
    expect(player).to_be_visible()
    assert player.evaluate("v => v.paused && !v.autoplay && v.controls")
    expect(first.locator("figcaption")).to_have_text(world.q.statements[0].text)
    first.get_by_role("button", name="Watch again").focus()
    page.keyboard.press("Enter")
    _until(page, "() => window.__played.length", lambda n: n == 1)
    assert page.evaluate("window.__played")[0].endswith(f"/media/{video.id}")

    read = first.get_by_role("button", name="Read aloud: statement 1")
    assert read.get_attribute("data-audio-src") == f"/media/{audio.id}"
    read.click()
    _until(page, "() => window.__played.length", lambda n: n == 2)
    assert page.evaluate("window.__played")[1].endswith(f"/media/{audio.id}")
    assert page.evaluate("window.__spoke === undefined")
