"""The header synonym table, header-row detection and column -> field mapping.

Header texts are compared after NFKC, lower-casing and removing spaces and line breaks. A header
maps to a field when it equals one of the field's ``exact`` words (also after dropping bracketed
parts such as ``（必須）``), else when it contains one of its ``contains`` words (the longest
such word wins). Exact matches are assigned before partial ones; a field is given to the first
column that claims it, except the volume and online-status fields, which may gather several
"part" columns (volumes by channel are summed, online steps are combined).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from importers.schema import FIELDS
from importers.text import cell_text, nfkc

SYNONYMS_FILE = Path(__file__).with_name("header_synonyms.json")


def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, dict[str, list[str]]]:
    """Load the header synonym table: field -> {"exact", "contains", "parts", ...} -> words."""
    with path.open(encoding="utf-8") as fh:
        table = json.load(fh)
    table.pop("_comment", None)
    unknown = set(table) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown fields in {path.name}: {sorted(unknown)}")
    return table


# field -> {"exact": [...], "contains": [...], "parts": [...], "part_contains": [...]}
HEADER_SYNONYMS: dict[str, dict[str, list[str]]] = load_synonyms()

# Columns that only number the rows ("No."): never mapped, and a row with nothing but such a
# number in it is an unused template row.
SERIAL_HEADERS = frozenset(
    ["no", "no.", "番号", "連番", "通番", "項番", "#", "№", "順番", "行番号"]
)

# Headers of the other language of bilingual files: never mapped.
_OTHER_LANGUAGE = re.compile(r"(?:\(french\)|\(fr\)|_fr$|\(français\)|\(francais\))")

# Volume columns that are the total count, as opposed to a part of it.
_TOTAL_WORDS = ("総", "合計", "年間", "total", "annual")
_YEAR_IN_HEADER = re.compile(r"(令和|平成|r|h)(元|\d{1,2})年度?|(\d{4})年度|fy(\d{4})")

#: Fields that may gather several "part" columns: volumes by channel are summed, online steps
#: combined.
_GATHERED = ("annual_volume", "online_volume", "offline_volume", "online_status")

SCAN_ROWS = 50  # the header row is looked for among the first rows of a sheet


def normalise_header(text: str) -> str:
    """Return the lookup key of a header: NFKC, lower case, no whitespace."""
    return _normalise(text)


@lru_cache(maxsize=4096)
def _normalise(text: str) -> str:
    key = "".join(nfkc(text).lower().split())
    return key.rstrip("*※:")


_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|<[^<>]*>")


def _build() -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    exact: dict[str, tuple[str, str]] = {}
    contains: list[tuple[str, str, str]] = []
    for name, table in HEADER_SYNONYMS.items():
        for word in table.get("exact", []):
            exact.setdefault(_normalise(word), (name, "whole"))
        for word in table.get("parts", []):
            exact.setdefault(_normalise(word), (name, "part"))
        for word in table.get("contains", []):
            contains.append((_normalise(word), name, "whole"))
        for word in table.get("part_contains", []):
            contains.append((_normalise(word), name, "part"))
    contains.sort(key=lambda item: -len(item[0]))
    return exact, contains


_EXACT, _CONTAINS = _build()


# Longer texts are cells, not headers; the "contains" words are not searched in them (a cell
# of 60 million characters took 7 s to compare with each word).
_LONGEST_HEADER = 1000


@lru_cache(maxsize=4096)
def match_header(key: str) -> tuple[str | None, str, bool]:
    """Map a normalised header to (field, role "whole"/"part", exact?)."""
    if not key or len(key) > _LONGEST_HEADER or _OTHER_LANGUAGE.search(key):
        return None, "whole", False
    if key in _EXACT:
        field_name, role = _EXACT[key]
        return field_name, role, True
    stripped = _BRACKETS.sub("", key)
    if stripped and stripped in _EXACT:
        field_name, role = _EXACT[stripped]
        return field_name, role, True
    for word, field_name, role in _CONTAINS:
        if word in key:
            return field_name, role, False
    return None, "whole", False


def volume_role(key: str, role: str) -> str:
    """Tell a total volume column from a part (by channel) of it."""
    if role == "part":
        return "part"
    if any(word in key for word in _TOTAL_WORDS):
        return "total"
    if any(
        word in key for word in ("オンライン", "窓口", "郵送", "電子", "online", "mail", "phone")
    ):
        return "part"
    return "total"


def year_in_header(header: str) -> int | None:
    """Return the fiscal year written in a header such as 件数（令和4年度）."""
    match = _YEAR_IN_HEADER.search(_normalise(header))
    if match is None:
        return None
    era, number, western, fiscal = match.groups()
    if era is not None:
        return (2018 if era in ("令和", "r") else 1988) + (1 if number == "元" else int(number))
    return int(western or fiscal)


def header_signature(headers: list[str]) -> str:
    """Return a stable hash of the normalised header texts (trailing empty headers ignored)."""
    keys = [_normalise(h) for h in headers]
    while keys and not keys[-1]:
        keys.pop()
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------------------------------
# finding the header row
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class HeaderLayout:
    """Where the header is and how each column maps."""

    header_index: int  # 0-based index of the last header row
    first_index: int  # 0-based index of the first header row (== header_index for one row)
    headers: list[str]  # display text per column ("" when blank)
    fields: list[str | None]
    roles: list[str] = field(default_factory=list)  # "whole" | "part" | "total"
    serial: list[bool] = field(default_factory=list)


def column_letter(index: int) -> str:
    """Return the Excel column letter(s) of a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _texts(row: list[Any], width: int) -> list[str]:
    out = [" ".join(cell_text(v).split()) if v is not None and v != "" else "" for v in row]
    out.extend([""] * (width - len(out)))
    return out


