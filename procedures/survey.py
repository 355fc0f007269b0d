"""The yearly survey cycle: one workbook per division to fill in, recognised when it comes back.

The DX office sends each division a workbook (調査票) listing its active procedures with the
fields the division answers: whether a visit is needed and why, last year's volume, the
blockers and notes. The answer cells are unlocked and carry data validation lists; the rest of
the sheet is protected. A marker in the workbook's custom document properties (kept by Excel
and LibreOffice when they save) names the survey, its fiscal year and its division, and the
field of every column, so that a returned workbook is imported without a mapping step.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import python_calamine
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import func, select
from sqlmodel import Session

from procedures.catalogue import blockers_from_column, name_key
from procedures.exports import neutralise, print_on_a4
from procedures.imports import unquote_formula
from procedures.models import (
    Department,
    Division,
    DivisionSurvey,
    ImportBatch,
    Lifecycle,
    Procedure,
    User,
    utcnow,
)
from procedures.vocabulary import BLOCKERS, KINDS, japanese_fiscal_year

#: Name of the custom document property that marks a survey workbook.
MARKER_PROPERTY = "ProceduresDXSurvey"
#: Name of the custom document property listing the field of each column ("" = not imported).
COLUMNS_PROPERTY = "ProceduresDXSurveyColumns"
MARKER_KIND = "procedures-dx-survey"
MARKER_VERSION = 1
#: Row of the column headers; the title rows are above it, the procedures below.
HEADER_ROW = 5
#: How many fiscal years the volume's fiscal-year list offers, counting back from last year.
VOLUME_YEARS = 4
#: A marker larger than this is not ours: the custom properties part is read only when small.
MAX_PROPERTIES_BYTES = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKYO = ZoneInfo("Asia/Tokyo")

ANSWER_FILL = PatternFill("solid", fgColor="FFF4C2")
ANSWER_HEADER_FILL = PatternFill("solid", fgColor="F7D774")
HEADER_FILL = PatternFill("solid", fgColor="DCE7F7")
LOCKED_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="BFBFBF")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNLOCKED = Protection(locked=False)


@dataclass(frozen=True)
class SurveyColumn:
    """One column of the survey sheet: where its value comes from and what it is read as."""

    #: The procedure attribute (or "department" / "division") written into the column.
    source: str
    header: Any
    width: int
    #: The importer field the column is read as when the workbook comes back; None: not read.
    field: str | None
    #: The division answers it: the cells are unlocked and validated.
    answer: bool = False


#: The columns of survey version 1. Department and division are context only: the returned
#: workbook is imported for the division its marker names, even if the division was renamed.
COLUMNS = (
    SurveyColumn("code", _l("Code"), 12, "code"),
    SurveyColumn("id", _l("System ID"), 9, None),
    SurveyColumn("department", _l("Department"), 12, None),
    SurveyColumn("division", _l("Division"), 12, None),
    SurveyColumn("name", _l("Procedure"), 36, "name"),
    SurveyColumn("legal_basis", _l("Legal basis"), 20, None),
    SurveyColumn("kind", _l("Kind"), 10, None),
    SurveyColumn("visit_required", _l("Visit required"), 10, "visit_required", True),
    SurveyColumn("visit_reason", _l("Reason for the visit"), 28, "visit_reason", True),
    SurveyColumn("annual_volume", _l("Annual volume"), 12, "annual_volume", True),
    SurveyColumn(
        "volume_fiscal_year", _l("Fiscal year of the volume"), 13, "volume_fiscal_year", True
    ),
    SurveyColumn("blockers", _l("Blockers"), 28, "blockers", True),
    SurveyColumn("notes", _l("Notes"), 32, "notes", True),
)
#: Visit answers as the importer reads them: the clerk's 要 / 不要, or Yes / No in English.
VISIT_WORDS = {"ja": ("要", "不要"), "en": ("Yes", "No")}
#: How several blockers are joined in one cell; the importer splits on both.
BLOCKER_SEPARATORS = {"ja": "、", "en": "; "}


class SurveyRefused(Exception):
    """A survey workbook that cannot be taken back: the message says what to do."""


@dataclass
class SurveyFile:
    """A returned survey workbook, recognised by its marker."""

    fiscal_year: int
    division_id: int
    #: The division's current name: the rows are imported for it.
    division_name: str
    sheet: str
    #: {header in the file: field or None}, as the importer's `mapping` argument takes it.
    mapping: dict[str, str | None]
    #: The header texts of the survey sheet, in column order.
    headers: list[str]
    #: Names of procedures renamed or recoded, and of those added, since it was made.
    changed_since: tuple[list[str], list[str]] = ([], [])


@dataclass
class SurveyStatus:
    """Where one division's survey of a fiscal year stands."""

    division_id: int
    division: str
    department: str
    procedures: int
    generated_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer_batch_id: int | None

    @property
    def answered(self) -> bool:
        """True once a returned workbook of the division was imported."""
        return self.answered_at is not None


