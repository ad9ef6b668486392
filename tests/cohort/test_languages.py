"""Language of administration on the cohort page (a filter and a split) and alpha per
language from `reliability --by-language`."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pingouin
import pytest
import sqlalchemy as sa

from survey_app.accounts.scope import Scope
from survey_app.cohort.build import cohort_report
from survey_app.cohort.selection import CohortSelection, Split, parse_selection
from survey_app.db import db
from survey_app.models import Response
from survey_app.models.base import utcnow
from tests.cohort_data import add_pupils, add_rounds, fill, item_rows
from tests.conftest import login_as


@pytest.fixture
def cohort(staff_world):
    rounds = add_rounds(staff_world, names=("After",))
    pupils = add_pupils(staff_world, 12)
    fill(staff_world, rounds, pupils, seed=3)
    welsh = [p.id for p in pupils[:6]]
    db.session.execute(sa.update(Response).where(Response.pupil_id.in_(welsh)).values(language="cy"))
    db.session.commit()
    return staff_world, rounds, set(welsh)


def _report(world, rounds, **selection):
    sel = CohortSelection(round_ids=tuple(r.id for r in rounds), **selection)
    return cohort_report(db.session, Scope(world.admin), sel, utcnow(), 5)


def test_language_filter_and_split_in_the_report_and_on_the_page(client, cohort):
    world, rounds, welsh = cohort
    everyone = _report(world, rounds).main.comparisons[0].factors[0].n_paired
    only_welsh = _report(world, rounds, languages=("cy",))
    assert only_welsh.main.comparisons[0].factors[0].n_paired == 6 < everyone
    assert "Answered in Welsh" in only_welsh.selection_label
    inside, rest = _report(world, rounds, split=Split("lang", "cy")).subgroups
    assert inside.label == "Answered in Welsh"
    assert inside.comparisons[0].factors[0].n_paired == 6
    assert rest.comparisons[0].factors[0].n_paired == everyone - 6
    db.session.commit()  # (the reports keep round statistics: end the test's transaction)
    parsed = parse_selection({"language": ["CY", "pa-guru", "not a code"], "split": ["lang:cy"]})
    assert parsed.selection.languages == ("cy", "pa-Guru")
    assert parsed.selection.split == Split("lang", "cy")
    assert parsed.errors == ["\u201cnot a code\u201d is not a language code."]
    login_as(client, world.lead)
    query = "&".join(f"round={r.id}" for r in rounds)
    page = client.get(f"/staff/cohort/?{query}&language=cy&split=lang:en")
    assert page.status_code == 200, page.text
    assert "Language of the survey" in page.text
    assert 'value="cy" checked' in page.text
    assert "Answered in English against other languages" in page.text


def test_reliability_per_language(runner, cohort):
    world, rounds, welsh = cohort
    result = runner.invoke(args=["reliability", "--round", str(rounds[0].id), "--by-language",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {r["language"] for r in rows} == {"cy", "en"}
    factor = world.q.factors[0].key
    for language in ("cy", "en"):
        row = next(r for r in rows if r["language"] == language and r["factor"] == factor)
        items = item_rows(world.q, rounds[0].id, factor, pupils=welsh, inside=language == "cy")
        assert int(row["n"]) == len(items)
        assert float(row["alpha"]) == pytest.approx(pingouin.cronbach_alpha(pd.DataFrame(items))[0],
                                                    abs=5e-5)
    table = runner.invoke(args=["reliability", "--round", rounds[0].name, "--by-language"])
    assert "Language: Welsh (cy)" in table.output and "Language: English (en)" in table.output
