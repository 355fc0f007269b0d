"""The yearly survey workbook a division fills in: answer columns, validation lists, protection."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlmodel import Session, col

from procedures.catalogue.procedures import blockers_from_column
from procedures.core import clock, i18n
from procedures.core.spreadsheets import neutralise, print_on_a4, titled_workbook
from procedures.models import (
    Department,
    Division,
    Lifecycle,
    Procedure,
    utcnow,
)
from procedures.survey.layout import (
    BLOCKER_SEPARATORS,
    COLUMNS,
    COLUMNS_PROPERTY,
    HEADER_ROW,
    MARKER_KIND,
    MARKER_PROPERTY,
    MARKER_VERSION,
    VISIT_WORDS,
    VOLUME_YEARS,
    SurveyColumn,
)
from procedures.survey.returns import _survey_rows
from procedures.vocabulary import BLOCKERS, KINDS, japanese_fiscal_year

ANSWER_FILL = PatternFill("solid", fgColor="FFF4C2")


ANSWER_HEADER_FILL = PatternFill("solid", fgColor="F7D774")


HEADER_FILL = PatternFill("solid", fgColor="DCE7F7")


LOCKED_FILL = PatternFill("solid", fgColor="F2F2F2")


THIN = Side(style="thin", color="BFBFBF")


BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


UNLOCKED = Protection(locked=False)


def _fiscal_year_label(year: int, language: str) -> str:
    return f"FY{year}" if language == "en" else japanese_fiscal_year(year)


def _procedure_rows(session: Session, division_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Return the active procedures of the divisions, by division, in code order."""
    names = [column.source for column in COLUMNS if column.source not in ("department", "division")]
    query = (
        select(col(Procedure.division_id), *[getattr(Procedure, name) for name in names])
        .where(
            col(Procedure.division_id).in_(division_ids),
            col(Procedure.lifecycle) == Lifecycle.active,
        )
        .order_by(
            col(Procedure.division_id),
            col(Procedure.code).is_(None),
            col(Procedure.code),
            col(Procedure.id),
        )
    )
    rows: dict[int, list[dict[str, Any]]] = {ident: [] for ident in division_ids}
    for row in session.execute(query):
        rows[row[0]].append(dict(zip(names, row[1:], strict=True)))
    return rows


def _divisions(session: Session, division_ids: list[int] | None = None) -> list[Any]:
    query = (
        select(col(Division.id), col(Division.name), col(Department.name))
        .join(Department, col(Department.id) == Division.department_id)
        .order_by(col(Department.id), col(Division.id))
    )
    if division_ids is not None:
        query = query.where(col(Division.id).in_(division_ids))
    return list(session.execute(query))


@dataclass(frozen=True, slots=True)
class SurveyedDivision:
    """A division as its workbook shows it: its id, its names, its active procedures."""

    division_id: int
    division: str
    department: str
    #: The active procedures' survey columns, in code order.
    rows: list[dict[str, Any]]


def _surveyed_divisions(
    session: Session, division_ids: list[int] | None = None
) -> list[SurveyedDivision]:
    """Return the divisions (all, or these) with their procedures, in department order."""
    divisions = _divisions(session, division_ids)
    rows = _procedure_rows(session, [ident for ident, _name, _dept in divisions])
    return [
        SurveyedDivision(ident, division, department, rows[ident])
        for ident, division, department in divisions
    ]


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
    surveyed: SurveyedDivision,
    *,
    fiscal_year: int,
    city: str,
    language: str,
    today: date | None = None,
) -> bytes:
    """Write one division's survey workbook in `language` ("ja" or "en"): survey and instructions.

    Its sheet texts come from the translation catalogue of the caller's locale; `language`
    decides the answer words the validation lists offer.
    """
    division, department, rows = surveyed.division, surveyed.department, surveyed.rows
    title = _(
        "%(city)s: survey of procedures for online conversion, %(era)s (FY%(year)d)",
        city=city,
        era=japanese_fiscal_year(fiscal_year),
        year=fiscal_year,
    )
    workbook, sheet = titled_workbook(_("Survey"), title)
    sheet["A2"] = neutralise(
        _("Division: %(division)s (%(department)s)", division=division, department=department)
    )
    sheet["A2"].font = Font(size=12, bold=True)
    sheet["A3"] = _(
        "Made on %(date)s; %(count)s procedures. Fill in the yellow columns; the other cells "
        "are protected. See the sheet “%(sheet)s”.",
        date=(today or clock.today()).isoformat(),
        count=i18n.number(len(rows)),
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
    name_column = COLUMNS.index(_column("name")) + 2
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=name_column).coordinate
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last_row}"
    # Protected without a password: it guards against slips, not against a determined user.
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    print_on_a4(sheet, header_row=HEADER_ROW)
    _instructions_sheet(workbook, fiscal_year=fiscal_year, title=title, language=language)
    workbook.security = WorkbookProtection(lockStructure=True)
    _mark(workbook, fiscal_year=fiscal_year, division_id=surveyed.division_id, city=city)
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


