"""Write-side services without HTTP: codes, UPNs, questionnaire storage, scoring on finish."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from survey_app.db import db
from survey_app.files.cells import safe_cell, safe_row
from survey_app.models import FactorScore, QuestionnaireVersion
from survey_app.models.base import utcnow
from survey_app.models.upn import is_valid_upn, make_upn
from survey_app.pupil import codes as access_codes
from survey_app.pupil.answers import (
    AnswerRefused,
    GivenAnswer,
    finish_response,
    record_answers,
    start_or_resume,
)
from survey_app.questionnaires.store import store_file, store_questionnaire
from tests.conftest import ROOT


def test_code_alphabet_has_no_look_alikes():
    assert not set("0O1IL") & set(access_codes.ALPHABET)
    assert len(set(access_codes.ALPHABET)) == len(access_codes.ALPHABET) == 31
    assert abs(access_codes.CODE_BITS - 8 * math.log2(31)) < 1e-12
    codes = {access_codes.generate_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 8 and set(c) <= set(access_codes.ALPHABET) for c in codes)


@given(st.text(max_size=50))
def test_normalise_code_never_crashes(text):
    code = access_codes.normalise_code(text)
    assert code is None or (len(code) == 8 and set(code) <= set(access_codes.ALPHABET))


def test_normalise_and_format():
    assert access_codes.normalise_code(" abcd-efgh ") == "ABCDEFGH"
    assert access_codes.normalise_code("ab cd ef gh") == "ABCDEFGH"
    assert access_codes.normalise_code("ABCD0FGH") is None
    assert access_codes.format_code("ABCDEFGH") == "ABCD-EFGH"


def test_upn_check_letter():
    upn = make_upn(881, 4101, 15, 7)
    assert len(upn) == 13 and is_valid_upn(upn)
    assert not is_valid_upn("Z" + upn[1:]) or upn[0] == "Z"
    assert not is_valid_upn("A12345") and not is_valid_upn(upn[:-1] + "O")


def test_safe_cells():
    assert safe_cell("=SUM(A1)") == "'=SUM(A1)" and safe_cell("@x") == "'@x"
    assert safe_cell("-1+2") == "'-1+2" and safe_cell(-3) == -3 and safe_cell("Ann") == "Ann"
    assert safe_row({"a": "+1", "b": 2}) == {"a": "'+1", "b": 2}


def test_editing_a_file_stores_a_new_version_and_keeps_the_old(app, tmp_path):
    source = (ROOT / "tests/data/mini.toml").read_text()
    path = tmp_path / "mini.toml"
    path.write_text(source)
    first = store_file(db.session, path)
    assert store_file(db.session, path).id == first.id  # same content, same row
    path.write_text(source.replace("Alpha one.", "Alpha one, reworded."))
    second = store_file(db.session, path)
    db.session.commit()
    assert second.id != first.id and second.content_hash != first.content_hash
    assert db.session.get(QuestionnaireVersion, first.id).definition["statements"][0]["text"] == "Alpha one."


def test_finishing_stores_scores_by_the_stored_definition(app, world):
    now = utcnow()
    access = db.session.scalars(sa.select(access_codes.AccessCode)).first()
    response = start_or_resume(db.session, access, now)
    q = world.q
    given = [GivenAnswer(s.id, 4, 1) for s in q.statements if s.factor == "self_regard"]
    given += [GivenAnswer(q.statements_of("attitudes_to_teachers")[0].id, 4, 1)]
    record_answers(db.session, response, given, now)
    finish_response(db.session, response, now + timedelta(minutes=3))
    db.session.commit()
    scores = {s.factor: s for s in db.session.scalars(sa.select(FactorScore))}
    assert len(scores) == 9
    regard = scores["self_regard"]
    n_rev = sum(1 for s in q.statements_of("self_regard") if s.reversed)
    n = len(q.statements_of("self_regard"))
    assert regard.score == pytest.approx(100 * (n - n_rev) / n)
    assert scores["attitudes_to_teachers"].score is None  # too few answered: not a zero
    assert scores["attitudes_to_teachers"].items_answered == 1
    assert response.seconds_spent == 180
    with pytest.raises(AnswerRefused):
        record_answers(db.session, response, given, now)


def test_issue_codes_is_idempotent(app, world):
    assert access_codes.issue_codes(db.session, world.round, [p.id for p in world.pupils]) == 0
    codes = db.session.scalars(sa.select(access_codes.AccessCode.code)).all()
    assert len(codes) == len(set(codes)) == 3


def test_store_questionnaire_same_hash_same_row(app):
    from survey_app.questionnaires import load_questionnaire

    q = load_questionnaire(ROOT / "questionnaires/pass9-primary.toml")
    a = store_questionnaire(db.session, q)
    b = store_questionnaire(db.session, q)
    assert a.id == b.id and a.content_hash == q.content_hash
