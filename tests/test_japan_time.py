"""Dates and times in Japan time, on pages and in exports, whatever the server's clock says.

The clock is stopped at 15:30 UTC on 4 December: already 00:30 on 5 December in Japan, the
hour at which a server in UTC used to date things the day before.
"""

import io
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from procedures.core import clock
from procedures.models import Role, Verdict
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_imports import commit, upload, workbook_bytes

AFTER_15_UTC = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
def stopped_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: AFTER_15_UTC)


@pytest.fixture
def office(client, db_session, stopped_clock):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def test_the_clock_says_the_japanese_date(stopped_clock):
    assert clock.today().isoformat() == "2026-12-05"
    assert clock.japan_now().strftime("%Y-%m-%d %H:%M") == "2026-12-05 00:30"


def test_dashboard_is_dated_in_japan_time(office):
    page = office.get("/dashboard").get_data(as_text=True)
    assert "現在の手続一覧から集計しています（2026-12-05時点）。" in page
    printed = office.get("/dashboard/print").get_data(as_text=True)
    assert "2026-12-05時点" in printed
    assert "2026-12-04" not in page + printed


def test_yearly_plan_export_is_dated_in_japan_time(office, db_session):
    division = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_procedure(
        db_session,
        division,
        "児童手当の認定請求",
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
    )
    office.post("/plan/recompute", data={"csrf_token": csrf_token(office, "/plan")})
    sheet = load_workbook(io.BytesIO(office.get("/plan/2026/export.xlsx").data)).active
    assert sheet["A2"].value == (
        "2026-12-05時点　1件"
        "（うち実施後に完全オンラインとなるもの 0件、段階に未確認があるもの 1件）"
    )


def test_inventory_export_is_named_with_the_japanese_date(office):
    response = office.get("/exports/inventory.xlsx")
    assert 'filename="inventory-2026-12-05.xlsx"' in response.headers["Content-Disposition"]


def test_history_and_import_times_are_shown_in_japan_time(office):
    location = upload(office, workbook_bytes([("市民課", "転入届", "3,100")])).headers["Location"]
    commit(office, location)
    result = office.get(location).get_data(as_text=True)
    assert "<strong>取り込み済み</strong> — 2026-12-05 00:30" in result
    history = office.get("/imports/").get_data(as_text=True)
    assert '<td class="nowrap">2026-12-05 00:30</td>' in history
    detail = office.get("/procedures/1").get_data(as_text=True)
    assert '<td class="nowrap">2026-12-05 00:30</td>' in detail


def test_survey_zip_members_are_dated_in_japan_time(office, db_session):
    add_procedure(db_session, add_division(db_session, "市民課"), "転入届")
    archive = zipfile.ZipFile(io.BytesIO(office.get("/survey/2026/all.zip").data))
    assert [member.date_time for member in archive.infolist()] == [(2026, 12, 5, 0, 30, 0)]
