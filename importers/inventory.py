"""The public entry point: an uploaded inventory file in, normalised procedure rows out.

No Flask, no database: ``parse_inventory(content, file_name)`` returns a ParsedInventory or
raises InventoryRefused. Every data row is accounted for: it is either in ``rows`` of its sheet
or has an error Problem with its row number.
"""

from __future__ import annotations

import bisect
import gc
from collections.abc import Callable
from functools import lru_cache, partial
from itertools import compress, repeat
from typing import Any

from importers import national
from importers import steps as S
from importers import text as T
from importers import values as V
from importers.decisions import (
    DECIDABLE,
    RAW_VALUES,
    SHOWN_ROWS,
    RawWords,
    Unrecognised,
    ValueMap,
    typed,
    value_key,
)
from importers.headers import (
    FIELDS,
    HeaderLayout,
    column_letter,
    detect_header,
    header_signature,
    normalise_header,
    year_in_header,
)
from importers.messages import MESSAGES, SEVERITY_ERROR, SEVERITY_WARNING
from importers.readers import RawSheet, read_workbook
from importers.results import (
    ABSENT,
    ColumnMapping,
    InventoryRefused,
    ParsedInventory,
    ParsedRow,
    Problem,
    ReadLimits,
    RowTable,
    SheetResult,
)

__all__ = [
    "ABSENT",
    "FIELDS",
    "MESSAGES",
    "ColumnMapping",
    "InventoryRefused",
    "ParsedInventory",
    "ParsedRow",
    "Problem",
    "ReadLimits",
    "RowTable",
    "SheetResult",
    "header_signature",
    "parse_inventory",
]

# Rows that close the table or sum it up (compared without spaces, after NFKC, lower case).
GRAND_TOTAL_WORDS = frozenset(
    ["合計", "総計", "総合計", "計", "全体計", "total", "grandtotal", "以上"]
)
SUBTOTAL_WORDS = frozenset(["小計", "部計", "課計", "局計", "subtotal", "中計"])
NOTE_PREFIXES = (
    "※", "*", "注)", "注:", "注.", "(注", "注記", "注意", "注1", "注2", "注3", "備考:",
    "note:", "notes:", "note)", "出典", "資料:", "source:", "凡例",
)  # fmt: skip

_LINE_FIELDS = ("department", "division", "legal_basis", "channel")
_BLOCK_FIELDS = ("visit_reason", "fee_payment", "attachments", "verdict_reason", "notes")
_CONVERTERS: dict[str, Callable[[Any], tuple[Any, Any]]] = {
    "code": V.code,
    "kind": V.kind,
    "applicant": V.applicant,
    "life_events": V.life_events,
    "volume_fiscal_year": V.fiscal_year,
    "target_fiscal_year": V.fiscal_year,
    "done_fiscal_year": V.fiscal_year,
    "originals_required": V.originals_required,
    "seal_required": V.seal_required,
    "identity_check": V.identity_check,
    "mynaportal_eligible": V.mynaportal_eligible,
    "online_status": V.online_status,
    "verdict": V.verdict,
    "blockers": V.blockers,
}
_EMPTY: dict[str, Any] = {
    **{f: "" for f in ("code", "name", *_LINE_FIELDS, *_BLOCK_FIELDS)},
    "life_events": [],
    "blockers": [],
}
_TEXT: dict[str, Callable[[Any], str]] = {
    "code": T.text_line,
    **{f: T.text_line for f in _LINE_FIELDS},
    **{f: T.text_block for f in _BLOCK_FIELDS},
}
_FILL_DOWN = ("department", "division")
VOLUMES = ("annual_volume", "online_volume", "offline_volume")
_DETAIL_MIN_DUPLICATES = 10
_DETAIL_SHARE = 0.3
_SAMPLE_ROWS = 1000


def _line(value: Any) -> tuple[str, None]:
    return T.text_line(value), None


def _block(value: Any) -> tuple[str, None]:
    return T.text_block(value), None


for _field in _LINE_FIELDS:
    _CONVERTERS[_field] = _line
for _field in _BLOCK_FIELDS:
    _CONVERTERS[_field] = _block
# A line like the others, except that the labels of the app's channel codes read as the code.
_TEXT["channel"] = V.channel
_CONVERTERS["channel"] = lambda value: (V.channel(value), None)


