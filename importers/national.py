"""The national survey's 令和7年度 layout: its columns, code lists and 補足 details.

The layout and the mapping of the city's values to national codes are data
(``national_r7.json``, with the attribution of its source). What a coded cell cannot hold is
written into the column's 補足 (detail) column as lines ``【column】value``; reading such a file,
``unfold`` puts each value back: into the coded cell it details, or as a column of its own
for a field the national layout has no column for. So an export read back loses nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from importers import steps as S
from importers.text import nfkc

LAYOUT_FILE = Path(__file__).with_name("national_r7.json")

#: The detail of one column inside a 補足 cell: 【column】value, a line of its own.
_SEGMENT = re.compile(r"(?:^|\n)【([^【】\n]{1,60})】")
#: The header under which the export writes a procedure's steps when its codes tell others.
STEPS_HEADER = "手続の段階"
_CODE = re.compile(r"^(\d(?:-\d)?)(?:\s|$)")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the national layout."""

    name: str
    type: str  # text / code / integer
    multi_value: bool
    codes: tuple[str, ...]
    #: The 補足 column that carries what this column's cell cannot hold ("" for a 補足 itself).
    detail: str

    def code_of(self, value: str) -> str | None:
        """Return the listed code a single value names (by its number or whole label)."""
        text = nfkc(value).strip()
        for code in self.codes:
            if text == nfkc(code):
                return code
        match = _CODE.match(text)
        if match:
            number = match.group(1)
            for code in self.codes:
                if code.split(" ", 1)[0] == number:
                    return code
        return None


@dataclass(frozen=True)
class Layout:
    """The national layout and the city's mapping onto it (national_r7.json)."""

    source: str
    columns: tuple[Column, ...]
    city_codes: dict[str, Any]
    #: Column -> codes in order of preference, for a column R7 holds one value of.
    single_value: dict[str, tuple[str, ...]]
    #: Header of a city field without an R7 column -> the 補足 column that carries it.
    detail_headers: dict[str, str]
    #: Field -> the header under which words not understood are written back.
    raw_headers: dict[str, str]
    local_id_prefix: str
    separator: str
    #: Column name -> column; the column names in order; the 補足 columns in order.
    by_name: dict[str, Column] = field(init=False, repr=False)
    names: list[str] = field(init=False, repr=False)
    detail_columns: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Looked up for every cell of an export: computed once (the layout never changes).
        by_name = {column.name: column for column in self.columns}
        object.__setattr__(self, "by_name", by_name)
        object.__setattr__(self, "names", [column.name for column in self.columns])
        details = [c.name for c in self.columns if not c.detail]
        object.__setattr__(self, "detail_columns", details)

    def column(self, name: str) -> Column:
        """Return the column of a name."""
        return self.by_name[name]

    def detail_of(self, header: str) -> str:
        """Return the 補足 column that carries a column's or a city field's detail."""
        column = self.by_name.get(header)
        if column is not None:
            return column.detail or header
        return self.detail_headers.get(header, self.detail_columns[0])

    def known_headers(self) -> frozenset[str]:
        """Return every header a 【…】 segment may name."""
        return frozenset(self.names) | frozenset(self.detail_headers) | {STEPS_HEADER}


@cache
def load_layout(path: Path = LAYOUT_FILE) -> Layout:
    """Load and check the national layout: every mapped code must be in its column's list."""
    data = json.loads(path.read_text(encoding="utf-8"))
    columns = tuple(
        Column(
            c["name"], c["type"], c["multi_value"], tuple(c.get("codes") or ()), c.get("detail", "")
        )
        for c in data["columns"]
    )
    layout = Layout(
        data["_source"],
        columns,
        data["city_codes"],
        {name: tuple(order) for name, order in data["single_value"].items()},
        data["detail_headers"],
        data["raw_headers"],
        data["local_id_prefix"],
        data["multi_value_separator"],
    )
    _check(layout)
    return layout


#: city_codes entry -> the column whose list its codes must come from.
MAPPED_COLUMNS = {
    "kind": "手続類型",
    "applicant": "手続主体",
    "online_status": "オンライン化の実施状況",
    "blockers": "オンライン化の実施予定及び検討時の懸念点",
    "identity_check": "申請等における本人確認手法",
    "fee_required": "手数料等の納付有無",
    "target_fiscal_year": "オンライン化実施時期",
    "life_events": "手続が行われるイベント(個人)",
    "shared_procedure": "府省共通手続",
}


def _check(layout: Layout) -> None:
    codes = layout.city_codes
    for entry, name in MAPPED_COLUMNS.items():
        allowed = set(layout.column(name).codes)
        for value in codes[entry].values():
            if value not in allowed:
                raise ValueError(f"national_r7.json: {value!r} ({entry}) is not a code of {name}")
    payment = set(layout.column("手数料等の納付方法").codes)
    written = [code for _word, code in codes["payment_words"]] + list(
        codes["payment_other"].values()
    )
    attachments = set(layout.column("申請時に添付させる書類").codes)
    listed = [code for _word, code in codes["attachment_words"]]
    listed += [codes["attachment_other"], codes["attachment_none"]]
    if not set(written) <= payment or not set(listed) <= attachments:
        raise ValueError("national_r7.json: a payment or attachment code is not in its list")
    unknown = set(layout.raw_headers.values()) - set(layout.names) - set(layout.detail_headers)
    if unknown:
        raise ValueError(f"national_r7.json: raw_headers name no column or detail: {unknown}")
    for name, order in layout.single_value.items():
        numbers = {code.split(" ", 1)[0] for code in layout.column(name).codes}
        if set(order) != numbers:
            raise ValueError(f"national_r7.json: single_value of {name} must order every code")