def current_fiscal_year(today: date | None = None) -> int:
    """Return the fiscal year (April–March, Japan time) that today falls in."""
    today = today or datetime.now(TOKYO).date()
    return today.year if today.month >= 4 else today.year - 1


def _language() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "ja"


def _fiscal_year_label(year: int, language: str) -> str:
    return f"FY{year}" if language == "en" else japanese_fiscal_year(year)


# ------------------------------------------------------------------------------------------
# generating the workbooks
# ------------------------------------------------------------------------------------------


def _procedure_rows(session: Session, division_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Return the active procedures of the divisions, by division, in code order."""
    names = [column.source for column in COLUMNS if column.source not in ("department", "division")]
    query = (
        select(Procedure.division_id, *[getattr(Procedure, name) for name in names])
        .where(Procedure.division_id.in_(division_ids), Procedure.lifecycle == Lifecycle.active)
        .order_by(Procedure.division_id, Procedure.code.is_(None), Procedure.code, Procedure.id)
    )
    rows: dict[int, list[dict[str, Any]]] = {ident: [] for ident in division_ids}
    for row in session.execute(query):
        rows[row[0]].append(dict(zip(names, row[1:], strict=True)))
    return rows


def _divisions(session: Session, division_ids: list[int] | None = None) -> list[Any]:
    query = (
        select(Division.id, Division.name, Department.name)
        .join(Department, Department.id == Division.department_id)
        .order_by(Department.id, Division.id)
    )
    if division_ids is not None:
        query = query.where(Division.id.in_(division_ids))
    return list(session.execute(query))


class _Labels:
    """The words written into the cells, looked up once per workbook rather than per cell."""

    def __init__(self, language: str) -> None:
        self.visit = VISIT_WORDS[language]
        self.separator = BLOCKER_SEPARATORS[language]
        self.language = language
        self.kinds = {code: str(text) for code, text in KINDS.items()}
        self.blockers = {code: str(text) for code, text in BLOCKERS.items()}

    def value(self, source: str, value: Any) -> Any:
        """Return a stored value as the survey cell shows it (never a formula)."""
        if value is None:
            return None
        if source == "visit_required":
            return self.visit[0] if value else self.visit[1]
        if source == "volume_fiscal_year":
            return _fiscal_year_label(value, self.language)
        if source == "kind":
            return neutralise(self.kinds.get(value, value))
        if source == "blockers":
            codes = blockers_from_column(value)
            return self.separator.join(self.blockers.get(code, code) for code in codes) or None
        return neutralise(value)


def _named_styles(workbook: Workbook) -> None:
    wrap = Alignment(wrap_text=True, vertical="top")
    for name, fill, unlocked, number_format in (
        ("survey_locked", LOCKED_FILL, False, "General"),
        ("survey_answer", ANSWER_FILL, True, "General"),
        ("survey_volume", ANSWER_FILL, True, "#,##0"),
    ):
        style = NamedStyle(name=name, number_format=number_format)
        style.fill, style.border, style.alignment = fill, BORDER, wrap
        style.protection = UNLOCKED if unlocked else Protection(locked=True)
        workbook.add_named_style(style)


def survey_workbook(
    *,
    fiscal_year: int,
    city: str,
    division_id: int,
    division: str,
    department: str,
    rows: list[dict[str, Any]],
    today: date | None = None,
) -> bytes:
    """Write one division's survey workbook: the survey sheet and the instructions sheet."""
    language = _language()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Survey")
    title = _(
        "%(city)s: survey of procedures for online conversion, %(era)s (FY%(year)d)",
        city=city,
        era=japanese_fiscal_year(fiscal_year),
        year=fiscal_year,
    )
    sheet["A1"] = neutralise(title)
    sheet["A1"].font = Font(size=14, bold=True)
    sheet["A2"] = neutralise(
        _("Division: %(division)s (%(department)s)", division=division, department=department)
    )
    sheet["A2"].font = Font(size=12, bold=True)
    sheet["A3"] = _(
        "Made on %(date)s; %(count)d procedures. Fill in the yellow columns; the other cells "
        "are protected. See the sheet “%(sheet)s”.",
        date=(today or datetime.now(TOKYO).date()).isoformat(),
        count=len(rows),
        sheet=_("How to fill in"),
    )
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=str(column.header))
        cell.font = Font(bold=True)
        cell.fill = ANSWER_HEADER_FILL if column.answer else HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = BORDER
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 30
    context = {"department": department, "division": division}
    labels = _Labels(language)
    # One named style per kind of cell: setting fill, border and protection cell by cell
    # costs more than writing the whole workbook.
    _named_styles(workbook)
    styles = [
        "survey_volume"
        if column.source == "annual_volume"
        else "survey_answer"
        if column.answer
        else "survey_locked"
        for column in COLUMNS
    ]
    for offset, row in enumerate(rows, start=1):
        for index, column in enumerate(COLUMNS, start=1):
            value = context.get(column.source, row.get(column.source))
            cell = sheet.cell(
                row=HEADER_ROW + offset, column=index, value=labels.value(column.source, value)
            )
            cell.style = styles[index - 1]
    last_row = HEADER_ROW + max(len(rows), 1)
    _add_validations(sheet, fiscal_year, language, last_row)
    # The identity and the name stay in view while the answer columns scroll past.
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=COLUMNS.index(_column("name")) + 2)
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last_row}"
    # Protected without a password: it guards against slips, not against a determined user.
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    print_on_a4(sheet, header_row=HEADER_ROW)
    _instructions_sheet(workbook, fiscal_year=fiscal_year, title=title, language=language)
    workbook.security = WorkbookProtection(lockStructure=True)
    _mark(workbook, fiscal_year=fiscal_year, division_id=division_id, city=city)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column(source: str) -> SurveyColumn:
    return next(column for column in COLUMNS if column.source == source)


