"""The inventory in the national survey's 令和7年度 layout, and what cannot be written as codes.

Each field maps to the national code of ``importers/national_r7.json``; where reading that code
back would give something else (a finer kind, 5 一部実施済, several blockers, a year outside the
list), the code goes in the cell and the city's value into the column's 補足 as
``【column】value``, which the importer reads back (importers/national.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from importers import steps as S
from importers import values as V
from importers.national import STEPS_HEADER, Layout, detail_text, load_layout, steps_detail
from importers.value_words import load_value_words
from procedures.catalogue.procedures import UNASSIGNED_DEPARTMENT, blockers_from_column
from procedures.core.spreadsheets import FORMULA_PREFIXES, workbook_bytes
from procedures.models import Department, Division, ExtraHeader, Lifecycle, Procedure

#: The fields read per procedure, in the order of a query row.
_FIELDS = (
    "id", "code", "name", "legal_basis", "kind", "applicant", "life_events", "annual_volume",
    "online_volume", "offline_volume", "volume_fiscal_year", "visit_required", "visit_reason",
    "fee_required", "fee_payment", "attachments", "originals_required", "seal_required",
    "identity_check", "mynaportal_eligible", "online_status", "channel", "verdict",
    "verdict_reason", "blockers", "target_fiscal_year", "done_fiscal_year", "notes", "extra",
    "steps", "raw_values",
)  # fmt: skip


#: Single-valued fields written as one code: (column, field, the importer's reader of it).
_CODED: tuple[tuple[str, str, Callable[[Any], tuple[Any, Any]]], ...] = (
    ("手続類型", "kind", V.kind),
    ("手続主体", "applicant", V.applicant),
    ("オンライン化の実施状況", "online_status", V.online_status),
    ("申請等における本人確認手法", "identity_check", V.identity_check),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """A value of one procedure that could not be written as a code of its column."""

    procedure_id: int
    name: str
    division: str
    column: str
    #: not_a_code / several_values / not_read_back
    reason: str
    value: str


class _Row:
    """One procedure's cells and 補足 segments while it is being written."""

    __slots__ = ("cells", "segments")

    def __init__(self) -> None:
        self.cells: dict[str, Any] = {}
        self.segments: dict[str, list[tuple[str, str]]] = {}

    def detail(self, layout: Layout, header: str, value: str) -> None:
        self.segments.setdefault(layout.detail_of(header), []).append((header, value))


def _text(value: Any) -> Any:
    if value.__class__ is str and value and value[0] in FORMULA_PREFIXES:
        return "'" + value
    return value


