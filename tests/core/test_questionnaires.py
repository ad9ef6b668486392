"""The questionnaire loader: good files load, bad files are refused naming file and place."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from survey_app.questionnaires import (
    QuestionnaireError,
    load_directory,
    load_questionnaire,
    parse_definition,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SHIPPED = Path(__file__).resolve().parents[2] / "questionnaires"
NINE_FACTORS = [
    "feelings_about_school", "perceived_learning_capability", "self_regard",
    "preparedness_for_learning", "attitudes_to_teachers", "general_work_ethic",
    "confidence_in_learning", "attitudes_to_attendance", "response_to_curriculum",
]


def mini() -> dict:
    return tomllib.loads((DATA / "mini.toml").read_text())


def refused(data: dict) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        parse_definition(data, "bad.toml")
    assert str(info.value).startswith("bad.toml: ")
    return info.value.errors


def test_mini_loads_with_defaults_and_overrides():
    q = load_questionnaire(DATA / "mini.toml")
    assert q.key == "mini-test" and len(q.statements) == 9
    assert [f.key for f in q.factors] == ["alpha", "beta", "gamma"]
    assert q.factors[0].cutoffs == (40.0, 55.0, 70.0)
    assert q.factors[1].cutoffs == (30.0, 50.0, 80.0)
    assert q.scale_min == 1 and q.scale_max == 4
    assert q.statements[3].reversed and q.statements[3].pair == "a1"
    assert q.statements[8].easy == "Gamma three in easy words."


def test_content_hash_is_stable_and_changes_with_wording():
    a = parse_definition(mini())
    b = parse_definition(mini())
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64
    changed = mini()
    changed["statements"][0]["text"] = "Alpha one, reworded."
    assert parse_definition(changed).content_hash != a.content_hash


def test_stored_definition_round_trips():
    q = parse_definition(mini())
    again = parse_definition(q.definition)
    assert again == q and again.content_hash == q.content_hash


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["statements"].append(dict(d["statements"][0])), "duplicate statement id 'a1'"),
        (lambda d: d["statements"][0].update(factor="delta"), "unknown factor 'delta'"),
        (lambda d: d.update(statements=[s for s in d["statements"] if s["id"] != "g3"]),
         "factors (key 'gamma'): too few statements (2)"),
        (lambda d: d["scale"].update(options=[{"value": 1, "label": "Only"}]),
         "scale.options: needs at least two options"),
        (lambda d: d["scale"]["options"][1].update(value=4), "scale.options[1].value: 4 is used twice"),
        (lambda d: d["scale"]["options"][0].update(label=""), "scale.options[0].label"),
        (lambda d: d.update(cutoffs=[55.0, 40.0, 70.0]), "cutoffs: cut-offs out of order"),
        (lambda d: d["factors"][1].update(cutoffs=[30.0, 80.0]), "2 cut-offs for 4 bands"),
        (lambda d: d.update(cutoffs=[0.0, 50.0, 120.0]), "between 0 and 100"),
        (lambda d: d["factors"].append(dict(d["factors"][0])), "duplicate factor key 'alpha'"),
        (lambda d: d["statements"].extend(dict(d["statements"][0], id=f"a{i}x") for i in range(40)),
         "factors (key 'alpha'): too many statements (43) for a scale of 4 points; at most 30"),
        (lambda d: d["factors"].extend(dict(d["factors"][0], key=f"extra{i}") for i in range(10)),
         "factors: 13 factors; a questionnaire has at most 12"),
        (lambda d: d["statements"][3].update(pair="zz"), "no statement with id 'zz'"),
        (lambda d: d["statements"][3].update(pair="b1"), "'b1' belongs to another factor"),
        (lambda d: d.update(default_mode="scroll"), "default_mode"),
        (lambda d: d.update(age_min=12, age_max=9), "age_min: must not be above age_max"),
        (lambda d: d.pop("title"), "title: missing"),
        (lambda d: d.update(colour="red"), "colour: unknown setting"),
        (lambda d: d["statements"][0].update(reversed="yes"), "reversed: must be true or false"),
    ],
)
def test_bad_definitions_are_refused_with_the_place(change, expected):
    data = mini()
    change(data)
    errors = refused(data)
    assert any(expected in e for e in errors), errors


def test_every_problem_is_reported_at_once():
    data = mini()
    data["statements"][0]["factor"] = "delta"
    data["cutoffs"] = [70.0, 40.0, 55.0]
    errors = refused(data)
    assert len(errors) >= 2


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('id = "x"\ntitle = \n')
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(bad)
    assert str(bad) in str(info.value) and "not valid TOML" in str(info.value)
    with pytest.raises(QuestionnaireError, match="cannot read"):
        load_questionnaire(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes('title = "caf\xe9"'.encode("latin-1"))
    with pytest.raises(QuestionnaireError, match="not UTF-8"):
        load_questionnaire(latin)


@pytest.mark.parametrize("name, count, per_factor, age", [
    ("pass9-secondary", (48, 52), (5, 6), (11, 18)),
    ("pass9-primary", (34, 38), (4, 4), (7, 11)),
])
def test_shipped_instruments(name, count, per_factor, age):
    q = load_questionnaire(SHIPPED / f"{name}.toml")
    assert q.key == name
    assert count[0] <= len(q.statements) <= count[1]
    assert [f.key for f in q.factors] == NINE_FACTORS
    assert (q.age_min, q.age_max) == age
    assert len(q.scale) == 4 and [o.label for o in q.scale][0] == "Yes, a lot"
    for f in q.factors:
        statements = q.statements_of(f.key)
        assert per_factor[0] <= len(statements) <= per_factor[1], f.key
        assert any(s.reversed for s in statements), f"{f.key} has no reversed statement"
        assert f.description and f.ideas
    # Statements of one factor are never shown back to back.
    keys = [s.factor for s in q.statements]
    assert all(a != b for a, b in zip(keys, keys[1:], strict=False))
    # No double negatives: statements are worded so "No, not at all" reads cleanly.
    assert not [s.text for s in q.statements if " not " in f" {s.text.lower()} " or "n't" in s.text]


def test_shipped_directory_loads():
    keys = {q.key for q in load_directory(SHIPPED)}
    assert {"pass9-secondary", "pass9-primary"} <= keys
