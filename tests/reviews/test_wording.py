"""Per-factor pupil and family wording in the questionnaire files, and its checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from survey_app.questionnaires import QuestionnaireError, load_questionnaire, parse_definition

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["pass9-primary", "pass9-secondary"])
def test_every_shipped_factor_has_pupil_and_family_wording(name):
    q = load_questionnaire(ROOT / "questionnaires" / f"{name}.toml")
    band_labels = {b.label.lower() for b in q.bands}
    for f in q.factors:
        assert f.strength.startswith("You ") and 1 <= len(f.invitations) <= 3
        assert all(i.endswith("?") for i in f.invitations)
        assert f.family_strength.startswith("Your child ") and f.family_focus and f.family_help
        words = " ".join((f.strength, *f.invitations, f.family_strength, f.family_focus, *f.family_help)).lower()
        assert not any(ch.isdigit() for ch in words)
        assert not any(label in words.split() for label in band_labels)
    # Kept in the stored definition, so a stored version reads back the same words.
    again = parse_definition(q.definition)
    assert again.factors == q.factors


def test_primary_and_secondary_wording_differ():
    p = load_questionnaire(ROOT / "questionnaires" / "pass9-primary.toml")
    s = load_questionnaire(ROOT / "questionnaires" / "pass9-secondary.toml")
    assert [f.strength for f in p.factors] != [f.strength for f in s.factors]


def test_bad_wording_is_reported_with_its_place():
    data = tomllib.loads((ROOT / "questionnaires" / "pass9-primary.toml").read_text())
    data["factors"][0]["strength"] = "  "
    data["factors"][1]["invitations"] = ["One?", "Two?", "Three?", "Four?"]
    data["factors"][2]["family_help"] = "not a list"
    with pytest.raises(QuestionnaireError) as caught:
        parse_definition(data, "x.toml")
    text = str(caught.value)
    assert "factors[0] (key 'feelings_about_school').strength: must be non-empty text" in text
    assert "factors[1] (key 'perceived_learning_capability').invitations: must be a list of 1 to 3" in text
    assert "factors[2] (key 'self_regard').family_help" in text


def test_a_file_without_wording_still_loads_and_keeps_its_hash():
    data = tomllib.loads((ROOT / "questionnaires" / "pass9-primary.toml").read_text())
    for f in data["factors"]:
        for key in ("strength", "invitations", "family_strength", "family_focus", "family_help"):
            f.pop(key)
    q = parse_definition(data)
    assert all(not f.strength and not f.invitations for f in q.factors)
    assert "strength" not in q.definition["factors"][0]


def test_check_questionnaire_reports_the_wording(runner):
    result = runner.invoke(args=["check-questionnaire", str(ROOT / "questionnaires" / "pass9-secondary.toml")])
    assert result.exit_code == 0
    assert "pupil and family wording for 9 of 9 factors" in result.output