class NationalWriter:
    """Turn procedures into rows of the national layout; collect what is not a code."""

    def __init__(self, session: Session) -> None:
        self.layout = load_layout()
        self.codes = self.layout.city_codes
        self.headers = {
            str(i): text
            for i, text in session.execute(select(col(ExtraHeader.id), col(ExtraHeader.text)))
        }
        self.findings: list[Finding] = []
        self._memo: dict[tuple[str, Any], tuple[Any, str | None, str | None]] = {}
        self._steps_memo: dict[tuple[Any, ...], str | None] = {}
        #: Each stored steps text in its normal form ("" for none), computed once.
        self._stored: dict[str | None, str] = {}
        self._whole_columns(session)
        # The Japanese label of a channel code, which the importer reads back as the code.
        labels = load_value_words()["channel"]["labels"]
        self.channels = {code: label for label, code in reversed(labels.items())}

    def _whole_columns(self, session: Session) -> None:
        """Decide which city fields need a column of their own in every row.

        The importer implies 押印 from 本人確認手法 and 来庁 from 縦覧等 only where the file has no
        such column, and carries a blank 部 down from the row above: once one procedure needs
        the column, every procedure writes its value.
        """
        named = session.execute(
            select(col(Department.name))
            .where(col(Department.name) != UNASSIGNED_DEPARTMENT)
            .limit(1)
        ).first()
        self.with_department = named is not None
        combos = session.execute(
            select(
                col(Procedure.kind),
                col(Procedure.visit_required),
                col(Procedure.identity_check),
                col(Procedure.seal_required),
            ).distinct()
        ).all()
        seal = V.SEAL_BY_IDENTITY
        self.with_seal = any(
            s != (seal.get(i) if i is not None else None) for _k, _v, i, s in combos
        ) or _words_kept(session, "seal_required")
        self.with_visit = any(
            v != (True if k == "inspection" else None) for k, v, _i, _s in combos
        ) or _words_kept(session, "visit_required")

    # -- one value, its code and what reading the code back gives ----------------------------

    def _coded(
        self,
        column: str,
        value: Any,
        code: str | None,
        reader: Callable[[Any], tuple[Any, Any]],
        words: str | None,
    ) -> tuple[Any, str | None, str | None]:
        """Return (cell, detail, finding reason) for a value written as `code`."""
        key = (column, value)
        if key not in self._memo:
            detail = reason = None
            if code is None:
                detail, reason = (words or str(value)), "not_a_code"
            elif reader(code)[0] != value:
                detail = words or str(value)
                if reader(detail)[0] != value:
                    reason = "not_read_back"
            self._memo[key] = (code, detail, reason)
        return self._memo[key]

    def _code(
        self, row: _Row, record: Any, column: str, name: str, value: str, reader: Callable
    ) -> None:
        """Write a single-valued field as its national code (city_codes[name])."""
        typed = int(value) if name == "identity_check" else value
        words = self.codes.get(f"{name}_words", {}).get(value)
        found = self._coded(column, typed, self.codes[name].get(value), reader, words)
        self._put(row, record, column, typed, found)

    def _put(self, row: _Row, record: Any, column: str, value: Any, found: tuple) -> None:
        cell, detail, reason = found
        row.cells[column] = cell
        if detail is not None:
            row.detail(self.layout, column, detail)
        if reason is not None:
            self._finding(record, column, reason, value)

    def _finding(self, record: Any, column: str, reason: str, value: Any) -> None:
        self.findings.append(
            Finding(record.id, record.name, record.division, column, reason, str(value))
        )

    # -- the row -------------------------------------------------------------------------------

    def row(self, record: Any) -> list[Any]:
        """Return one procedure's cells in the order of the national columns."""
        layout, codes, row = self.layout, self.codes, _Row()
        cells = row.cells
        cells["手続ID"] = record.code or f"{layout.local_id_prefix}{record.id:06d}"
        cells["所管府省庁"] = _text(record.division)
        cells["手続名"] = _text(record.name)
        cells["法令名"] = _text(record.legal_basis)
        if self.with_department:
            row.detail(layout, "部", record.department)
        for column, name, reader in _CODED:
            value = getattr(record, name)
            if value is not None:
                self._code(row, record, column, name, str(value), reader)
        self._blockers(row, record)
        self._years(row, record)
        if record.fee_required is not None:
            cells["手数料等の納付有無"] = codes["fee_required"][str(record.fee_required).lower()]
        self._listed(row, record, "手数料等の納付方法", record.fee_payment, self._payment_code)
        self._listed(
            row, record, "申請時に添付させる書類", record.attachments, self._attachment_code
        )
        self._listed(
            row, record, "手続が行われるイベント(個人)", record.life_events, self._event_code
        )
        if record.originals_required is not None:
            cells["添付書類等の提出方法"] = codes["originals_required"][
                str(record.originals_required).lower()
            ]
        if record.channel:
            cells["情報システム(申請)"] = _text(self.channels.get(record.channel, record.channel))
        cells["総手続件数"] = record.annual_volume
        cells["オンライン手続件数"] = record.online_volume
        cells["非オンライン手続件数"] = record.offline_volume
        self._extras(row, record)
        self._city_fields(row, record)
        if record.raw_values:
            self._words(row, record)
        self._steps(row, record)
        return self._cells(row)

    def _cells(self, row: _Row) -> list[Any]:
        out = []
        for column in self.layout.columns:
            if column.detail:
                out.append(row.cells.get(column.name))
                continue
            free = row.cells.get(column.name) or ""
            segments = row.segments.get(column.name, [])
            out.append(_text(detail_text(free, segments)) if free or segments else None)
        return out

    def _blockers(self, row: _Row, record: Any) -> None:
        column = "オンライン化の実施予定及び検討時の懸念点"
        keys = tuple(blockers_from_column(record.blockers))
        if not keys:
            if record.target_fiscal_year is not None and record.online_status != "done":
                row.cells[column] = self.codes["no_blocker_planned"]
            return
        key = ("blockers", keys)
        if key not in self._memo:
            mapped, words = self.codes["blockers"], self.codes["blocker_words"]
            national = {mapped[k] for k in keys if k in mapped}
            order = self.layout.single_value[column]
            chosen = next((c for n in order for c in national if c.split(" ", 1)[0] == n), None)
            detail = reason = None
            if chosen is None or tuple(V.blockers(chosen)[0]) != keys:
                detail = "; ".join(words.get(k, k) for k in keys)
                if any(k not in mapped for k in keys):
                    reason = "not_a_code"
                elif tuple(V.blockers(detail)[0]) != keys:
                    reason = "not_read_back"
            self._memo[key] = (chosen, detail, reason)
        self._put(row, record, column, record.blockers, self._memo[key])

    def _years(self, row: _Row, record: Any) -> None:
        year = record.target_fiscal_year
        if year is not None:
            table = self.codes["target_fiscal_year"]
            code = table.get(str(year)) or table["later" if year > 2029 else "earlier"]
            found = self._coded("オンライン化実施時期", year, code, V.fiscal_year, f"{year}年度")
            self._put(row, record, "オンライン化実施時期", year, found)
        if record.done_fiscal_year is not None:
            row.detail(self.layout, "実施年度", f"{record.done_fiscal_year}年度")

    # -- multi-valued text columns: codes from words, the city's text as the detail ------------

    def _listed(
        self, row: _Row, record: Any, column: str, text: str | None, code_of: Callable
    ) -> None:
        if not text:
            return
        key = (column, text)
        if key not in self._memo:
            parts = [p for p in (s.strip() for s in text.split(";")) if p]
            national = list(dict.fromkeys(code_of(p) for p in parts))
            exact = [self.layout.column(column).code_of(p) for p in parts]
            if all(exact):  # codes of the list already (compared after NFKC, as imported)
                self._memo[key] = (self.layout.separator.join(map(str, exact)), None, None)
            else:
                self._memo[key] = (self.layout.separator.join(national), text, None)
        self._put(row, record, column, text, self._memo[key])

    def _payment_code(self, part: str) -> str:
        listed = self.layout.column("手数料等の納付方法").code_of(part)
        if listed:
            return listed
        lowered = part.lower()
        for word, code in self.codes["payment_words"]:
            if word in lowered:
                return str(code)
        status = S.payment_methods(part)[0]
        return str(self.codes["payment_other"]["online" if status == "online" else "offline"])

    def _attachment_code(self, part: str) -> str:
        listed = self.layout.column("申請時に添付させる書類").code_of(part)
        if listed:
            return listed
        if S.says_none(part):
            return str(self.codes["attachment_none"])
        for word, code in self.codes["attachment_words"]:
            if word in part:
                return str(code)
        return str(self.codes["attachment_other"])

    def _event_code(self, part: str) -> str:
        events = self.codes["life_events"]
        return str(events.get(part, self.codes["life_event_other"]))

    # -- columns of the imported sheet kept with the procedure ---------------------------------

    def _extras(self, row: _Row, record: Any) -> None:
        if not record.extra:
            return
        layout = self.layout
        for header_id, text in json.loads(record.extra).items():
            header = self.headers.get(header_id)
            if header is None or not text:
                continue
            if header == "実施府省庁" and layout.separator in text:
                # R6 listed every ministry of a shared procedure here; R7 has a column for them.
                row.cells["実施府省庁"] = _text(text.split(layout.separator, 1)[0])
                row.cells["実施府省庁(府省共通手続)"] = _text(text)
            elif header == "府省共通手続" and text in self.codes["shared_procedure"]:
                row.cells[header] = self.codes["shared_procedure"][text]
            elif header in layout.detail_columns:
                row.cells[header] = text
            elif header in layout.by_name:
                self._extra_cell(row, record, header, text)
            else:
                row.detail(layout, header, text)

    def _extra_cell(self, row: _Row, record: Any, header: str, text: str) -> None:
        column = self.layout.column(header)
        if not column.codes:
            row.cells[header] = _text(text)
            return
        key = (header, text)
        if key not in self._memo:
            parts = [p.strip() for p in text.split(";") if p.strip()]
            found = [column.code_of(p) for p in parts]
            listed = [c for c in found if c]
            detail = reason = None
            if len(listed) < len(parts):
                detail, reason = text, "not_a_code"
            if not column.multi_value and len(listed) > 1:
                order = self.layout.single_value.get(header)
                detail = text
                if order:
                    numbers = {c.split(" ", 1)[0]: c for c in listed}
                    listed = [next(numbers[n] for n in order if n in numbers)]
                else:
                    listed, reason = listed[:1], reason or "several_values"
            self._memo[key] = (self.layout.separator.join(listed) or None, detail, reason)
        self._put(row, record, header, text, self._memo[key])

    # -- what the national layout has no column for -------------------------------------------

    def _city_fields(self, row: _Row, record: Any) -> None:
        layout, codes = self.layout, self.codes
        yes_no = codes["yes_no_words"]
        if self.with_visit and record.visit_required is not None:
            row.detail(layout, "来庁の要否", yes_no[str(record.visit_required).lower()])
        if record.visit_reason:
            row.detail(layout, "来庁が必要な理由", record.visit_reason)
        # R7 counts are of one fiscal year without saying which; the city's year rides along.
        if record.volume_fiscal_year is not None:
            row.detail(layout, "件数の年度", str(record.volume_fiscal_year))
        if self.with_seal and record.seal_required is not None:
            row.detail(layout, "押印・署名の要否", yes_no[str(record.seal_required).lower()])
        if record.mynaportal_eligible:
            row.detail(layout, "マイナポータル対象", codes["mynaportal_word"])
        verdict = codes["verdict_words"].get(str(record.verdict))
        if verdict:
            row.detail(layout, "オンライン化の可否", verdict)
        if record.verdict_reason:
            row.detail(layout, "判断理由", record.verdict_reason)
        if record.notes:
            row.detail(layout, "備考", record.notes)

    def _words(self, row: _Row, record: Any) -> None:
        """Write back the words a division wrote that were not understood (the field unknown)."""
        headers = self.layout.raw_headers
        for name, words in json.loads(record.raw_values).items():
            value = getattr(record, name, None)
            unknown = value is None or value == "" or (name == "mynaportal_eligible" and not value)
            if name in headers and unknown:
                row.detail(self.layout, headers[name], str(words))

    def _steps(self, row: _Row, record: Any) -> None:
        """Name the steps in the 補足 when the written codes would tell other ones."""
        stored = self._stored.get(record.steps)
        if stored is None:
            stored = self._stored[record.steps] = S.encode(S.decode(record.steps)) or ""
        cells = row.cells
        key = (
            stored,
            record.online_status,
            record.identity_check,
            record.seal_required if self.with_seal else None,
            record.fee_required,
            record.fee_payment,
            record.attachments,
            cells.get("添付書類等の提出方法"),
            cells.get("添付書類等提出の撤廃/省略状況"),
        )
        if key not in self._steps_memo:
            self._steps_memo[key] = self._steps_differ(key)
        if self._steps_memo[key] is not None:
            row.detail(self.layout, STEPS_HEADER, steps_detail(stored or None))

    def _steps_differ(self, key: tuple[Any, ...]) -> str | None:
        stored, status, identity, seal, fee, payment, attachments, submission, waived = key
        if seal is None and identity is not None and not self.with_seal:
            seal = V.SEAL_BY_IDENTITY.get(identity)
        facts = S.Facts(
            online_status=status,
            identity_check=identity,
            seal_required=seal,
            fee_required=fee,
            payment=S.payment_methods(payment)[0] if payment else None,
            attachments_none=bool(attachments) and S.says_none(attachments),
            originals_required=V.originals_required(submission)[0] if submission else None,
            originals_from_submission=True,
            waived=S.waived(waived)[0] if waived else None,
        )
        return None if (S.derived_text(facts) or "") == stored else "differs"