def _volume_years(fiscal_year: int) -> list[int]:
    return [fiscal_year - back for back in range(1, VOLUME_YEARS + 1)]


def _list_formula(items: Iterable[str]) -> str:
    # An inline list: Excel allows 255 characters and no commas inside an item.
    return '"' + ",".join(item.replace(",", " ").replace('"', "") for item in items) + '"'


def _add_validations(sheet, fiscal_year: int, language: str, last_row: int) -> None:
    def cells(source: str) -> str:
        letter = get_column_letter(COLUMNS.index(_column(source)) + 1)
        return f"{letter}{HEADER_ROW + 1}:{letter}{last_row}"

    yes, no = VISIT_WORDS[language]
    visit = DataValidation(
        type="list",
        formula1=_list_formula([yes, no]),
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=_("Visit required"),
        error=_("Choose %(yes)s or %(no)s from the list, or leave it blank.", yes=yes, no=no),
        promptTitle=_("Visit required"),
        prompt=_("%(yes)s or %(no)s. Blank: not known.", yes=yes, no=no),
    )
    volume = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=_("Annual volume"),
        error=_("Enter a whole number of 0 or more, or leave it blank when it is not known."),
        promptTitle=_("Annual volume"),
        prompt=_(
            "Applications in %(era)s. Blank: not known (0 means none).",
            era=_fiscal_year_label(fiscal_year - 1, language),
        ),
    )
    years = DataValidation(
        type="list",
        formula1=_list_formula(_fiscal_year_label(y, language) for y in _volume_years(fiscal_year)),
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=_("Fiscal year of the volume"),
        error=_("Choose the fiscal year from the list."),
        promptTitle=_("Fiscal year of the volume"),
        prompt=_("The fiscal year the annual volume counts."),
    )
    # A warning, not a stop: several blockers are typed into one cell, separated by 、.
    blockers = DataValidation(
        type="list",
        formula1=_list_formula(str(text) for text in BLOCKERS.values()),
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="warning",
        errorTitle=_("Blockers"),
        error=_(
            "Choose from the list. Several blockers: separate them with “%(separator)s”.",
            separator=BLOCKER_SEPARATORS[language].strip(),
        ),
        promptTitle=_("Blockers"),
        prompt=_(
            "What keeps the procedure from going online. Several: separate them with "
            "“%(separator)s”.",
            separator=BLOCKER_SEPARATORS[language].strip(),
        ),
    )
    for validation, source in (
        (visit, "visit_required"),
        (volume, "annual_volume"),
        (years, "volume_fiscal_year"),
        (blockers, "blockers"),
    ):
        # Excel calls a workbook corrupt when a title passes 32 characters or a message 255.
        validation.errorTitle = validation.errorTitle[:32]
        validation.promptTitle = validation.promptTitle[:32]
        validation.error, validation.prompt = validation.error[:225], validation.prompt[:255]
        validation.add(cells(source))
        sheet.add_data_validation(validation)


