"""Open redirects: every redirect the app makes from a visitor's value stays on this site.

The only redirect target taken from a request is the staff sign-in's `next` (in the
query string and in the form's hidden field; `grep -rn "redirect(" survey_app` shows every
other redirect is built with url_for). Each URL below is one a browser would follow off
the site if it were used as given. The fuzzing suite (test_security_fuzz.py) checks every
redirect it meets in the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from survey_app.accounts.access import safe_next
from survey_app.extensions import limiter
from tests.conftest import ROOT, TEST_PASSWORD, csrf_from, login_as
from tests.security_support import backend_of, off_site, record_figures

EXTERNAL = [
    "https://evil.example", "http://evil.example/staff/", "//evil.example", "//evil.example/staff/",
    "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "/\\/evil.example", "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "https:evil.example", "http:/evil.example", "https:/\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "\t//evil.example", " //evil.example", "https://localhost@evil.example",
    "https://evil.example%2F@localhost", "ftp://evil.example", "//evil.example@localhost",
    "//%65vil.example", "\x00//evil.example", "//evil.example/" + "a" * 600,
]
SAME_SITE = ["/staff/groups/", "/staff/rounds/?x=1", "/staff/%2F%2Fevil.example", "/%09/evil.example"]


def _sign_in(client, next_value: str, how: str):
    limiter.reset()  # many sign-ins in a row: keep under the sign-in rate limit
    if how == "query":
        page = client.get("/staff/sign-in", query_string={"next": next_value})
        token = csrf_from(page.text)
        hidden = re.search(r'name="next" type="hidden" value="([^"]*)"', page.text)
        data = {"next": hidden.group(1) if hidden else ""}
    else:
        token = csrf_from(client.get("/staff/sign-in").text)
        data = {"next": next_value}
    return client.post("/staff/sign-in", data={**data, "csrf_token": token, "email": "lead@example.org",
                                               "password": TEST_PASSWORD})


def test_sign_in_next_never_leaves_the_site(app, staff_world):
    tried, refused, problems = 0, 0, []
    for target in EXTERNAL:
        for how in ("query", "form"):
            client = app.test_client()
            resp = _sign_in(client, target, how)
            tried += 1
            if resp.status_code == 400 and "\x00" in target:
                refused += 1  # a NUL character is refused before anything else (security.py)
            elif resp.status_code != 302:
                problems.append(f"next={target!r} ({how}): {resp.status_code}")
            elif off_site(resp.location):
                problems.append(f"next={target!r} ({how}) -> {resp.location!r}")
            else:
                refused += resp.location == "/staff/"
    for target in SAME_SITE:
        resp = _sign_in(app.test_client(), target, "query")
        assert resp.status_code == 302 and resp.location == target, (target, resp.location)
    backend = backend_of(app)
    record_figures(
        f"open_redirects[{backend}]",
        f"open redirects ({backend}): {len(EXTERNAL)} off-site targets x 2 ways (query, form field) = {tried} "
        f"sign-ins, {refused} kept on the site (the staff home, or 400 for a NUL), {len(problems)} left the site",
        tried=tried, refused=refused, left_site=len(problems),
    )
    assert not problems, "\n".join(problems)
    assert refused == tried


def test_the_sign_in_page_never_echoes_an_off_site_next(client, staff_world):
    for target in EXTERNAL:
        page = client.get("/staff/sign-in", query_string={"next": target})
        hidden = re.search(r'name="next" type="hidden" value="([^"]*)"', page.text)
        assert hidden is None or not off_site(hidden.group(1)), (target, hidden.group(1))


def test_signed_in_staff_are_not_sent_anywhere_by_next(client, staff_world):
    login_as(client, staff_world.lead)
    for target in EXTERNAL[:8]:
        resp = client.get("/staff/sign-in", query_string={"next": target})
        assert resp.status_code == 302 and not off_site(resp.location), resp.location


def test_the_sign_in_redirect_for_anonymous_visitors_stays_on_the_site(client, staff_world):
    for path in ("/staff/groups/", "/staff/rounds/?next=//evil.example", "/staff//evil.example"):
        resp = client.get(path)
        if resp.status_code == 302:
            assert not off_site(resp.location), resp.location
            assert urlsplit(resp.location).path == "/staff/sign-in"


def test_safe_next_agrees_with_the_browser_reading():
    for target in EXTERNAL:
        assert safe_next(target) is None or not off_site(target), target
    for target in SAME_SITE:
        assert safe_next(target) == target


def test_no_other_redirect_takes_a_visitors_value():
    """Every redirect( in the app is url_for(...) or the checked sign-in target; a new one
    that takes a value from the request must be added to the tests above."""
    allowed = {"redirect(target)"}  # auth/routes.py: target = safe_next(...) or url_for(...)
    found = []
    for path in (ROOT / "survey_app").rglob("*.py"):
        for call in re.findall(r"redirect\(([^()\n]*(?:\([^()\n]*\))?[^()\n]*)\)", Path(path).read_text()):
            text = f"redirect({call})"
            if text in allowed or call.startswith(("url_for(", "view.url_", "first_unanswered_url(", "view_url(")):
                continue
            if "request." in call or "args" in call or "form" in call or "next" in call:
                found.append(f"{path.relative_to(ROOT)}: {text}")
    assert not found, found