# ------------------------------------------------------------------------------------------
# 補足 details
# ------------------------------------------------------------------------------------------


def detail_text(free_text: str, segments: list[tuple[str, str]]) -> str:
    """Return a 補足 cell: the free text written there, then one 【column】value line each."""
    lines = [free_text] if free_text else []
    lines += [f"【{header}】{value}" for header, value in segments]
    return "\n".join(lines)


def split_detail(text: str, known: frozenset[str]) -> tuple[str, list[tuple[str, str]]]:
    """Split a 補足 cell into its free text and its 【column】value segments.

    Only a known header starts a segment: a clerk's own 【注意】 stays free text.
    """
    if "【" not in text:
        return text, []
    starts = [m for m in _SEGMENT.finditer(text) if m.group(1) in known]
    if not starts:
        return text, []
    free = text[: starts[0].start()]
    segments = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        segments.append((match.group(1), text[match.end() : end]))
    return free, segments


# ------------------------------------------------------------------------------------------
# reading a file in the national layout
# ------------------------------------------------------------------------------------------


def is_national_layout(headers: list[str]) -> bool:
    """Tell whether a header row is the R7 layout (it has every 補足 column of it)."""
    present = {nfkc(h).strip() for h in headers if h}
    return all(nfkc(name) in present for name in load_layout().detail_columns)


def _is_second_header(row: list[Any], index: dict[str, int], layout: Layout) -> bool:
    """Tell whether the row under the header holds notes or codes, not a procedure.

    It fills coded columns with words that are none of their codes, and no count is a number.
    """
    filled = valid = 0
    for column in layout.columns:
        at = index.get(column.name)
        if at is None or at >= len(row) or row[at] in (None, ""):
            continue
        value = row[at]
        if column.type == "integer":
            if isinstance(value, int | float) or str(value).strip().replace(",", "").isdigit():
                return False
        elif column.codes:
            filled += 1
            parts = str(value).split(layout.separator)
            valid += all(column.code_of(p) for p in parts)
    return filled >= 3 and valid == 0


@dataclass(slots=True)
class Unfolded:
    """What unfolding changed: the rows it blanked, and the steps written per row."""

    second_header: int | None
    #: Row index -> the steps segment's text (STEPS_HEADER), to be read by the caller.
    steps: dict[int, str]


def unfold(rows: list[list[Any]], header_index: int) -> Unfolded:
    """Put the 補足 details of an R7 sheet back in place, in ``rows`` (changed in place).

    A segment naming a national column replaces that row's cell; one naming a city field
    (部, オンライン化の可否 …) adds a column with that header. A second header row (notes or
    codes under the names) is blanked, so that it is not read as a procedure.
    """
    layout = load_layout()
    header = rows[header_index]
    index = {nfkc(str(h)).strip(): i for i, h in enumerate(header) if h not in (None, "")}
    index = {c.name: index[nfkc(c.name)] for c in layout.columns if nfkc(c.name) in index}
    second = header_index + 1
    blanked = None
    if second < len(rows) and _is_second_header(rows[second], index, layout):
        rows[second] = [""] * len(rows[second])
        blanked = second
    known = layout.known_headers()
    details = [index[name] for name in layout.detail_columns if name in index]
    added: dict[str, int] = {}
    width = max(len(row) for row in rows[header_index:])
    steps: dict[int, str] = {}
    for r in range(header_index + 1, len(rows)):
        row = rows[r]
        for at in details:
            cell = row[at] if at < len(row) else None
            if type(cell) is not str or "【" not in cell:
                continue
            free, segments = split_detail(cell, known)
            if not segments:
                continue
            row[at] = free
            for name, value in segments:
                if name == STEPS_HEADER:
                    steps[r] = value
                    continue
                target = index.get(name)
                if target is None:
                    target = added.setdefault(name, width + len(added))
                if target >= len(row):
                    row.extend([""] * (target + 1 - len(row)))
                row[target] = value
    if added:
        header.extend([""] * (width + len(added) - len(header)))
        for name, at in added.items():
            header[at] = name
    return Unfolded(blanked, steps)


# ------------------------------------------------------------------------------------------
# a procedure's steps, where its codes tell other steps than the ones it has
# ------------------------------------------------------------------------------------------


def steps_detail(stored: str | None) -> str:
    """Return the steps as a detail: 申請: オンライン; 審査・決定: オフライン (Japanese labels)."""
    statuses = S.decode(stored)
    labels = {step.key: step.ja for step in S.STEPS}
    return "; ".join(
        f"{labels.get(key, key)}: {S.STATUS_LABELS[status]['ja']}"
        for key, status in statuses.items()
    )


def read_steps_detail(text: str) -> str | None:
    """Return the stored steps a steps detail names (the reverse of steps_detail)."""
    keys = {nfkc(step.ja): step.key for step in S.STEPS} | {step.key: step.key for step in S.STEPS}
    statuses = {nfkc(labels["ja"]): status for status, labels in S.STATUS_LABELS.items()}
    found: dict[str, str | None] = {}
    for part in text.split(";"):
        name, _colon, status = nfkc(part).partition(":")
        key = keys.get(name.strip())
        if key is not None:
            found[key] = statuses.get(status.strip())
    return S.encode(found)