def _validation(
    kind: Literal["list", "whole"],
    formula: str,
    *,
    title: str,
    error: str,
    prompt: str,
    operator: Literal["greaterThanOrEqual"] | None = None,
    error_style: Literal["warning"] | None = None,
) -> DataValidation:
    """Return a data validation that allows a blank cell and shows its title and messages."""
    validation = DataValidation(
        type=kind, operator=operator, formula1=formula, errorStyle=error_style
    )
    validation.allowBlank = validation.showErrorMessage = validation.showInputMessage = True
    # Excel calls a workbook corrupt when a title passes 32 characters or a message 255.
    validation.errorTitle = validation.promptTitle = title[:32]
    validation.error, validation.prompt = error[:225], prompt[:255]
    return validation


def _add_validations(sheet: Worksheet, fiscal_year: int, language: str, last_row: int) -> None:
    def cells(source: str) -> str:
        letter = get_column_letter(COLUMNS.index(_column(source)) + 1)
        return f"{letter}{HEADER_ROW + 1}:{letter}{last_row}"

    yes, no = VISIT_WORDS[language]
    visit = _validation(
        "list",
        _list_formula([yes, no]),
        title=_("Visit required"),
        error=_("Choose %(yes)s or %(no)s from the list, or leave it blank.", yes=yes, no=no),
        prompt=_("%(yes)s or %(no)s. Blank: not known.", yes=yes, no=no),
    )
    volume = _validation(
        "whole",
        "0",
        operator="greaterThanOrEqual",
        title=_("Annual volume"),
        error=_("Enter a whole number of 0 or more, or leave it blank when it is not known."),
        prompt=_(
            "Applications in %(era)s. Blank: not known (0 means none).",
            era=_fiscal_year_label(fiscal_year - 1, language),
        ),
    )
    years = _validation(
        "list",
        _list_formula(_fiscal_year_label(y, language) for y in _volume_years(fiscal_year)),
        title=_("Fiscal year of the volume"),
        error=_("Choose the fiscal year from the list."),
        prompt=_("The fiscal year the annual volume counts."),
    )
    # A warning, not a stop: several blockers are typed into one cell, separated by 、.
    blockers = _validation(
        "list",
        _list_formula(str(text) for text in BLOCKERS.values()),
        error_style="warning",
        title=_("Blockers"),
        error=_(
            "Choose from the list. Several blockers: separate them with “%(separator)s”.",
            separator=BLOCKER_SEPARATORS[language].strip(),
        ),
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
    # Workbook has custom_doc_props since openpyxl 3.1; the types-openpyxl stubs lack it.
    properties = workbook.custom_doc_props  # type: ignore[attr-defined]
    properties.append(
        StringProperty(name=MARKER_PROPERTY, value=json.dumps(marker, ensure_ascii=False))
    )
    properties.append(StringProperty(name=COLUMNS_PROPERTY, value=columns))


def division_survey(
    session: Session,
    *,
    fiscal_year: int,
    division_id: int,
    city: str,
    user_id: int | None,
    language: str,
    record: bool = True,
) -> tuple[str, bytes]:
    """Generate one division's workbook, record it as sent (unless not `record`), and return
    (file name, bytes)."""
    found = _surveyed_divisions(session, [division_id])
    if not found:
        raise LookupError(division_id)
    surveyed = found[0]
    content = survey_workbook(surveyed, fiscal_year=fiscal_year, city=city, language=language)
    if record:
        record_generated(
            session, fiscal_year=fiscal_year, division_ids=[division_id], user_id=user_id
        )
    return survey_file_name(fiscal_year, surveyed.division), content


def all_surveys_zip(
    session: Session,
    *,
    fiscal_year: int,
    city: str,
    user_id: int | None,
    language: str,
    record: bool = True,
) -> tuple[str, bytes, int]:
    """Generate every division's workbook into one zip; return (file name, bytes, workbooks).

    Unless not `record`, the workbooks are recorded as sent.

    Divisions without an active procedure get no workbook: there is nothing to ask them.
    """
    buffer = io.BytesIO()
    written: list[int] = []
    # Each member dated in Japan time: a zip keeps a local time with no zone, and the
    # server's clock (UTC) would date it the day before from 15:00 UTC on.
    made = clock.japan_now().timetuple()[:6]
    # The workbooks are zip files already: storing them again is as small and much faster.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for surveyed in _surveyed_divisions(session):
            if not surveyed.rows:
                continue
            content = survey_workbook(
                surveyed, fiscal_year=fiscal_year, city=city, language=language
            )
            department, division = _safe(surveyed.department), _safe(surveyed.division)
            member = zipfile.ZipInfo(f"{len(written) + 1:03d}_{department}_{division}.xlsx", made)
            member.external_attr = 0o600 << 16  # as writestr gives a member named by text
            archive.writestr(member, content)
            written.append(surveyed.division_id)
    if record:
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