def _instructions_sheet(workbook: Workbook, *, fiscal_year: int, title: str, language: str) -> None:
    sheet = workbook.create_sheet(_("How to fill in"))
    yes, no = VISIT_WORDS[language]
    last_year = _fiscal_year_label(fiscal_year - 1, language)
    lines = [
        (title, Font(size=14, bold=True)),
        (_("How to fill in"), Font(size=12, bold=True)),
        (_("1. Fill in the yellow columns of the sheet “%(sheet)s”. The other cells are "
           "protected: they show what the DX office holds now.", sheet=_("Survey")), None),
        (_("2. Visit required: choose %(yes)s or %(no)s from the list. Leave it blank when it "
           "is not known.", yes=yes, no=no), None),
        (_("3. Reason for the visit: when a visit is needed, write why (checking an original, "
           "identity check, inspecting a ledger …)."), None),
        (_("4. Annual volume: the number of applications in %(year)s, a whole number of 0 or "
           "more, and set its fiscal year to %(year)s. Leave it blank when it is not known: "
           "0 means there were none.", year=last_year), None),
        (_("5. Blockers: choose what keeps the procedure from going online. For several, "
           "separate them with “%(separator)s”.",
           separator=BLOCKER_SEPARATORS[language].strip()), None),
        (_("6. Notes: anything the DX office should know, e.g. a procedure that was abolished "
           "or one that is missing from the list."), None),
        (_("7. Rows cannot be added or deleted. When you are done, upload the file as it is "
           "on the Import page: it is recognised as your division's survey and no column "
           "mapping is asked."), None),
        (_("The sheets are protected without a password. If you unprotect them and change the "
           "columns, the file may no longer be recognised."), None),
        ("", None),
        (_("Blockers to choose from"), Font(bold=True)),
        *[(str(text), None) for text in BLOCKERS.values()],
    ]  # fmt: skip
    for number, (text, font) in enumerate(lines, start=1):
        cell = sheet.cell(row=number, column=1, value=neutralise(text))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font is not None:
            cell.font = font
    sheet.column_dimensions["A"].width = 90
    print_on_a4(sheet, landscape=False)
    sheet.protection.sheet = True


def _mark(workbook: Workbook, *, fiscal_year: int, division_id: int, city: str) -> None:
    marker = {
        "kind": MARKER_KIND,
        "v": MARKER_VERSION,
        "fy": fiscal_year,
        "division": division_id,
        "sheet": _("Survey"),
        "row": HEADER_ROW,
        "city": city[:60],
    }
    columns = ",".join(column.field or "" for column in COLUMNS)
    workbook.custom_doc_props.append(
        StringProperty(name=MARKER_PROPERTY, value=json.dumps(marker, ensure_ascii=False))
    )
    workbook.custom_doc_props.append(StringProperty(name=COLUMNS_PROPERTY, value=columns))