def _words_kept(session: Session, field_name: str) -> bool:
    """Tell whether some procedure keeps words not understood for a field."""
    pattern = f'%"{field_name}"%'
    query = select(col(Procedure.id)).where(col(Procedure.raw_values).like(pattern)).limit(1)
    return session.execute(query).first() is not None


def _query() -> Any:
    columns: list[Any] = [getattr(Procedure, name) for name in _FIELDS]
    columns += [
        col(Division.name).label("division"),
        col(Department.name).label("department"),
    ]
    return (
        select(*columns)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(col(Procedure.lifecycle) != Lifecycle.retired)
        .order_by(col(Department.id), col(Division.id), col(Procedure.code), col(Procedure.id))
    )


def national_rows(session: Session, writer: NationalWriter) -> Iterator[list[Any]]:
    """Yield every procedure not retired as a row of the national layout."""
    result = session.connection().execute(_query().execution_options(yield_per=2000))
    for record in result:
        yield writer.row(record)


def national_workbook(session: Session) -> bytes:
    """Write the inventory in the national 令和7年度 layout as .xlsx, in write-only mode."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from openpyxl import Workbook

    writer = NationalWriter(session)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("手続一覧")
    sheet.freeze_panes = "A2"
    sheet.append(writer.layout.names)
    for values in national_rows(session, writer):
        sheet.append(values)
    return workbook_bytes(workbook)


def national_findings(session: Session) -> list[Finding]:
    """Return every value the export cannot write as a code of its column."""
    writer = NationalWriter(session)
    for _row in national_rows(session, writer):
        pass
    return writer.findings
