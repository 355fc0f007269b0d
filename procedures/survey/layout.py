"""The survey workbook's layout, shared by the workbook writer and the reader of returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

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
