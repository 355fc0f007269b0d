"""No page and no export shows a stored code, a raw enum value or a raw boolean.

A small city is built through the app itself, so that every coded field is set, changed and
recorded the way a clerk does it: two imports (the second changes every coded value and
leaves procedures out), the missing queue, the edit form, the judgement form, bulk changes,
the plan (pins, an exclusion, a saved version), the national priority list, a returned survey,
a reverted import and a preview left open. Then every page an administrator can open is read
in Japanese and in English, tags and attributes stripped, and any raw value shown as text
fails the test, naming the page and the word.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from importers.schema import Applicant, Blocker, Kind, OnlineStatus, Verdict
from procedures.core.templating import ACTIONS, FIELDS
from procedures.models import (
    ImportBatch,
    Lifecycle,
    MatchStatus,
    PlanEntry,
    PriorityMatch,
    Procedure,
    Role,
)
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import CHANNELS, TIERS
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_national_reference import national_entries, national_workbook

LANGUAGES = ("ja", "en")

#: Stored codes that are never an English word: a raw value on a page of either language.
CODE_WORDS = {
    *(code for code in (*Blocker, *OnlineStatus, *Role) if "_" in code),
    Verdict.infeasible.value,
    *CHANNELS,
    *(key for key in TIERS if "_" in key),
    *(name for name in FIELDS if "_" in name),
    "priority_match",
    "priority_procedure",
    "mynaportal",
}
#: Codes that are also English words ("missing", "other", "both"): raw on a Japanese page only.
ENGLISH_CODES = {
    *(code.value for enum in (Verdict, OnlineStatus, Blocker, Kind, Applicant) for code in enum),
    *(code.value for enum in (Lifecycle, Role, MatchStatus) for code in enum),
    *TIERS,
    *ACTIONS,
    *FIELDS,
    "revert",
    "pin",
    "excluded",
}
#: How a boolean or an empty value looks when it is printed raw.
BOOLEAN_WORDS = {"true", "false", "True", "False", "None"}


def raw_words(text: str, language: str) -> list[str]:
    """Return the raw values in a page's text, each with a few characters around it."""
    words = CODE_WORDS | BOOLEAN_WORDS | (ENGLISH_CODES if language == "ja" else set())
    found = []
    for match in re.finditer(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])", text):
        if match.group() in words:
            around = text[max(0, match.start() - 25) : match.end() + 25]
            found.append(f"{match.group()!r} in …{' '.join(around.split())}…")
    return found