def division_survey(
    session: Session, *, fiscal_year: int, division_id: int, city: str, user_id: int | None
) -> tuple[str, bytes]:
    """Generate one division's workbook, record it as sent, and return (file name, bytes)."""
    divisions = _divisions(session, [division_id])
    if not divisions:
        raise LookupError(division_id)
    ident, division, department = divisions[0]
    rows = _procedure_rows(session, [ident])[ident]
    content = survey_workbook(
        fiscal_year=fiscal_year,
        city=city,
        division_id=ident,
        division=division,
        department=department,
        rows=rows,
    )
    record_generated(session, fiscal_year=fiscal_year, division_ids=[ident], user_id=user_id)
    return survey_file_name(fiscal_year, division), content


def all_surveys_zip(
    session: Session, *, fiscal_year: int, city: str, user_id: int | None
) -> tuple[str, bytes, int]:
    """Generate every division's workbook into one zip; return (file name, bytes, workbooks).

    Divisions without an active procedure get no workbook: there is nothing to ask them.
    """
    divisions = _divisions(session)
    rows = _procedure_rows(session, [ident for ident, _name, _dept in divisions])
    buffer = io.BytesIO()
    written: list[int] = []
    # The workbooks are zip files already: storing them again is as small and much faster.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for ident, division, department in divisions:
            if not rows[ident]:
                continue
            content = survey_workbook(
                fiscal_year=fiscal_year,
                city=city,
                division_id=ident,
                division=division,
                department=department,
                rows=rows[ident],
            )
            name = f"{len(written) + 1:03d}_{_safe(department)}_{_safe(division)}.xlsx"
            archive.writestr(name, content)
            written.append(ident)
    record_generated(session, fiscal_year=fiscal_year, division_ids=written, user_id=user_id)
    survey, everyone = _("Survey"), _("all divisions")
    file_name = f"{survey}_{japanese_fiscal_year(fiscal_year)}_{everyone}.zip"
    return file_name, buffer.getvalue(), len(written)


def survey_file_name(fiscal_year: int, division: str) -> str:
    """Return the download name of a division's workbook, e.g. 調査票_令和8年度_市民課.xlsx."""
    survey = _("Survey")
    return f"{survey}_{japanese_fiscal_year(fiscal_year)}_{_safe(division)}.xlsx"


def _safe(name: str) -> str:
    """Make a name usable as a file name on Windows too."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "＿", name).strip(" .") or "_"


def record_generated(
    session: Session, *, fiscal_year: int, division_ids: list[int], user_id: int | None
) -> None:
    """Note that the divisions' workbooks of the fiscal year were generated now."""
    now = utcnow()
    for survey in _survey_rows(session, fiscal_year, division_ids):
        survey.generated_at, survey.generated_by = now, user_id
        session.add(survey)
    session.flush()


def _survey_rows(
    session: Session, fiscal_year: int, division_ids: list[int]
) -> list[DivisionSurvey]:
    existing = {
        survey.division_id: survey
        for survey in session.execute(
            select(DivisionSurvey).where(
                DivisionSurvey.fiscal_year == fiscal_year,
                DivisionSurvey.division_id.in_(division_ids),
            )
        ).scalars()
    }
    return [
        existing.get(ident) or DivisionSurvey(fiscal_year=fiscal_year, division_id=ident)
        for ident in division_ids
    ]


# ------------------------------------------------------------------------------------------
# recognising a returned workbook
# ------------------------------------------------------------------------------------------

_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"