def parse_inventory(
    content: bytes,
    file_name: str,
    *,
    mapping: dict[str, str | None] | None = None,
    limits: ReadLimits = ReadLimits(),  # noqa: B008 - frozen, so a shared default is safe
    value_map: ValueMap | None = None,
) -> ParsedInventory:
    """Read an inventory file (.xlsx/.xlsm/.xls/.ods/.csv) into normalised procedure rows.

    ``mapping`` overrides the detected column mapping: header text (as in
    ColumnMapping.header) -> field name, or None to keep the column as extra.
    ``value_map`` holds a person's decisions on values the vocabulary does not decide
    (importers.decisions); the values left undecided are listed in each sheet's
    ``unrecognised``.
    Raises InventoryRefused when nothing can be imported from the file.
    """
    # Parsing allocates millions of small objects and frees none of them: the cyclic garbage
    # collector would walk them again and again for nothing (about +30 % on the national file).
    collecting = gc.isenabled()
    gc.disable()
    try:
        book = read_workbook(content, file_name, limits)
        problems = list(book.problems)
        file_format = book.file_format
        sheets = []
        for raw in book.sheets:
            sheets.append(_parse_sheet(raw, mapping, problems, value_map or {}))
            raw.rows = []  # free the cells now, before the collector is back on
        del book
    finally:
        if collecting:
            gc.enable()
    if not any(s.skipped_reason is None for s in sheets):
        if any(s.skipped_reason == "sheet_no_rows" for s in sheets):
            raise InventoryRefused("no_procedures", file_name=file_name)
        raise InventoryRefused("no_inventory_sheet", file_name=file_name)
    return ParsedInventory(file_name, file_format, sheets, problems)


def _skip(raw: RawSheet, code: str, problems: list[Problem], **params: Any) -> SheetResult:
    problems.append(Problem(SEVERITY_WARNING, code, {"sheet": raw.name, **params}, raw.name))
    return SheetResult(raw.name, None, [], [], skipped_reason=code)


def _display_headers(layout: HeaderLayout) -> list[str]:
    """Give blank headers their column letter and make duplicate headers unique."""
    shown: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(layout.headers):
        text = header or f"[{column_letter(index)}]"
        if text in seen:
            text = f"{text} [{column_letter(index)}]"
        seen.add(text)
        shown.append(text)
    return shown


def _apply_override(
    headers: list[str], fields: list[str | None], mapping: dict[str, str | None] | None
) -> None:
    """Apply the caller's mapping to the display headers ([D], "備考 [F]" …)."""
    if not mapping:
        return
    wanted = {normalise_header(k): v for k, v in mapping.items()}
    forced: dict[int, str | None] = {}
    for index, header in enumerate(headers):
        key = normalise_header(header)
        if key in wanted:
            forced[index] = wanted[key]
    targets = {v for v in forced.values() if v is not None}
    for index in range(len(fields)):
        if index in forced:
            fields[index] = forced[index]
        elif fields[index] in targets:
            fields[index] = None


