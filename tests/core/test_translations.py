"""Translation files: the format, each error `check-questionnaire` reports, and the
questionnaire with translated texts."""

from __future__ import annotations

import tomllib

import pytest

from survey_app.questionnaires import QuestionnaireError, load_directory, load_questionnaire
from survey_app.questionnaires.translations import (
    load_translation,
    localised,
    parse_translation,
    translations_of,
)
from tests.translation_fixtures import ROOT, questionnaire_dir, translation_toml

PRIMARY = load_questionnaire(ROOT / "questionnaires" / "pass9-primary.toml")
SECONDARY = load_questionnaire(ROOT / "questionnaires" / "pass9-secondary.toml")


def _errors(q, text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_translation(tomllib.loads(text), q, "t.toml")
    return caught.value.errors


def test_a_complete_translation_loads_and_localises():
    tr = parse_translation(tomllib.loads(translation_toml(SECONDARY, "ur")), SECONDARY)
    assert (tr.language, tr.direction, tr.is_draft) == ("ur", "rtl", True)
    q = localised(SECONDARY, tr)
    assert q.language == "ur" and q.direction == "rtl"
    assert q.content_hash == SECONDARY.content_hash  # answers still belong to this version
    assert [s.id for s in q.statements] == [s.id for s in SECONDARY.statements]
    assert q.statements[0].text == "ur: " + SECONDARY.statements[0].text
    assert all(s.easy.startswith("ur: ") for s in q.statements if s.easy)
    assert [o.label for o in q.scale] == ["ur: " + o.label for o in SECONDARY.scale]


def test_a_missing_statement_is_an_error():
    first = PRIMARY.statements[0].id
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", statements={first: None}))
    assert errors == [f"statements.{first}: missing"]


def test_unknown_statements_answer_values_and_settings_are_errors():
    text = translation_toml(PRIMARY, "cy", statements={"zz99": "x"}, scale={"9": "x"})
    errors = _errors(PRIMARY, text + "\n")
    assert "statements.zz99: the questionnaire has no such statement" in errors
    assert "scale.9: the questionnaire has no such answer value" in errors
    assert any("unknown setting" in e for e in _errors(PRIMARY, 'colour = "red"\n' + text))


def test_the_factor_texts_and_voice_question_are_localised():
    tr = parse_translation(tomllib.loads(translation_toml(PRIMARY, "cy")), PRIMARY)
    q = localised(PRIMARY, tr)
    assert q.voice_question == "cy: " + PRIMARY.voice_question
    for english, welsh in zip(PRIMARY.factors, q.factors, strict=True):
        assert (welsh.key, welsh.name, welsh.cutoffs) == (english.key, english.name, english.cutoffs)
        assert welsh.strength == "cy: " + english.strength
        assert welsh.invitations == tuple("cy: " + t for t in english.invitations)
        assert welsh.family_strength == "cy: " + english.family_strength
        assert welsh.family_focus == "cy: " + english.family_focus
        assert welsh.family_help == tuple("cy: " + t for t in english.family_help)


def test_a_missing_factor_table_or_text_is_an_error():
    first, second = PRIMARY.factors[0].key, PRIMARY.factors[1].key
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", factors={
        first: None, second: {"family_focus": None, "strength": " "}}))
    assert errors == [f"[factors.{first}]: missing", f"factors.{second}.strength: must be non-empty text",
                      f"factors.{second}.family_focus: missing"]
    text = translation_toml(PRIMARY, "cy").split("[factors.", 1)[0]
    assert _errors(PRIMARY, text) == [
        "[factors]: missing (give one [factors.<key>] table per factor, with its pupil and family texts)"]


def test_a_list_of_another_length_than_the_english_is_an_error():
    key = PRIMARY.factors[2].key
    assert len(PRIMARY.factors[2].invitations) == 2
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", factors={key: {
        "invitations": ["one"], "family_help": ["a", "b", "c"]}}))
    assert errors == [f"factors.{key}.invitations: give 2 questions, as the English does",
                      f"factors.{key}.family_help: give 2 tips, as the English does"]
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", factors={key: {
        "invitations": "one question", "family_help": ["a", ""]}}))
    assert errors == [f"factors.{key}.invitations: must be a list of non-empty texts",
                      f"factors.{key}.family_help: must be a list of non-empty texts"]


def test_an_unknown_factor_or_factor_text_is_an_error():
    key = PRIMARY.factors[0].key
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", factors={
        "grit": {"strength": "x"}, key: {"strenght": "x"}}))
    assert errors == [f"factors.{key}.strenght: unknown text (check the spelling)",
                      "factors.grit: the questionnaire has no such factor"]


def test_the_voice_question_is_required_when_the_questionnaire_asks_one():
    assert PRIMARY.voice_question
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", voice_question=None))
    assert errors == ["voice_question: missing"]
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", voice_question=""))
    assert errors == ["voice_question: must be non-empty text"]


def test_a_questionnaire_without_factor_texts_needs_none():
    import dataclasses

    bare = dataclasses.replace(PRIMARY, voice_question="", factors=tuple(
        dataclasses.replace(f, strength="", invitations=(), family_strength="", family_focus="",
                            family_help=()) for f in PRIMARY.factors))
    tr = parse_translation(tomllib.loads(translation_toml(bare, "cy")), bare)
    assert tr.factors == {} and tr.voice_question == ""
    assert localised(bare, tr).factors == bare.factors
    errors = _errors(bare, translation_toml(PRIMARY, "cy"))
    assert errors[0] == "voice_question: the questionnaire asks no voice question"
    assert f"factors.{PRIMARY.factors[0].key}: the questionnaire has no texts for this factor" in errors
    assert len(errors) == 1 + len(PRIMARY.factors)