def read_marker(content: bytes) -> tuple[dict[str, Any], list[str]] | None:
    """Return the survey marker and the column fields of a workbook, or None if it has none."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            info = archive.getinfo("docProps/custom.xml")
            if info.file_size > MAX_PROPERTIES_BYTES:
                return None
            root = ET.fromstring(archive.read(info))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError, RuntimeError, ValueError):
        return None
    values: dict[str, str] = {}
    for prop in root.iter(f"{_CUSTOM_NS}property"):
        text = "".join(child.text or "" for child in prop)
        values[prop.get("name", "")] = text
    try:
        marker = json.loads(values[MARKER_PROPERTY])
        columns = values[COLUMNS_PROPERTY].split(",")
    except (KeyError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("kind") != MARKER_KIND:
        return None
    if not isinstance(marker.get("fy"), int) or not isinstance(marker.get("division"), int):
        return None
    return marker, columns


def _sheet_rows(content: bytes, sheet: str) -> list[list[Any]] | None:
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        workbook.close()
    except BaseException as error:  # calamine's Rust panics arrive as BaseException
        if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
            raise
        return None
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _changed_since(
    session: Session, division_id: int, rows: list[list[Any]], fields: list[str]
) -> tuple[list[str], list[str]]:
    """Return the procedures renamed or recoded, and those added, since the workbook was made.

    The internal id column finds each row's procedure even when its name or code changed.
    """
    id_column = next(i for i, column in enumerate(COLUMNS) if column.source == "id")
    code_column, name_column = fields.index("code"), fields.index("name")
    in_file: dict[int, tuple[str, str]] = {}
    for row in rows:
        cells = [_text(value) for value in row]
        if len(cells) > max(id_column, code_column, name_column) and cells[id_column].isdigit():
            name = unquote_formula(cells[name_column])
            code = unquote_formula(cells[code_column])
            in_file[int(cells[id_column])] = (code, name_key(name))
    current = session.execute(
        select(Procedure.id, Procedure.code, Procedure.name).where(
            Procedure.division_id == division_id, Procedure.lifecycle == Lifecycle.active
        )
    ).all()
    renamed = [
        name
        for ident, code, name in current
        if ident in in_file and in_file[ident] != ((code or ""), name_key(name))
    ]
    added = [name for ident, _code, name in current if ident not in in_file]
    return renamed, added


def recognise(
    session: Session, content: bytes, *, city: str, own_division_id: int | None = None
) -> SurveyFile | None:
    """Recognise a returned survey workbook; None when the file is not one.

    With `own_division_id` (a division user), a workbook of another division is refused.
    Raises SurveyRefused with a message for the person when it cannot be taken back.
    """
    found = read_marker(content)
    if found is None:
        return None
    marker, fields = found
    if marker.get("city") not in (None, city[:60]):
        raise SurveyRefused(
            _(
                "This survey workbook was made by another installation (%(city)s). Download "
                "your division's workbook from the Survey page and fill that in.",
                city=marker.get("city"),
            )
        )
    division = session.get(Division, marker["division"])
    if division is None:
        raise SurveyRefused(
            _(
                "This survey workbook was made for a division that no longer exists. Download "
                "a new workbook from the Survey page."
            )
        )
    if own_division_id is not None and division.id != own_division_id:
        own = session.get(Division, own_division_id)
        raise SurveyRefused(
            _(
                "This is the survey workbook of %(division)s. You can only return the workbook "
                "of your own division (%(own)s): download it from the Survey page.",
                division=division.name,
                own=own.name if own else "",
            )
        )
    header_row = int(marker.get("row", 0))
    rows = _sheet_rows(content, str(marker.get("sheet", "")))
    headers = [_text(value) for value in rows[header_row - 1]] if rows else []
    if (
        not rows
        or marker.get("v") != MARKER_VERSION
        or len(rows) < header_row
        or len(headers) < len(fields)
        or "name" not in fields
        or "code" not in fields
    ):
        raise SurveyRefused(
            _(
                "The survey sheet of this workbook was renamed or its columns were changed, so "
                "it cannot be read. Download a new workbook from the Survey page and copy the "
                "answers into it."
            )
        )
    mapping = {
        header: field or None for header, field in zip(headers, fields, strict=False) if header
    }
    return SurveyFile(
        fiscal_year=marker["fy"],
        division_id=division.id,
        division_name=division.name,
        sheet=str(marker["sheet"]),
        mapping=mapping,
        headers=headers,
        changed_since=_changed_since(session, division.id, rows[header_row:], fields),
    )


def without_instruction_warnings(content: bytes, warnings: list[Any]) -> list[Any]:
    """Drop the warning that a survey's instructions sheet holds no procedures: it never does."""
    found = read_marker(content)
    if found is None:
        return warnings
    survey_sheet = found[0].get("sheet")
    return [
        warning
        for warning in warnings
        if warning.code not in ("sheet_no_header", "sheet_empty") or warning.sheet == survey_sheet
    ]