class _Text(HTMLParser):
    """The text a reader sees: no tags, no attributes, no script, style or typed form values.

    Text in <code> is left out too: a code a person types into a file on purpose.
    """

    HIDDEN = frozenset({"script", "style", "textarea", "template", "code"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, _attrs) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(html: str) -> str:
    """Return a page's visible text, one space between pieces."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


class _Forms(HTMLParser):
    """The forms of a page by action: the fields with the values the page put in them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self.fields: dict[str, list[str]] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.fields = {}
            self.forms.append((attr.get("action", ""), self.fields))
        elif self.fields is None:
            return
        elif tag == "option" and self.select:
            # The first option, unless another is selected: what a browser sends.
            if "selected" in attr or self.select not in self.fields:
                self.fields[self.select] = [attr.get("value", "")]
        elif not attr.get("name"):
            return
        elif tag == "input" and attr.get("type") not in ("submit", "file"):
            if attr.get("type") not in ("checkbox", "radio") or "checked" in attr:
                self.fields.setdefault(attr["name"], []).append(attr.get("value", ""))
        elif tag == "select":
            self.select = attr["name"]
        elif tag == "textarea":
            self.textarea = attr["name"]
            self.fields[attr["name"]] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.fields = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.fields is not None and self.textarea:
            self.fields[self.textarea][0] += data


def form_of(client, page: str, action: str) -> dict[str, list[str]]:
    """Return the fields of the form on `page` that posts to the path `action`."""
    parser = _Forms()
    parser.feed(client.get(page).get_data(as_text=True))
    for target, fields in parser.forms:
        if urlsplit(urljoin(page, target)).path == action:
            return fields
    raise AssertionError(f"no form posting to {action} on {page}")


class Reader:
    """A signed-in administrator's client that keeps every page it was shown after a POST."""

    def __init__(self, client, language: str) -> None:
        self.client, self.language = client, language
        self.pages: list[tuple[str, str]] = []

    def post(self, path: str, data: dict, **kwargs) -> str:
        """POST, follow the redirect, and keep the page shown (with its flash messages)."""
        response = self.client.post(path, data=data, follow_redirects=True, **kwargs)
        assert response.status_code in (200, 400, 409), (path, response.status_code)
        page = response.get_data(as_text=True)
        self.pages.append((f"POST {path} → {response.request.path}", page))
        return page

    def submit(self, page: str, action: str, **changes) -> str:
        """Post the form of `page` that posts to `action`, with some fields changed."""
        fields = form_of(self.client, page, action) | {
            name: value if isinstance(value, list) else [value] for name, value in changes.items()
        }
        return self.post(action, fields)

    def upload(self, content: bytes, name: str) -> str:
        """Upload a file for import and return the path of its page."""
        token = csrf_token(self.client, "/imports/new")
        data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
        response = self.client.post("/imports/new", data=data, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return urlsplit(response.headers["Location"]).path

    def load_national(self, content: bytes, name: str) -> str:
        """Load a national inventory as the reference, on its page."""
        token = csrf_token(self.client, "/national")
        data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
        return self.post("/national/load", data, content_type="multipart/form-data")

    def commit(self, location: str) -> str:
        """Import a previewed file as the whole inventory of its divisions."""
        return self.submit(location, f"{location}/commit", scope="whole")


HEADERS = (
    "部",
    "課名",
    "手続コード",
    "手続名",
    "手続類型",
    "申請者",
    "ライフイベント",
    "年間件数",
    "件数の年度",
    "来庁の要否",
    "来庁が必要な理由",
    "手数料の有無",
    "納付方法",
    "添付書類",
    "原本の要否",
    "押印の要否",
    "本人確認",
    "マイナポータル対象",
    "オンライン化の状況",
    "オンライン化の可否",
    "阻害要因",
    "目標年度",
    "実施年度",
)
CHILDREN = "児童手当等の受給資格及び児童手当の額についての認定請求"  # on the national list
FIRST = [
    ("市民自治部", "市民課", "A-1", "転入届", "届出", "住民", "引越し", 40000, "令和5年度",
     "要", "本人確認のため", "有", "現金", "本人確認書類", "要", "要", "押印", "対象",
     "未実施", "可", "システムがない", "", ""),
    ("市民自治部", "市民課", "A-2", "住民票の写しの交付申請", "証明書交付", "住民", "", 42000,
     "令和5年度", "不要", "", "有", "現金", "", "不要", "不要", "本人確認書類", "対象外",
     "一部実施済", "可", "", "", ""),
    ("市民自治部", "市民課", "A-3", "印鑑登録", "申請", "住民", "", 900, "", "要", "", "無",
     "", "", "不要", "要", "実印", "", "未実施", "不可", "法令改正が必要", "", ""),
    ("市民自治部", "市民課", "A-4", "犬の登録", "届出", "住民", "", 300, "", "要", "", "有",
     "", "", "", "", "", "", "未実施", "検討中", "", "", ""),
    ("子ども青少年部", "子育て給付課", "B-1", CHILDREN, "申請", "住民", "子育て", 1200,
     "令和5年度", "要", "", "無", "", "", "", "", "", "対象", "未実施", "可", "", "", ""),
]  # fmt: skip
#: The second inventory: every coded value of 転入届 changes, 印鑑登録 and 犬の登録 are absent.
SECOND = [
    ("市民自治部", "市民課", "A-1", "転入届", "申請", "事業者", "子育て", 41000, "令和6年度",
     "不要", "", "無", "", "", "不要", "不要", "本人確認書類", "対象外", "実施済", "不可",
     "原本の提出が必要", "令和8年度", "令和7年度"),
    FIRST[1],
    FIRST[4],
]  # fmt: skip


#: A file left as a preview: words the importer does not know, a row it refuses.
PREVIEW = [
    FIRST[0][:9] + ("窓口で判断",) + FIRST[0][10:17] + ("調整中",) + FIRST[0][18:],
    FIRST[3][:20] + ("謎の事情",) + FIRST[3][21:],
    ("市民自治部", "市民課", "A-9", "", *FIRST[3][4:]),
]


def inventory(rows) -> bytes:
    """Return an inventory workbook with the headers and the rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def procedure_id(db_session, name: str) -> int:
    return db_session.exec(select(Procedure.id).where(Procedure.name == name)).one()


def build_city(reader: Reader, db_session) -> None:
    """Set and change every coded field through the app, as the clerks of a city would."""
    # Two imports: the second changes every coded value and leaves two procedures out.
    reader.commit(reader.upload(inventory(FIRST), "inventory-2025.xlsx"))
    reader.commit(reader.upload(inventory(SECOND), "inventory-2026.xlsx"))
    # One procedure absent from the file is kept; the other stays on the missing queue.
    dog = procedure_id(db_session, "犬の登録")
    reader.submit("/missing", f"/missing/{dog}/keep")
    # A procedure with a known channel code, then the edit form changes every field it has.
    shimin = add_division(db_session, "市民課")
    pittari = add_procedure(db_session, shimin, "児童扶養手当の現況届", channel="pittari")
    edit = f"/procedures/{pittari.id}/edit"
    reader.submit(
        edit,
        edit,
        visit_required="yes",
        channel="city_eapp",
        verdict="infeasible",
        verdict_reason="原本の確認が必要",
        blockers=["no_system", "seal_signature"],
        mynaportal_eligible="y",
        online_status="partial",
        annual_volume="12000",
        target_fiscal_year="2027",
        done_fiscal_year="2026",
    )
    # Saved from a page shown before those changes: the conflict lists them.
    page = reader.submit(edit, edit, version="1", notes="古い画面から")
    assert "alert-error" in page
    # The judgement form of another procedure.
    resident = procedure_id(db_session, "住民票の写しの交付申請")
    page = f"/procedures/{resident}"
    reader.submit(
        page,
        f"{page}/triage",
        verdict="undecided",
        visit_required="no",
        blockers=["by_nature"],
        channel="konbini",
        target_fiscal_year="2026",
    )
    # Bulk changes: a blocker, a verdict with its reason, a target year, a division.
    children = procedure_id(db_session, CHILDREN)
    token = csrf_token(reader.client, "/procedures")
    ids = [str(resident), str(children), str(pittari.id)]
    kodomo = add_division(db_session, "子育て給付課")
    for change, reason in (
        ("blocker:cost_benefit", ""),
        ("verdict:feasible", ""),
        ("verdict:infeasible", "法改正が必要"),
        ("target:2026", ""),
        (f"division:{kodomo}", ""),
    ):
        data = {"csrf_token": token, "change": change, "reason": reason, "scope": "selected"}
        reader.post("/procedures/bulk", {**data, "ids": ids[1:]})
        reader.post("/procedures/bulk/apply", {**data, "ids": ids[1:]})
    reader.post(
        "/procedures/bulk/apply",
        {"csrf_token": token, "change": "verdict:feasible", "scope": "selected", "ids": ids},
    )
    # The plan: computed, saved, then a pin and an exclusion change it.
    reader.submit("/plan", "/plan/recompute")
    reader.submit("/plan", "/plan/save", label="案1")
    reader.submit(f"/plan/pin/{children}", f"/plan/pin/{children}", reason="国の優先手続")
    reader.submit(
        f"/plan/pin/{resident}", f"/plan/pin/{resident}", target="exclude", reason="窓口で足りる"
    )
    # The national priority list: suggestions computed, one confirmed.
    reader.submit("/priority", "/priority/suggestions")
    match = db_session.exec(
        select(PriorityMatch.id).where(PriorityMatch.status == MatchStatus.suggested)
    ).first()
    assert match is not None, "the national list suggested nothing"
    reader.submit("/priority", f"/priority/matches/{match}/confirm")
    # The national reference: loaded, a procedure linked, a newer load changes its entry.
    national = national_entries(3)
    national["1001"][2] = "本人等による住民票の写し等の交付請求"
    reader.load_national(national_workbook(national), "r6.xlsx")
    token = csrf_token(reader.client, "/national/links")
    reader.post(f"/national/links/{resident}/confirm", {"csrf_token": token, "national_id": "1001"})
    national["1001"][5] = "1 実施済"
    national["1001"][6] = "1 法令又は条例の改正が必要"
    page = reader.load_national(national_workbook(national), "r7.xlsx")
    assert f'href="/national/review/{resident}"' in page, "the newer load flagged nothing"
    # A survey workbook made and returned as it came.
    workbook = reader.client.get(f"/survey/2026/{shimin}.xlsx").get_data()
    reader.commit(reader.upload(workbook, "survey.xlsx"))
    # An import reverted, and one left as a preview with every kind of change.
    third = [FIRST[0], FIRST[1], FIRST[2], FIRST[4]]
    location = reader.upload(inventory(third), "inventory-third.xlsx")
    reader.commit(location)
    reader.submit(location, f"{location}/revert")
    location = reader.upload(inventory(PREVIEW), "inventory-preview.xlsx")
    reader.submit(location, f"{location}/values", **{"decision-1": "yes"})


def every_page(app, db_session) -> list[str]:
    """Return every page an administrator can open, with the ids of the city filled in."""
    ids = {
        "procedure_id": db_session.exec(select(Procedure.id)).all(),
        "batch_id": db_session.exec(select(ImportBatch.id)).all(),
        "fiscal_year": sorted(set(db_session.exec(select(PlanEntry.fiscal_year)).all())),
        "division_id": [add_division(db_session, "市民課")],
        "user_id": [1],
        "item_id": [1],
    }
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.set_language"):
            continue
        if rule.rule.endswith((".xlsx", ".csv", ".json", ".zip")):
            continue
        names = sorted(rule.arguments)
        if not names:
            pages.append(rule.rule)
            continue
        assert len(names) == 1, rule.rule  # a page of two ids: fill it here
        for value in ids[names[0]]:
            pages.append(rule.rule.replace(f"<int:{names[0]}>", str(value)))
    # The list's filters, each one set, and the plan compared with its saved version.
    filters = (
        "verdict=infeasible",
        "blocker=no_system",
        "online=not_done",
        "online=partial",
        "lifecycle=missing",
        "lifecycle=all",
        "visit=yes",
        "mynaportal=yes",
        "priority=matched",
        "volume=ge10000",
        "life_event=子育て",
        "target=2026",
    )
    pages += [f"/procedures?{query}" for query in filters]
    pages += ["/plan?compare=1", "/survey/?pending=1", "/missing?division=mine"]
    return pages


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_shows_a_raw_code_or_boolean(app, db_session, language):
    add_user(db_session, "yamada", Role.admin)
    client = app.test_client()
    login(client, "yamada")
    client.get(f"/lang/{language}")
    reader = Reader(client, language)
    build_city(reader, db_session)
    for page in every_page(app, db_session):
        response = client.get(page, follow_redirects=True)
        assert response.status_code == 200, (page, response.status_code)
        reader.pages.append((page, response.get_data(as_text=True)))
    found = [
        f"{page}: {word}"
        for page, html in reader.pages
        for word in raw_words(page_text(html), language)
    ]
    assert not found, "raw values shown:\n" + "\n".join(found)


def test_the_history_shows_each_change_in_words(app, db_session):
    """The stored "true", codes and plain numbers of the audit log, as a clerk reads them."""
    add_user(db_session, "yamada", Role.admin)
    client = app.test_client()
    login(client, "yamada")
    reader = Reader(client, "ja")
    reader.commit(reader.upload(inventory(FIRST), "inventory-2025.xlsx"))
    reader.commit(reader.upload(inventory(SECOND), "inventory-2026.xlsx"))
    moved = page_text(client.get(f"/procedures/{procedure_id(db_session, '転入届')}").text)
    for change in (
        "年間件数 40,000 41,000",
        "来庁の要否 要 不要",
        "オンライン化の可否 オンライン化可能 オンライン化不可",
        "阻害要因 システムがない 原本が紙",
        "マイナポータル はい いいえ",
        "本人確認の方法 押印 本人確認書類の提示・提出",
    ):
        assert change in moved
    missing = page_text(client.get(f"/procedures/{procedure_id(db_session, '印鑑登録')}").text)
    assert "状態 有効 取り込みファイルに未掲載" in missing


#: (column header, language) → the cell the inventory export writes for the procedure below.
INVENTORY_CELLS = {
    "手続種別": ("届出", "Notification"),
    "オンライン化の状況": ("一部実施済", "Partly online"),
    "申請チャネル": ("ぴったりサービス（マイナポータル）", "My Number Portal (Pittari Service)"),
    "オンライン化の可否": ("オンライン化可能", "Feasible"),
    "阻害要因": ("システムがない、押印・署名", "No system、Seal or signature"),
    "来庁の要否": ("○", "○"),
}


def export_city(db_session) -> int:
    """One feasible procedure with a code in every coded column, and a division for surveys."""
    division = add_division(db_session, "市民課")
    add_procedure(
        db_session,
        division,
        "児童扶養手当の現況届",
        code="C-1",
        kind=Kind.notification,
        online_status=OnlineStatus.partial,
        channel="pittari",
        verdict=Verdict.feasible,
        blockers=",no_system,seal_signature,",
        visit_required=True,
        annual_volume=1200,
    )
    return division


def sheet_rows(content: bytes) -> list[list]:
    """Return the rows of a workbook's first sheet as lists of cell values."""
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_exports_write_labels_in_the_workbooks_language(app, db_session, language):
    division = export_city(db_session)
    add_user(db_session, "yamada", Role.admin)
    client = app.test_client()
    login(client, "yamada")
    client.get(f"/lang/{language}")
    index = LANGUAGES.index(language)

    header, row = sheet_rows(client.get("/exports/inventory.xlsx").get_data())
    cells = dict(zip(header, row, strict=False))  # trailing empty cells are not read
    assert {name: cells[name] for name in INVENTORY_CELLS} == {
        name: texts[index] for name, texts in INVENTORY_CELLS.items()
    }

    client.post("/plan/recompute", data={"csrf_token": csrf_token(client, "/plan")})
    year = current_fiscal_year()
    plan = sheet_rows(client.get(f"/plan/{year}/export.xlsx").get_data())
    assert plan[4][4:] == [
        "児童扶養手当の現況届",
        ("年間1,000件以上", "1,000 or more a year")[index],
        plan[4][6],  # the reason, explained in words (procedures/plan/reasons.py)
        1200,
        INVENTORY_CELLS["申請チャネル"][index],
        INVENTORY_CELLS["阻害要因"][index],
        ("未確認の段階あり", "Not yet confirmed")[index],  # its steps, once converted
    ]
    survey = sheet_rows(client.get(f"/survey/2026/{division}.xlsx").get_data())
    files = {
        "inventory": [header, row],
        "plan": plan,
        "plan CSV": [[client.get(f"/plan/{year}/export-utf-8.csv").get_data().decode("utf-8-sig")]],
        "survey": survey,
        "open data CSV": [[client.get("/open-data.csv").get_data().decode("utf-8-sig")]],
    }
    found = [
        f"{name}: {word}"
        for name, rows in files.items()
        for cells in rows
        for cell in cells
        if isinstance(cell, str)
        for word in raw_words(cell, language)
    ]
    assert not found, "raw values written:\n" + "\n".join(found)