def _parse_sheet(
    raw: RawSheet,
    mapping: dict[str, str | None] | None,
    problems: list[Problem],
    value_map: ValueMap,
) -> SheetResult:
    if not raw.is_worksheet:
        return _skip(raw, "sheet_not_worksheet", problems)
    rows = raw.rows
    if not any(not V.is_blank(v) for row in rows for v in row):
        return _skip(raw, "sheet_empty", problems)
    layout = detect_header(rows, raw.merges, mapping)
    if layout is None:
        return _skip(raw, "sheet_no_header", problems)
    national_steps: dict[int, str] = {}
    if national.is_national_layout(layout.headers):
        # The 補足 details of the national layout go back to their cells and fields first.
        unfolded = national.unfold(rows, layout.header_index)
        national_steps = {raw.row_number(r): text for r, text in unfolded.steps.items()}
        layout = detect_header(rows, raw.merges, mapping) or layout
    headers = _display_headers(layout)
    fields = list(layout.fields)
    _apply_override(headers, fields, mapping)
    if "name" not in fields:
        return _skip(raw, "sheet_no_header", problems)
    width = len(headers)
    start = layout.header_index + 1
    header_row = raw.row_number(layout.header_index)

    for r0, c0, r1, _c1 in raw.merges:  # a value merged down over rows fills each of them
        if r1 > r0 and r0 >= start and c0 < width and r0 < len(rows):
            anchor = rows[r0][c0] if c0 < len(rows[r0]) else ""
            for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
                if c0 < len(rows[r]) and V.is_blank(rows[r][c0]):
                    rows[r][c0] = anchor

    sheet_problems: list[Problem] = []
    unrecognised: list[Unrecognised] = []
    parsed = _read_rows(
        raw, rows, start, (headers, fields), layout, sheet_problems, (value_map, unrecognised)
    )
    accepted, data_rows, duplicates = parsed

    columns = [
        ColumnMapping(i, headers[i], fields[i], _samples(rows, start, i)) for i in range(width)
    ]
    signature = header_signature(layout.headers)
    if data_rows == 0:
        return _skip(raw, "sheet_no_rows", problems, row=header_row)
    if (
        duplicates
        and len(duplicates) >= _DETAIL_MIN_DUPLICATES
        and len(duplicates) >= (_DETAIL_SHARE * data_rows)
    ):
        code_header = headers[fields.index("code")]
        result = _skip(
            raw,
            "sheet_detail_table",
            problems,
            column=code_header,
            duplicates=len(duplicates),
            rows=data_rows,
        )
        result.columns = columns  # what was recognised, for the person reviewing the skip
        result.header_signature = signature
        return result
    for row_number, first_row, code, name in duplicates:
        sheet_problems.append(
            Problem(
                SEVERITY_WARNING,
                "duplicate_procedure",
                {"row": row_number, "first_row": first_row, "code": code, "name": name},
                raw.name,
                row_number,
                headers[fields.index("code")],
            )
        )
    for_column: dict[int, int] = {}
    if raw.formula_cells:  # only formulas in procedure rows matter, not in a total row
        data_numbers = {r.row for r in accepted} | {
            p.row for p in sheet_problems if p.code == "name_missing"
        }
        for r, c in raw.formula_cells:
            if r >= start and raw.row_number(r) in data_numbers:
                for_column[c] = for_column.get(c, 0) + 1
    for c, count in sorted(for_column.items()):
        header = headers[c] if c < width else f"[{column_letter(c)}]"
        sheet_problems.append(
            Problem(
                SEVERITY_WARNING,
                "formula_without_value",
                {"sheet": raw.name, "column": header, "count": count},
                raw.name,
                None,
                header,
            )
        )
    if national_steps:
        _set_steps(accepted, national_steps)
    sheet_problems.sort(key=lambda p: (p.row is not None, p.row or 0))  # sheet-wide first
    problems.extend(sheet_problems)
    return SheetResult(raw.name, header_row, columns, accepted, None, signature, unrecognised)


def _set_steps(accepted: list[ParsedRow], written: dict[int, str]) -> None:
    """Give the rows whose 補足 names their steps exactly those steps."""
    for row in accepted:
        if row.row not in written or row.table is None:
            continue
        column = row.table.fields.setdefault(
            S.STEPS_FIELD, [ABSENT] * len(row.table.fields["name"])
        )
        column[row.position] = national.read_steps_detail(written[row.row]) or ABSENT


def _samples(rows: list[list[Any]], start: int, column: int) -> list[str]:
    found: list[str] = []
    for row in rows[start : start + _SAMPLE_ROWS]:
        if column < len(row):
            value = row[column]
            if not V.is_blank(value):
                text = T.cell_text(value)
                if text:
                    found.append(text)
                    if len(found) == 3:
                        break
    return found


def _texts(row: list[Any], width: int) -> list[tuple[int, str]]:
    """Return (column, normalised text) of the non-empty cells of a row."""
    found = []
    for column, value in enumerate(row[:width]):
        if not V.is_blank(value):
            text = T.text_line(value)
            if text:
                found.append((column, text))
    return found


@lru_cache(maxsize=4096)
def _total_key(text: str) -> str:
    """Return a cell text as compared with the total words: lower case, no spaces, no (…)."""
    key = "".join(text.lower().split())
    return V.strip_brackets(key) or key


