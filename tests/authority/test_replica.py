"""REPORTS_DATABASE_URL: the dashboard reads from the replica, writes stay on the primary,
and the page says how far behind the replica is once that passes a minute."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey_app.db import db, lag_message, replica_lag_seconds, reports_session
from survey_app.models import AuditEvent
from tests.authority.support import add_authority
from tests.conftest import login_as


def test_lag_message():
    assert lag_message(None) is None
    assert lag_message(0) is None
    assert lag_message(60) is None
    assert lag_message(61) == ("These figures come from a copy of the database that is 1 minute behind: "
                               "answers given in the last 1 minute may not be counted yet.")
    assert "is 5 minutes behind" in lag_message(5 * 60 + 59)
    assert "is 3 hours behind" in lag_message(3 * 3600 + 10)
    assert lag_message(90, warn_after=120) is None


@pytest.fixture
def replica_url(tmp_path):
    """An empty copy of the schema standing in for a replica that has not caught up."""
    url = "sqlite:///" + str(tmp_path / "replica.sqlite3")
    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    return url


def test_dashboard_reads_the_replica_and_writes_the_primary(app, staff_world, replica_url, monkeypatch):
    add_authority(staff_world)
    app.config["REPORTS_DATABASE_URL"] = replica_url
    client = app.test_client()
    login_as(client, staff_world.authority_user)
    # The authority is on the primary; the replica has none of its rounds yet.
    page = client.get("/staff/authority/")
    assert page.status_code == 200 and "No survey round of this authority" in page.text
    assert "behind" not in page.text  # SQLite cannot say: no lag shown
    monkeypatch.setattr("survey_app.authority.routes.replica_lag_seconds", lambda session: 125.0)
    page = client.get("/staff/authority/")
    assert "a copy of the database that is 2 minutes behind" in page.text
    export = client.get("/staff/authority/export.csv")
    assert "2 minutes behind" in export.get_data(as_text=True)
    # The export's audit record went to the primary, not to the replica.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "exported")) == 1
    app.extensions.pop("reports_engine").dispose()


def test_a_write_on_the_reports_session_is_refused(app, replica_url):
    from survey_app.models import Partnership

    app.config["REPORTS_DATABASE_URL"] = replica_url
    with app.test_request_context():
        session = reports_session()
        assert session is not db.session
        session.add(Partnership(name="Must not be written"))
        with pytest.raises(RuntimeError, match="read-only replica"):
            session.flush()
        session.rollback()
    app.extensions.pop("reports_engine").dispose()


def test_replica_lag_is_read_from_postgresql(app, backend):
    """On a primary (not in recovery) the lag is None: nothing is shown."""
    assert replica_lag_seconds(db.session) is None