def test_a_missing_easy_wording_is_an_error():
    with_easy = next(s.id for s in SECONDARY.statements if s.easy)
    errors = _errors(SECONDARY, translation_toml(SECONDARY, "cy", easy={with_easy: None}))
    assert errors == [f"easy.{with_easy}: missing"]


@pytest.mark.parametrize("code", ["xx", "welsh", "cy_GB", "qq-Latn"])
def test_an_unknown_language_code_is_an_error(code):
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", language=code))
    assert errors == [f"language: {code!r} is not a known BCP 47 language code "
                      "(e.g. 'cy', 'ur', 'pa-Guru')"]


def test_a_script_subtag_is_accepted_and_the_direction_must_match():
    assert parse_translation(tomllib.loads(translation_toml(PRIMARY, "pa-Guru")), PRIMARY)
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "ar", direction="ltr"))
    assert errors == ["direction: 'ar' is written rtl, not ltr"]


def test_a_reviewed_translation_needs_its_reviewer_and_date():
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", "reviewed", reviewer="",
                                               reviewed_on=""))
    assert errors == ["reviewer: a reviewed translation names its reviewer",
                      "reviewed_on: a reviewed translation gives the date (YYYY-MM-DD)"]
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", "reviewed", reviewed_on="1 May"))
    assert errors == ["reviewed_on: '1 May' is not a date (YYYY-MM-DD)"]
    assert not parse_translation(tomllib.loads(translation_toml(PRIMARY, "cy", "reviewed")),
                                 PRIMARY).is_draft


def test_a_version_mismatch_and_another_instrument_are_errors():
    errors = _errors(PRIMARY, translation_toml(PRIMARY, "cy", instrument_version="0.9"))
    assert errors == ["instrument_version: '0.9' does not match the questionnaire's version "
                      f"{PRIMARY.version!r}; translate the current version"]
    errors = _errors(PRIMARY, translation_toml(SECONDARY, "cy"))
    assert errors[0] == "instrument: 'pass9-secondary' is not this questionnaire ('pass9-primary')"


def test_the_file_name_must_name_instrument_and_language(tmp_path):
    path = tmp_path / "pass9-primary.welsh.toml"
    path.write_text(translation_toml(PRIMARY, "cy"), encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="call it pass9-primary.cy.toml"):
        load_translation(path, PRIMARY)


def test_the_directory_attaches_translations_and_refuses_a_bad_one(tmp_path):
    directory = questionnaire_dir(tmp_path, PRIMARY, {"cy": "reviewed", "ur": "draft"})
    by_key = {q.key: q for q in load_directory(directory)}
    assert sorted(by_key["pass9-primary"].translations) == ["cy", "ur"]
    assert by_key["pass9-secondary"].translations == {}
    assert sorted(translations_of(directory, PRIMARY)) == ["cy", "ur"]
    (directory / "translations" / "pass9-primary.ur.toml").write_text("language = 3\n")
    assert sorted(translations_of(directory, PRIMARY)) == ["cy"]  # pupils never see a bad one
    with pytest.raises(QuestionnaireError, match="pass9-primary.ur.toml"):
        load_directory(directory)


def test_check_questionnaire_reports_translations(runner, tmp_path):
    directory = questionnaire_dir(tmp_path, PRIMARY, {"cy": "draft"})
    ok = runner.invoke(args=["check-questionnaire", str(directory / "pass9-primary.toml")])
    assert ok.exit_code == 0, ok.output
    assert "pass9-primary.cy.toml: OK: cy Cymraeg (draft), ltr, 36 statements" in ok.output
    bad = directory / "translations" / "pass9-primary.cy.toml"
    bad.write_text(translation_toml(PRIMARY, "cy", statements={PRIMARY.statements[3].id: None}))
    for target in (directory / "pass9-primary.toml", bad):
        result = runner.invoke(args=["check-questionnaire", str(target)])
        assert result.exit_code == 1
        assert f"statements.{PRIMARY.statements[3].id}: missing" in result.output


@pytest.mark.parametrize("instrument", ["pass9-primary", "pass9-secondary"])
@pytest.mark.parametrize("language", ["cy", "ur", "ar"])
def test_the_shipped_welsh_urdu_and_arabic_carry_the_pupil_and_family_texts(instrument, language):
    q = PRIMARY if instrument == "pass9-primary" else SECONDARY
    tr = load_translation(ROOT / "questionnaires" / "translations" / f"{instrument}.{language}.toml", q)
    assert tr.voice_question and list(tr.factors) == [f.key for f in q.factors]
    texts = [t for f in tr.factors.values() for t in (f.strength, f.family_strength, f.family_focus,
                                                     *f.invitations, *f.family_help)]
    english = {t for f in q.factors for t in (f.strength, f.family_strength, f.family_focus,
                                              *f.invitations, *f.family_help)}
    assert not english & set(texts)  # translated, not copied
    assert "draft" in tr.status and tr.is_draft


def test_the_shipped_translations_are_complete():
    shipped = {"ar", "bn", "cy", "es", "pa", "pl", "pt", "ro", "so", "ur"}
    for q in load_directory(ROOT / "questionnaires"):
        assert set(q.translations) >= shipped, q.key
        assert {tr.direction for code, tr in q.translations.items() if code in ("ar", "ur")} == {"rtl"}