def _override(mapping: dict[str, str | None] | None) -> dict[str, str | None]:
    if not mapping:
        return {}
    result: dict[str, str | None] = {}
    for header, target in mapping.items():
        if target is not None and target not in FIELDS:
            raise ValueError(f"unknown field in mapping: {target!r}")
        result[_normalise(header)] = target
    return result


def _classify(
    headers: list[str], keys: list[list[str]], override: dict[str, str | None]
) -> tuple[list[str | None], list[str], int, bool]:
    """Map columns to fields; returns fields, roles, score and whether the header qualifies.

    A header qualifies when it maps the name column and at least one more field, or when its
    name column is an exact synonym (a list of names only), or when the caller's mapping names
    one of its columns.

    ``keys`` holds, per column, the normalised texts to try in order (e.g. group+sub, sub).
    """
    width = len(headers)
    fields: list[str | None] = [None] * width
    roles = ["whole"] * width
    exact_hits: list[tuple[int, str, str]] = []
    partial_hits: list[tuple[int, str, str]] = []
    forced: set[str] = set()
    for index in range(width):
        display_key = _normalise(headers[index])
        if display_key in override:
            target = override[display_key]
            fields[index] = target
            if target is not None:
                forced.add(target)
                roles[index] = (
                    volume_role(display_key, "whole") if target == "annual_volume" else "whole"
                )
            continue
        best: tuple[str | None, str, bool] = (None, "whole", False)
        for key in keys[index]:
            if key in SERIAL_HEADERS:
                break
            candidate = match_header(key)
            if candidate[0] is not None and candidate[2]:
                best = candidate
                break
            if candidate[0] is not None and best[0] is None:
                best = candidate
        name, role, exact = best
        if name is None or name == "volume_is_estimate":
            continue
        if name == "annual_volume":
            role = volume_role(keys[index][0] if keys[index] else "", role)
        (exact_hits if exact else partial_hits).append((index, name, role))
    taken = set(forced)
    multi: dict[str, list[tuple[int, str]]] = {}
    for index, name, role in exact_hits + partial_hits:
        if name in forced:
            continue
        if name in _GATHERED:
            multi.setdefault(name, []).append((index, role))
            continue
        if name in taken:
            continue
        taken.add(name)
        fields[index] = name
    for name, columns in multi.items():
        wholes = [c for c in columns if c[1] in ("whole", "total")]
        if wholes:
            # the whole count wins; with several, the one for the latest fiscal year
            chosen = (
                max(wholes, key=lambda c: (year_in_header(headers[c[0]]) or 0, -c[0]))
                if name != "online_status"
                else wholes[0]
            )
            fields[chosen[0]] = name
            roles[chosen[0]] = "total" if name == "annual_volume" else "whole"
        else:
            for index, _role in columns:
                fields[index] = name
                roles[index] = "part"
        taken.add(name)
    mapped = {f for f in fields if f is not None}
    name_exact = any(name == "name" for _index, name, _role in exact_hits)
    qualifies = "name" in mapped and (len(mapped) >= 2 or name_exact or bool(forced))
    return fields, roles, len(mapped), qualifies