def _row_kind(
    texts: list[tuple[int, str]], serial: list[bool], section: set[int], name_col: int = -1
) -> str:
    """Classify a row: blank, note, total, subtotal, section, template or data."""
    if not texts:
        return "blank"
    first = texts[0][1]
    key = "".join(first.lower().split())
    totals = {_total_key(first)} | {_total_key(t) for c, t in texts if c == name_col}
    if totals & GRAND_TOTAL_WORDS:
        return "total"
    if totals & SUBTOTAL_WORDS:
        return "subtotal"
    if len(texts) <= 2 and key.startswith(NOTE_PREFIXES):
        return "note"
    if all(c in section for c, _ in texts):
        return "section"
    if all(c < len(serial) and serial[c] for c, _ in texts):
        return "template"
    return "data"


Memo = dict[Any, tuple[Any, ...]]


def _convert_column(
    column: tuple[Any, ...],
    convert: Callable[[Any], tuple[Any, ...]],
    settle: Callable[[Memo], None] = lambda _memo: None,
) -> list[Any]:
    """Convert every cell of a column, once per distinct value.

    `settle` is given the memo of full results (value -> result tuple whose last item is the
    issue) when some value has an issue, and may replace results before they are used.
    """
    memo = {value: convert(value) for value in dict.fromkeys(column)}
    if any(result[-1] is not None for result in memo.values()):
        settle(memo)
    firsts = {value: result[0] for value, result in memo.items()}
    return list(map(firsts.__getitem__, column))


def _decided(field_name: str, result: tuple[Any, ...], decision: str) -> tuple[Any, ...]:
    """Return a reader's result as a person's decision makes it, without its issue."""
    value = typed(field_name, decision)
    if field_name in ("visit_required", "fee_required"):
        # The words read as no reason nor payment: they are kept with the row's raw words.
        return (value, "", None)
    if field_name == "blockers":  # a decision adds its blocker to those the cell named
        found = list(result[0])
        value = found + [value] if value is not None and value not in found else found
    return (value, *result[1:-1], None)


def _merge_by_key(found: list[Unrecognised]) -> list[Unrecognised]:
    """Merge the listed values of one field that differ only in width or spacing.

    A decision is kept per field and value, so the same words in two fields stay two entries.
    """
    by_key: dict[tuple[str, str], Unrecognised] = {}
    for entry in found:
        first = by_key.get((entry.field, entry.key))
        if first is None:
            by_key[entry.field, entry.key] = entry
            continue
        first.count += entry.count
        first.rows = sorted(first.rows + entry.rows)[:SHOWN_ROWS]
    return sorted(by_key.values(), key=lambda entry: entry.rows[:1])  # stable: by column next


def _blank_aware(
    convert: Callable[[Any], tuple[Any, Any]], empty: Any
) -> Callable[[Any], tuple[Any, Any]]:
    def wrapped(value: Any) -> tuple[Any, Any]:
        if value is None or (type(value) is str and not value.strip()):
            return empty, None
        return convert(value)

    return wrapped


