"""The pupil pages' catalogs: every word of the template translated in each shipped
language, and the committed .mo files compiled from the .po files as they are now (so a
fresh clone serves what the translators wrote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey_app.pupil.language import CATALOGS

LANGUAGES = sorted(p.name for p in CATALOGS.iterdir() if (p / "LC_MESSAGES").is_dir())


def _messages(catalog) -> dict:
    return {m.id if isinstance(m.id, str) else tuple(m.id):
            m.string if isinstance(m.string, str) else tuple(m.string) for m in catalog if m.id}


def test_the_catalogs_shipped():
    # The ten languages the questionnaires are translated into (issue 19), every one drafted.
    assert {"ar", "bn", "cy", "es", "pa", "pl", "pt", "ro", "so", "ur"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_is_complete_and_compiled(language):
    folder = CATALOGS / language / "LC_MESSAGES"
    with open(CATALOGS / "messages.pot", "rb") as f:
        wanted = set(_messages(read_po(f)))
    with open(folder / "messages.po", "rb") as f:
        po = read_po(f)
    translated = _messages(po)
    assert "STATUS:" in (po.header_comment or "")  # draft or reviewed, said at the top
    assert wanted <= set(translated), f"not translated: {sorted(map(str, wanted - set(translated)))}"
    assert all(all(translated[key]) if isinstance(key, tuple) else translated[key] for key in wanted)
    with open(Path(folder / "messages.mo"), "rb") as f:
        compiled = _messages(read_mo(f))
    assert compiled == {k: v for k, v in translated.items() if v}, \
        "messages.mo is older than messages.po: run pybabel compile -d survey_app/translations"