def _is_code_like(text: str) -> bool:
    key = _normalise(text)
    if not key:
        return True
    key = key.strip("()[]#.")
    return key.isdigit() or (key.isascii() and key.isalpha() and len(key) <= 2)


def _group_spans(
    upper: list[str], lower: list[str], merges: list[tuple[int, int, int, int]], upper_index: int
) -> list[tuple[int, int]]:
    """Return the column spans of group labels in ``upper`` standing over sub-labels."""
    width = len(upper)
    spans: list[tuple[int, int]] = []
    covered: set[int] = set()
    for r0, c0, r1, c1 in merges:
        if r0 == upper_index and r1 == upper_index and c1 > c0 and c0 < width:
            spans.append((c0, min(c1, width - 1)))
            # only columns of the table: an ODS cell may claim to span 99,999,999,999 columns
            covered.update(range(c0, min(c1, width - 1) + 1))
    index = 0
    while index < width:
        if upper[index] and index not in covered:
            end = index
            while (
                end + 1 < width and not upper[end + 1] and lower[end + 1] and end + 1 not in covered
            ):
                end += 1
            if end > index:
                spans.append((index, end))
            index = end + 1
        else:
            index += 1
    lower_filled = sum(1 for t in lower if t)
    first_lower = next((i for i, t in enumerate(lower) if t), 0)
    lone = sum(1 for t in upper if t) == 1
    good = []
    for c0, c1 in spans:
        subs = [t for t in lower[c0 : c1 + 1] if t]
        if len(subs) < 2 or _is_code_like(upper[c0]):
            continue
        if len(upper[c0]) > 20 or (lone and c0 <= first_lower):
            continue  # a title over the start of the table, not a group label
        if lower_filled and len(subs) >= 0.8 * lower_filled and lower_filled > 2:
            continue  # a title over the whole table, not a group
        if all(_is_code_like(t) for t in subs):
            continue
        good.append((c0, c1))
    return good


def detect_header(
    rows: list[list[Any]],
    merges: list[tuple[int, int, int, int]],
    mapping: dict[str, str | None] | None = None,
) -> HeaderLayout | None:
    """Find the header row (or two rows) of a sheet and map its columns, or return None."""
    override = _override(mapping)
    limit = min(len(rows), SCAN_ROWS)
    width = max((len(r) for r in rows[:limit]), default=0)
    texts = [_texts(rows[i], width) for i in range(limit)]
    best: tuple[int, int, int, HeaderLayout] | None = None  # score, two-row bonus, -index
    for index in range(limit):
        row = texts[index]
        if not any(row):
            continue
        keys = [[_normalise(t)] if t else [] for t in row]
        fields, roles, score, qualifies = _classify(row, keys, override)
        if qualifies:
            layout = HeaderLayout(index, index, list(row), fields, roles)
            candidate = (score, 0, -index, layout)
            if best is None or candidate[:3] > best[:3]:
                best = candidate
        if index == 0:
            continue
        upper = texts[index - 1]
        spans = _group_spans(upper, row, merges, index - 1)
        if not spans:
            continue
        in_span = {c for c0, c1 in spans for c in range(c0, c1 + 1)}
        if any(upper[c] and row[c] for c in range(width) if c not in in_span):
            continue  # both rows filled outside the groups: not a two-row header
        headers: list[str] = []
        keys = []
        for col in range(width):
            group = next((upper[c0] for c0, c1 in spans if c0 <= col <= c1), "")
            sub = row[col]
            if group and sub and group != sub:
                headers.append(f"{group} / {sub}")
                keys.append([_normalise(group + sub), _normalise(sub)])
            else:
                text = sub or group or upper[col]
                headers.append(text)
                keys.append([_normalise(text)] if text else [])
        fields, roles, score, qualifies = _classify(headers, keys, override)
        if qualifies:
            layout = HeaderLayout(index, index - 1, headers, fields, roles)
            candidate = (score, 1, -index, layout)
            if best is None or candidate[:3] > best[:3]:  # on a tie, the two-row reading wins
                best = candidate
    if best is None:
        return None
    layout = best[3]
    layout.serial = [_normalise(h) in SERIAL_HEADERS for h in layout.headers]
    return layout