def _read_rows(
    raw: RawSheet,
    rows: list[list[Any]],
    start: int,
    columns_read: tuple[list[str], list[str | None]],
    layout: HeaderLayout,
    problems: list[Problem],
    values_asked: tuple[ValueMap, list[Unrecognised]],
) -> tuple[list[ParsedRow], int, list[tuple[int, int, str, str]]]:
    """Turn the data rows into ParsedRows; returns rows, number of data rows, duplicates.

    The rows are first sorted into data rows and the rest (blank, notes, totals, sections);
    the data rows are then converted column by column, each distinct cell value once.
    `columns_read` is (headers, fields); `values_asked` is (decisions, list to fill with the
    values left undecided).
    """
    headers, fields = columns_read
    value_map, unrecognised = values_asked
    sheet = raw.name
    width = len(headers)
    present = {f for f in fields if f is not None}
    name_col = fields.index("name")
    name_header = headers[name_col]
    serial = layout.serial + [False] * (width - len(layout.serial))
    fill_cols = [(i, f) for i, f in enumerate(fields) if f in _FILL_DOWN]
    section_cols = {i for i, _ in fill_cols}
    text_line = T.text_line
    all_numbers = raw.row_numbers or range(1, len(rows) + 1)
    section_marks: list[tuple[int, dict[str, str]]] = []

    # 1. which rows hold procedures
    sections: dict[int, dict[str, str]] = {}  # position in data -> section values before it
    data_rows = 0
    skip_keys = GRAND_TOTAL_WORDS | SUBTOTAL_WORDS
    note_prefixes = NOTE_PREFIXES + tuple(p.capitalize() for p in NOTE_PREFIXES if p.isascii())
    body = rows[start:]
    raw_names = [row[name_col] if name_col < len(row) else "" for row in body]
    name_memo: dict[Any, str] = dict.fromkeys(raw_names, "")
    special_values = set()  # no name, or a name that may be a total or a note line
    for value in name_memo:
        name = name_memo[value] = text_line(value)
        if (
            not name
            or name.startswith(note_prefixes)
            or (len(name) <= 12 and _total_key(name) in skip_keys)
        ):
            special_values.add(value)
    clean = list(map(name_memo.__getitem__, raw_names))
    special = (
        list(compress(range(len(raw_names)), map(special_values.__contains__, raw_names)))
        if special_values
        else []
    )
    kept: list[int] = []
    previous = 0
    for position in special:
        kept.extend(range(previous, position))
        previous = position + 1
        index = start + position
        row = body[position]
        name = clean[position]
        if name:  # a total in the name column, or a note line starting there
            key = _total_key(name)
            if key in GRAND_TOTAL_WORDS:
                _after_total(raw, rows, index, width, serial, section_cols, name_col, problems)
                previous = len(body)
                break
            if key in SUBTOTAL_WORDS:
                continue
            if _row_kind(_texts(row, width), serial, section_cols) != "note":
                kept.append(position)
            continue
        texts = _texts(row, width)
        kind = _row_kind(texts, serial, section_cols)
        if kind == "total":
            _after_total(raw, rows, index, width, serial, section_cols, name_col, problems)
            previous = len(body)
            break
        if kind == "section":
            found = {}
            for c, fill_field in fill_cols:
                if not V.is_blank(row[c]):
                    found[fill_field] = text_line(row[c])
            section_marks.append((position, found))
            continue
        if kind != "data":
            continue
        data_rows += 1
        number = all_numbers[index]
        problems.append(
            Problem(
                SEVERITY_ERROR,
                "name_missing",
                {"row": number, "column": name_header},
                sheet,
                number,
                name_header,
            )
        )
    else:
        kept.extend(range(previous, len(body)))
    if len(kept) == len(body):  # nothing left out: the common case
        data, names = body, clean
        numbers = list(all_numbers[start : start + len(body)])
    else:
        data = [body[p] for p in kept]
        numbers = [all_numbers[start + p] for p in kept]
        names = [clean[p] for p in kept]
    # a section row applies from the next kept row on
    for position, found in section_marks:
        at = bisect.bisect_right(kept, position)
        sections.setdefault(at, {}).update(found)
    data_rows += len(data)
    if not data:
        return [], data_rows, []
    if min(map(len, data)) < width:
        data = [row + [""] * (width - len(row)) if len(row) < width else row for row in data]
    columns = list(zip(*data, strict=False))
    count = len(data)

    def warn(issue: tuple[str, dict[str, Any]], position: int, col: int, value: Any) -> None:
        number = numbers[position]
        header = headers[col]
        params = {"row": number, "column": header, "value": T.cell_text(value), **issue[1]}
        problems.append(Problem(SEVERITY_WARNING, issue[0], params, sheet, number, header))

    def report(col: int, memo: dict[Any, tuple[Any, ...]]) -> None:
        bad = {value: result[-1] for value, result in memo.items() if result[-1] is not None}
        for position, value in enumerate(columns[col]):
            if value in bad:
                warn(bad[value], position, col, value)

    raw_words = RawWords(count)
    found_values: list[Unrecognised] = []

    def settle(col: int, memo: Memo, field_name: str | None = None) -> None:
        """Apply the decisions to the values the vocabulary left; list each value once.

        `field_name` is the field the values are asked for, when not the column's own (a
        step read from a column that maps to another field, or to none).
        """
        fld = field_name or fields[col]
        assert fld is not None
        if fld not in DECIDABLE:
            report(col, memo)
            return
        chosen = value_map.get(fld, {})
        listed: dict[Any, Unrecognised] = {}
        for value, result in memo.items():
            if result[-1] is None:
                continue
            key = value_key(value)
            written = " ".join(T.cell_text(value).split())  # as written: not NFKC
            entry = Unrecognised(sheet, headers[col], fld, written, key)
            entry.reason, entry.reason_params = result[-1]
            entry.decision = chosen.get(key) or None  # UNDECIDED: withdrawn
            listed[value] = entry
            if entry.decision is not None:
                memo[value] = _decided(fld, result, entry.decision)
        for position, value in enumerate(columns[col]):
            found = listed.get(value)
            if found is not None:
                found.count += 1
                if len(found.rows) < SHOWN_ROWS:
                    found.rows.append(numbers[position])
                raw_words.keep(position, fld, found.value)
        found_values.extend(listed.values())

    keys: list[str] = ["name"]
    lists: list[list[Any]] = [names]

    # 2. one field per column
    volume_cols = [i for i, f in enumerate(fields) if f == "annual_volume"]
    status_cols = [i for i, f in enumerate(fields) if f == "online_status"]
    estimate_cols = [i for i, f in enumerate(fields) if f == "volume_is_estimate"]
    for col, fld in enumerate(fields):
        if fld is None or fld in ("name", "volume_is_estimate", *VOLUMES):
            continue
        if fld == "online_status" and len(status_cols) > 1:
            continue
        if fld in ("visit_required", "fee_required"):
            continue
        if fld in _TEXT:  # plain text never has an issue
            text = _TEXT[fld]
            text_memo = dict.fromkeys(columns[col])
            for value in text_memo:
                text_memo[value] = text(value)
            lists.append(list(map(text_memo.__getitem__, columns[col])))
            keys.append(fld)
            continue
        convert = _CONVERTERS.get(fld, V.online_status)
        converted = _convert_column(
            columns[col],
            _blank_aware(convert, _EMPTY.get(fld)),
            partial(settle, col),
        )
        if fld in ("life_events", "blockers"):  # one list object per row
            converted = list(map(list, converted))
        lists.append(converted)
        keys.append(fld)
    by_field = dict(zip(keys, lists, strict=True))

    # yes/no with a remark: 有（200円） -> True, and "200円" into fee_payment if that is empty
    for col, fld in enumerate(fields):
        if fld not in ("visit_required", "fee_required"):
            continue
        column = columns[col]
        read = V.fee if fld == "fee_required" else V.yes_no
        # dict.fromkeys, not set: the first spelling met is the one shown, run after run.
        answers = {value: read(value) for value in dict.fromkeys(column)}
        if any(r[2] is not None for r in answers.values()):
            settle(col, answers)
        keys.append(fld)
        lists.append([answers[value][0] for value in column])
        if any(r[1] and r[0] is not None for r in answers.values()):
            rest_field = "visit_reason" if fld == "visit_required" else "fee_payment"
            target = by_field.get(rest_field)
            if target is None:
                target = [""] * count
                by_field[rest_field] = target
                keys.append(rest_field)
                lists.append(target)
            for position, value in enumerate(column):
                answer, remark, _issue = answers[value]
                if remark and answer is not None and not target[position]:
                    target[position] = remark
    by_field = dict(zip(keys, lists, strict=True))

    # 3. volumes: a total column or the sum of the parts (channels); online and not online
    volume_columns = {name: [i for i, f in enumerate(fields) if f == name] for name in VOLUMES}
    read_volumes: dict[int, tuple[list[Any], list[bool], list[bool]]] = {}

    def volumes_of(col: int) -> tuple[list[Any], list[bool], list[bool]]:
        """Return a column's counts, estimates and failures; its values listed once."""
        if col not in read_volumes:
            memo = {value: V.volume(value) for value in dict.fromkeys(columns[col])}
            if any(r[2] is not None for r in memo.values()):
                settle(col, memo)
            column = columns[col]
            counts = {value: r[0] for value, r in memo.items()}
            marks = {value: bool(r[1] and r[0] is not None) for value, r in memo.items()}
            bad = {value: r[2] is not None for value, r in memo.items()}
            read_volumes[col] = (
                list(map(counts.__getitem__, column)),
                list(map(marks.__getitem__, column)),
                list(map(bad.__getitem__, column)),
            )
        return read_volumes[col]

    def summed(cols: list[int]) -> tuple[list[int | None], list[bool]]:
        """Return the sum of the columns' counts (unknown if one part failed) and estimates."""
        if len(cols) == 1:
            counts, marks, _bad = volumes_of(cols[0])
            return counts, marks
        totals: list[int | None] = [None] * count
        estimates = [False] * count
        failed = [False] * count
        for col in cols:
            counts, marks, bad = volumes_of(col)
            for position, part in enumerate(counts):
                if bad[position]:
                    failed[position] = True
                elif part is not None:
                    current = totals[position]
                    totals[position] = part if current is None else current + part
                    if marks[position]:
                        estimates[position] = True
        return [None if f else t for t, f in zip(totals, failed, strict=True)], estimates

    volume_cols = volume_columns["annual_volume"]
    # Without a total, the parts online and not online make it (Canada's channels).
    total_cols = volume_cols or volume_columns["online_volume"] + volume_columns["offline_volume"]
    if total_cols:
        totals, estimates = summed(total_cols)
        keys += ["annual_volume", "volume_is_estimate"]
        lists += [totals, estimates]
    for name in ("online_volume", "offline_volume"):
        if volume_columns[name]:
            keys.append(name)
            lists.append(summed(volume_columns[name])[0])
    if estimate_cols:  # a column mapped by the caller to "volume_is_estimate" (○ = estimate)
        marks = _convert_column(columns[estimate_cols[0]], V.yes_no)
        if total_cols:
            estimates[:] = [bool(a or b) for a, b in zip(estimates, marks, strict=True)]
        else:
            keys.append("volume_is_estimate")
            lists.append([bool(m) for m in marks])
    year_cols = [c for name in VOLUMES for c in volume_columns[name]]
    if year_cols and "volume_fiscal_year" not in present:
        year = next((y for y in (year_in_header(headers[c]) for c in year_cols) if y), None)
        if year is not None:
            keys.append("volume_fiscal_year")
            lists.append([year] * count)

    # 4. online status from several steps (e-application, e-decision …)
    status_values: dict[int, list[Any]] = {}  # each status column's own values
    if len(status_cols) > 1:
        step_lists = []
        for col in status_cols:
            step_lists.append(_convert_column(columns[col], V.online_status, partial(settle, col)))
            status_values[col] = step_lists[-1]
        combined: dict[tuple[Any, ...], str | None] = {}
        statuses = []
        for steps in zip(*step_lists, strict=True):
            if steps not in combined:
                combined[steps] = V.combine_online_steps(list(steps))
            statuses.append(combined[steps])
        keys.append("online_status")
        lists.append(statuses)
    elif status_cols:
        status_values[status_cols[0]] = by_field["online_status"]

    by_field = dict(zip(keys, lists, strict=True))
    # 5. values implied by other columns
    if "kind" in present and "visit_required" not in present:
        kinds = by_field["kind"]
        implied = {p for p, k in enumerate(kinds) if k == "inspection"}
    else:
        implied = set()
    if "identity_check" in present and "seal_required" not in present:
        seal = V.SEAL_BY_IDENTITY
        keys.append("seal_required")
        lists.append([seal[c] if c is not None else None for c in by_field["identity_check"]])
        by_field["seal_required"] = lists[-1]

    # 5b. the steps of the procedure, from the columns that tell them (importers/steps.py)
    step_texts = _steps((headers, fields, columns), by_field, status_values, settle)
    if step_texts is not None:
        keys.append(S.STEPS_FIELD)
        lists.append(step_texts)

    # 6. a blank division/department continues the one above (merged or "faked" merges)
    for _col, fld in fill_cols:
        column_values = by_field[fld]
        last = ""
        for position in range(count):
            if position in sections:
                last = sections[position].get(fld, last)
            if column_values[position]:
                last = column_values[position]
            elif last:
                column_values[position] = last

    # 7. the words of the values not understood, kept on the procedure; listed once each
    if raw_words.by_position:  # without any, rows say nothing of it (see stored_values)
        keys.append(RAW_VALUES)
        lists.append(raw_words.column())
    order = {header: index for index, header in enumerate(headers)}
    merged_values = _merge_by_key(found_values)
    unrecognised.extend(sorted(merged_values, key=lambda entry: order[entry.column]))

    # 8. unmapped columns are kept as text
    extra_cols = [i for i, f in enumerate(fields) if f is None]
    extra_headers = [headers[i] for i in extra_cols]
    extra_texts: list[Any] = []
    for col in extra_cols:
        column = columns[col]
        if set(map(type, column)) == {str}:
            extra_texts.append(column)  # already text (kept as written)
        else:
            cell_texts = {value: T.cell_text(value) for value in dict.fromkeys(column)}
            extra_texts.append(list(map(cell_texts.__getitem__, column)))

    # 9. the rows read their values from these columns when asked (see ParsedRow)
    table = RowTable(dict(zip(keys, lists, strict=True)), extra_headers, extra_texts)
    if implied:
        visits = [ABSENT] * count
        for position in implied:
            visits[position] = True
        table.fields["visit_required"] = visits
    result_rows = list(
        map(
            ParsedRow,
            repeat(sheet, count),
            numbers,
            repeat(None, count),
            repeat(None, count),
            repeat(table, count),
            range(count),
        )
    )

    # 10. the same procedure listed twice
    duplicates: list[tuple[int, int, str, str]] = []
    if "code" in present:
        seen: dict[tuple[str, str, str], int] = {}
        divisions = by_field.get("division") or [""] * count
        for number, code, name, division in zip(
            numbers, by_field["code"], names, divisions, strict=True
        ):
            if not code:
                continue
            duplicate_key = (code, name, division)
            first = seen.get(duplicate_key)
            if first is None:
                seen[duplicate_key] = number
            else:
                duplicates.append((number, first, code, name))
    return result_rows, data_rows, duplicates


