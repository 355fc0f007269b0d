"""A returned survey workbook: recognised by its marker, compared, recorded as answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session, col

from importers import survey_marker
from importers.results import InventoryRefused, ReadLimits
from importers.schema import FIELDS
from procedures.catalogue.procedures import name_key
from procedures.imports.preview import unquote_formula
from procedures.models import (
    Division,
    DivisionSurvey,
    ImportBatch,
    Lifecycle,
    Procedure,
    utcnow,
)
from procedures.survey.layout import (
    COLUMNS,
    COLUMNS_PROPERTY,
    MARKER_KIND,
    MARKER_PROPERTY,
    MARKER_VERSION,
    MAX_PROPERTIES_BYTES,
)
from procedures.vocabulary import japanese_fiscal_year


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


def _survey_rows(
    session: Session, fiscal_year: int, division_ids: list[int]
) -> list[DivisionSurvey]:
    existing = {
        survey.division_id: survey
        for survey in session.execute(
            select(DivisionSurvey).where(
                col(DivisionSurvey.fiscal_year) == fiscal_year,
                col(DivisionSurvey.division_id).in_(division_ids),
            )
        ).scalars()
    }
    return [
        existing.get(ident) or DivisionSurvey(fiscal_year=fiscal_year, division_id=ident)
        for ident in division_ids
    ]


#: Fiscal years a survey marker may name: those the Survey page makes workbooks for.
FISCAL_YEARS = range(2000, 2101)
#: Division ids a marker may name (PostgreSQL's INTEGER): a larger number is no division, and
#: looking it up would overflow the database's integer.
DIVISION_IDS = range(1, 2**31)
#: Rows a marker's header row may name: Excel's.
HEADER_ROWS = range(1, 1_048_577)


def _marked(content: bytes) -> tuple[dict[str, Any], list[str]] | None:
    """Return the marker and column fields of a workbook marked as a survey, sound or not."""
    found = survey_marker.read_marker(
        content,
        marker=MARKER_PROPERTY,
        columns=COLUMNS_PROPERTY,
        max_bytes=MAX_PROPERTIES_BYTES,
    )
    if found is None or found[0].get("kind") != MARKER_KIND:
        return None
    return found


def _whole_number_in(value: Any, allowed: range) -> bool:
    # bool is an int to Python, and JSON's true is no year, division or row
    return isinstance(value, int) and not isinstance(value, bool) and value in allowed


def _sound(marker: dict[str, Any]) -> bool:
    """Whether a marker's fields are what the survey workbook writes: numbers where numbers go."""
    sheet = marker.get("sheet")
    return (
        _whole_number_in(marker.get("fy"), FISCAL_YEARS)
        and _whole_number_in(marker.get("division"), DIVISION_IDS)
        and _whole_number_in(marker.get("row"), HEADER_ROWS)
        and isinstance(sheet, str)
        and bool(sheet)
        and (marker.get("city") is None or isinstance(marker.get("city"), str))
    )


def read_marker(content: bytes) -> tuple[dict[str, Any], list[str]] | None:
    """Return the survey marker and the column fields of a workbook, or None if it has none.

    None too for a marker whose fields are not what the survey workbook writes (a year, a
    division or a row that is no whole number in its range): ``recognise`` refuses such a file.
    """
    found = _marked(content)
    if found is None or not _sound(found[0]):
        return None
    return found


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
        select(col(Procedure.id), col(Procedure.code), col(Procedure.name)).where(
            col(Procedure.division_id) == division_id,
            col(Procedure.lifecycle) == Lifecycle.active,
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
    session: Session,
    content: bytes,
    *,
    city: str,
    own_division_id: int | None = None,
    limits: ReadLimits | None = None,
) -> SurveyFile | None:
    """Recognise a returned survey workbook; None when the file is not one.

    With `own_division_id` (a division user), a workbook of another division is refused.
    Raises SurveyRefused with a message for the person when it cannot be taken back. A
    workbook the importer refuses to expand (too large, a sheet spanning too many cells,
    damaged) is None too: the import that follows refuses it with the importer's message.
    """
    limits = limits or ReadLimits()
    if len(content) > limits.max_bytes:
        return None  # the import that follows refuses it as too large, before reading it
    found = _marked(content)
    if found is None:
        return None
    marker, fields = found
    if not _sound(marker) or any(field and field not in FIELDS for field in fields):
        raise SurveyRefused(
            _(
                "The survey marker of this workbook was changed or is damaged, so it cannot be "
                "read. Download a new workbook from the Survey page and copy the answers into it."
            )
        )
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
    assert division.id is not None  # a stored division
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
    header_row = marker["row"]
    try:
        rows = survey_marker.sheet_rows(
            content,
            str(marker.get("sheet", "")),
            file_name="survey.xlsx",
            limits=limits,
        )
    except InventoryRefused:
        return None
    # The header row only once the sheet is known to reach it (a sheet may be shorter).
    headers = (
        [_text(value) for value in rows[header_row - 1]] if rows and len(rows) >= header_row else []
    )
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
