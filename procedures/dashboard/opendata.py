"""The open-data list of procedures: public fields only, for the city's open-data catalogue.

Only the columns of :data:`PUBLIC_COLUMNS` are ever selected from the database, so internal
judgements (verdict and its reason, blockers, notes, visit reasons, the plan) cannot leak into
the files. Retired procedures are left out. CSV: UTF-8 with BOM (Excel opens it correctly),
Japanese column names and values by default, English on request; every cell that Excel would
evaluate is neutralised. JSON: English keys (documented in the file itself) and plain values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from procedures.core import clock
from procedures.core.spreadsheets import neutralise
from procedures.models import Department, Division, Lifecycle, Procedure

#: (JSON key, CSV header in Japanese, CSV header in English, description for the JSON file).
PUBLIC_COLUMNS = (
    ("department", "部", "Department", "Department (部) that runs the procedure"),
    ("division", "課", "Division", "Division (課) that runs the procedure"),
    ("name", "手続名", "Procedure", "Name of the procedure"),
    ("legal_basis", "根拠法令", "Legal basis", "Law or by-law the procedure rests on"),
    (
        "online_status",
        "オンライン化の状況",
        "Online status",
        "done, partial, not_done, excluded, other (national codes 1, 5, 2, 3, 4); null: unknown",
    ),
    (
        "channel",
        "申請チャネル",
        "Channel",
        "How it can be applied for online, when it can: pittari (My Number Portal, Pittari "
        "Service), city_eapp (the city's e-application service), konbini (convenience-store "
        "issuance), private (a private service), or the division's own words; null: unknown",
    ),
    ("fee_required", "手数料の有無", "Fee", "Whether a fee is charged; null: unknown"),
)

#: Online status as the national inventory words it (Japanese) and in English.
ONLINE_STATUS_TEXT = {
    "done": ("実施済", "Online"),
    "partial": ("一部実施済", "Partly online"),
    "not_done": ("未実施", "Not online"),
    "excluded": ("適用除外", "Exempt"),
    "other": ("その他", "Other"),
}
#: The channel codes the app stores; any other channel is free text and stays as written.
CHANNEL_TEXT = {
    "pittari": ("ぴったりサービス（マイナポータル）", "My Number Portal (Pittari Service)"),
    "city_eapp": ("電子申請サービス", "City e-application service"),
    "konbini": ("コンビニ交付", "Convenience-store issuance"),
    "private": ("民間サービス", "Private service"),
}
FEE_TEXT = {True: ("有", "yes"), False: ("無", "no"), None: ("", "")}

LANGUAGES = ("ja", "en")


def public_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Yield the public fields of every procedure not retired, by department, division, order."""
    query = (
        select(
            col(Department.name),
            col(Division.name),
            col(Procedure.name),
            col(Procedure.legal_basis),
            col(Procedure.online_status),
            col(Procedure.channel),
            col(Procedure.fee_required),
        )
        .select_from(Procedure)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(col(Procedure.lifecycle) != Lifecycle.retired)
        .order_by(col(Department.id), col(Division.id), col(Procedure.id))
    )
    keys = [column[0] for column in PUBLIC_COLUMNS]
    for values in session.execute(query.execution_options(yield_per=2000)):
        row = dict(zip(keys, values, strict=True))
        if row["online_status"] is not None:
            row["online_status"] = str(row["online_status"])
        yield row


def _text(row: dict[str, Any], language: str) -> list[Any]:
    index = LANGUAGES.index(language)
    status = row["online_status"]
    channel = row["channel"]
    return [
        row["department"],
        row["division"],
        row["name"],
        row["legal_basis"] or "",
        ONLINE_STATUS_TEXT[status][index] if status in ONLINE_STATUS_TEXT else (status or ""),
        CHANNEL_TEXT[channel][index] if channel in CHANNEL_TEXT else (channel or ""),
        FEE_TEXT[row["fee_required"]][index],
    ]


def opendata_csv(session: Session, *, language: str = "ja") -> bytes:
    """Write the open-data list as CSV in UTF-8 with BOM; headers and values in the language."""
    index = 1 if language == "ja" else 2
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column[index] for column in PUBLIC_COLUMNS])
    for row in public_rows(session):
        writer.writerow([neutralise(value) for value in _text(row, language)])
    return buffer.getvalue().encode("utf-8-sig")


def opendata_json(session: Session, *, city: str, today: date | None = None) -> bytes:
    """Write the open-data list as JSON: the city, the date, the fields explained, the rows."""
    document = {
        "municipality": city,
        "date": (today or clock.today()).isoformat(),
        "fields": {key: description for key, _ja, _en, description in PUBLIC_COLUMNS},
        "procedures": list(public_rows(session)),
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