def _steps(
    sheet_columns: tuple[list[str], list[str | None], list[tuple[Any, ...]]],
    by_field: dict[str, list[Any]],
    status_values: dict[int, list[Any]],
    settle: Callable[[int, Memo, str], None],
) -> list[Any] | None:
    """Return each row's steps as stored (importers.steps), or None when no column tells any.

    The step columns' values were read as online statuses (and their odd values listed) with
    the online-status column; payment methods and 撤廃/省略状況 are read here from the cells,
    their odd values listed for the step they tell.
    """
    headers, fields, columns = sheet_columns
    step_columns: dict[str, list[Any]] = {}
    for col, values in status_values.items():
        step = S.step_of_column(headers[col])
        if step is not None:
            step_columns.setdefault(step, values)
    read_as_they_are = (
        "online_status",
        "identity_check",
        "seal_required",
        "fee_required",
        "originals_required",
    )
    facts = {name: by_field[name] for name in read_as_they_are if name in by_field}

    def read(col: int, reader: Callable[[Any], tuple[Any, Any]], step: str) -> list[Any]:
        memo = {value: reader(value) for value in dict.fromkeys(columns[col])}
        if any(result[-1] is not None for result in memo.values()):
            settle(col, memo, S.step_field(step))
        firsts = {value: result[0] for value, result in memo.items()}
        return list(map(firsts.__getitem__, columns[col]))

    if "fee_payment" in fields:
        facts["payment"] = read(fields.index("fee_payment"), S.payment_methods, "payment")
    if "attachments" in by_field:
        written = by_field["attachments"]
        none = {text: bool(text) and S.says_none(text) for text in dict.fromkeys(written)}
        facts["attachments_none"] = list(map(none.__getitem__, written))
    waived_col = next((c for c, h in enumerate(headers) if S.is_waived_column(h)), None)
    if waived_col is not None:
        facts["waived"] = read(waived_col, S.waived, "attachments")
    from_submission = "originals_required" in fields and S.is_submission_column(
        headers[fields.index("originals_required")]
    )
    # A row whose columns tell no step says nothing of them: it has no steps to write.
    return S.steps_column(
        len(columns[0]), facts, step_columns, from_submission=from_submission, nothing=ABSENT
    )


def _after_total(
    raw: RawSheet,
    rows: list[list[Any]],
    index: int,
    width: int,
    serial: list[bool],
    section: set[int],
    name_col: int,
    problems: list[Problem],
) -> None:
    """Warn when something other than notes and blank rows follows the total row."""
    for later in rows[index + 1 :]:
        texts = _texts(later, width)
        kind = _row_kind(texts, serial, section, name_col)
        if kind not in ("blank", "note", "total", "subtotal"):
            number = raw.row_number(index)
            problems.append(
                Problem(
                    SEVERITY_WARNING,
                    "rows_after_total",
                    {"sheet": raw.name, "row": number},
                    raw.name,
                    number,
                )
            )
            return