def _some_names(names: list[str]) -> str:
    return "、".join(names[:3]) + ("…" if len(names) > 3 else "")


def recognised_messages(survey: SurveyFile) -> list[tuple[str, str]]:
    """Tell the person which survey the upload is, and what changed since it was made.

    Returns (message, flash category) pairs.
    """
    messages = [
        (
            _(
                "Recognised as the survey workbook of %(division)s for %(era)s: its columns "
                "were read without a mapping step. Check the changes, then import them.",
                division=survey.division_name,
                era=japanese_fiscal_year(survey.fiscal_year),
            ),
            "info",
        )
    ]
    renamed, added = survey.changed_since
    if renamed:
        messages.append(
            (
                _(
                    "%(count)d procedures were renamed or given another code since this "
                    "workbook was made (%(names)s). Their rows are found by the system ID and "
                    "keep the new name and code.",
                    count=len(renamed),
                    names=_some_names(renamed),
                ),
                "info",
            )
        )
    if added:
        messages.append(
            (
                _(
                    "%(count)d procedures were added since this workbook was made (%(names)s). "
                    "They are not in it and stay as they are; ask about them in next year's "
                    "workbook or edit them directly.",
                    count=len(added),
                    names=_some_names(added),
                ),
                "info",
            )
        )
    return messages


def record_answer(
    session: Session, *, batch: ImportBatch, user_id: int | None
) -> DivisionSurvey | None:
    """Mark the division answered when a committed batch is a survey workbook of it."""
    if batch.status != "committed":
        return None
    found = read_marker(batch.content)
    if found is None:
        return None
    marker, _fields = found
    if session.get(Division, marker["division"]) is None:
        return None
    (survey,) = _survey_rows(session, marker["fy"], [marker["division"]])
    survey.answered_at, survey.answered_by, survey.answer_batch_id = utcnow(), user_id, batch.id
    session.add(survey)
    session.flush()
    return survey


# ------------------------------------------------------------------------------------------
# who has answered
# ------------------------------------------------------------------------------------------


def survey_status(
    session: Session, *, fiscal_year: int, division_id: int | None = None
) -> list[SurveyStatus]:
    """Return every division's survey state for the fiscal year (or one division's)."""
    counts = dict(
        session.execute(
            select(Procedure.division_id, func.count())
            .where(Procedure.lifecycle == Lifecycle.active)
            .group_by(Procedure.division_id)
        ).all()
    )
    surveys = {
        survey.division_id: survey
        for survey in session.execute(
            select(DivisionSurvey).where(DivisionSurvey.fiscal_year == fiscal_year)
        ).scalars()
    }
    logins = dict(session.execute(select(User.id, User.login)).all())
    result = []
    for ident, division, department in _divisions(
        session, None if division_id is None else [division_id]
    ):
        survey = surveys.get(ident)
        result.append(
            SurveyStatus(
                division_id=ident,
                division=division,
                department=department,
                procedures=counts.get(ident, 0),
                generated_at=survey.generated_at if survey else None,
                answered_at=survey.answered_at if survey else None,
                answered_by=logins.get(survey.answered_by) if survey else None,
                answer_batch_id=survey.answer_batch_id if survey else None,
            )
        )
    return result


def survey_years(session: Session, today: date | None = None) -> list[int]:
    """Return the fiscal years to offer: those with surveys, and last, this and next year."""
    current = current_fiscal_year(today)
    years = set(session.execute(select(DivisionSurvey.fiscal_year).distinct()).scalars())
    years.update((current - 1, current, current + 1))
    return sorted(years, reverse=True)
