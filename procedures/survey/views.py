"""The yearly survey: each division's workbook to fill in, and who has answered."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_login import current_user

from procedures.core import db
from procedures.core.auth import OFFICE_ROLES, UPLOAD_ROLES, roles_required
from procedures.core.downloads import XLSX
from procedures.core.i18n import select_locale
from procedures.core.params import int_param
from procedures.models import Role
from procedures.survey.status import current_fiscal_year, survey_status, survey_years
from procedures.vocabulary import japanese_fiscal_year

bp = Blueprint("survey", __name__, url_prefix="/survey")

#: Fiscal years a URL may name: anything else is a typo, not a survey.
YEARS = range(2000, 2101)


def _year(value: int | None) -> int:
    year = value if value is not None else current_fiscal_year()
    if year not in YEARS:
        abort(404)
    return year


@bp.route("/")
@roles_required(*UPLOAD_ROLES)
def overview():
    """List every division with its survey state; a division user sees its own."""
    session = db.session()
    fiscal_year = _year(int_param(request.args, "year"))
    own = current_user.division_id if current_user.role == Role.division else None
    if current_user.role == Role.division and own is None:
        abort(403)
    rows = survey_status(session, fiscal_year=fiscal_year, division_id=own)
    asked = sum(1 for row in rows if row.procedures)
    waiting = sum(1 for row in rows if row.procedures and not row.answered)
    pending = own is None and request.args.get("pending") == "1"
    if pending:
        rows = [row for row in rows if row.procedures and not row.answered]
    return render_template(
        "survey/overview.html",
        rows=rows,
        survey_year=fiscal_year,
        era=japanese_fiscal_year(fiscal_year),
        last_era=japanese_fiscal_year(fiscal_year - 1),
        years=survey_years(session),
        answered=asked - waiting,
        asked=asked,
        waiting=waiting,
        own=own,
        pending=pending,
    )


@bp.route("/<int:fiscal_year>/<int:division_id>.xlsx", methods=["GET", "POST"])
@roles_required(*UPLOAD_ROLES)
def download(fiscal_year: int, division_id: int):
    """Download one division's workbook (a division user: only its own).

    The page's button POSTs: the workbook is then recorded as made, by whom and when. A GET
    (a link kept from elsewhere) gives the same file and writes nothing.
    """
    fiscal_year = _year(fiscal_year)
    if current_user.role == Role.division and division_id != current_user.division_id:
        abort(403)
    # Loaded when first used (it loads openpyxl): keeps the CLI's start-up close to the bare
    # framework.
    from procedures.survey.workbook import division_survey

    session = db.session()
    try:
        file_name, content = division_survey(
            session,
            fiscal_year=fiscal_year,
            division_id=division_id,
            city=current_app.config["CITY_NAME"],
            user_id=current_user.id,
            language=select_locale(),
            record=request.method == "POST",
        )
    except LookupError:
        abort(404)
    db.commit()
    return send_file(
        io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=file_name
    )


@bp.route("/<int:fiscal_year>/all.zip", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def download_all(fiscal_year: int):
    """Download every division's workbook in one zip, a file per division (recorded on POST)."""
    fiscal_year = _year(fiscal_year)
    from procedures.survey.workbook import all_surveys_zip  # loaded when first used, as above

    session = db.session()
    file_name, content, _count = all_surveys_zip(
        session,
        fiscal_year=fiscal_year,
        city=current_app.config["CITY_NAME"],
        user_id=current_user.id,
        language=select_locale(),
        record=request.method == "POST",
    )
    db.commit()
    return send_file(
        io.BytesIO(content), mimetype="application/zip", as_attachment=True, download_name=file_name
    )
