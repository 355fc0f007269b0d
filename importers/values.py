"""Normalising one cell: numbers, yes/no, codes, eras and fiscal years.

The words clerks write for each value are data (``value_words.json``); the rules that decide
what a cell means are here. The text forms a cell is read in are in ``importers.text``.
Every string normaliser is a pure function cached with ``functools.lru_cache``: real inventories
repeat the same coded values thousands of times. A normaliser returns the value and, when the
cell cannot be read, an issue: ``(message code, extra params)`` for a warning.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from importers.schema import ANNUAL_VOLUME_MAX, Blocker
from importers.text import (
    CACHE_SIZE,
    cell_text,
    clean_line_uncached,
    nfkc,
    split_code,
    split_values,
    squeeze,
    text_line,
)
from importers.value_words import keyed, load_value_words, pairs, squeezed

Issue = tuple[str, dict[str, Any]] | None
#: What a field's reader returns for a cell it can read.
Value = TypeVar("Value")

# ------------------------------------------------------------------------------------------
# the words clerks write, by field (value_words.json), and looking them up
# ------------------------------------------------------------------------------------------


def _lookup(item: str, labels: dict[str, Any], codes: dict[str, Any]) -> tuple[bool, Any]:
    """Find a value by its label first, then by its national code."""
    code, label = split_code(item)
    if label:
        key = squeeze(label)
        if key in labels:
            return True, labels[key]
    if code is not None and code in codes:
        return True, codes[code]
    key = squeeze(item)
    if key in labels:
        return True, labels[key]
    return False, None


def _named_value(
    item: str, labels: dict[str, Any], codes: dict[str, Any], choices: str
) -> tuple[Any, Issue]:
    """Return the value an item names by label or code, or no value and the choices to use."""
    found, value = _lookup(item, labels, codes)
    if found:
        return value, None
    return None, ("value_unknown", {"choices": choices})


# Loaded once: the lookup tables below are built from it at import time, as the literals were.
_WORDS: dict[str, Any] = load_value_words()


# ------------------------------------------------------------------------------------------
# unknown / blank
# ------------------------------------------------------------------------------------------

UNKNOWN_WORDS = squeezed(_WORDS["unknown"])


def is_blank(value: Any) -> bool:
    """Return True for an empty cell."""
    return value is None or (type(value) is str and not value.strip())


def _read_text_cell(
    value: Any, read_text: Callable[[str], tuple[Value, Issue]]
) -> tuple[Value | None, Issue]:
    """Read a cell by its text with the field's text reader; a blank cell is no value."""
    if is_blank(value):
        return None, None
    return read_text(value if type(value) is str else cell_text(value))


# ------------------------------------------------------------------------------------------
# numbers: annual volume
# ------------------------------------------------------------------------------------------

_VOLUME_WORDS = _WORDS["volume"]
# Matched inside the squeezed cell text, so squeezed themselves.
_ESTIMATE_PREFIXES = tuple(map(squeeze, _VOLUME_WORDS["estimate_prefixes"]))
_ESTIMATE_SUFFIXES = tuple(map(squeeze, _VOLUME_WORDS["estimate_suffixes"]))
_UNITS = tuple(map(squeeze, _VOLUME_WORDS["units"]))
_BOUND_WORDS = tuple(map(squeeze, _VOLUME_WORDS["bounds"]))
_RANGE = re.compile(r"\d\s*(?:~|〜|∼|-|−|–|—|―|ー|から|to)\s*\d")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(万|千)?$")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|「[^「」]*」|〔[^〔〕]*〕")


def strip_brackets(text: str) -> str:
    """Remove bracketed parts such as (注) or 【必須】 from a text."""
    return _BRACKETS.sub("", text)


_ZERO_WORDS = squeezed(_VOLUME_WORDS["zero"])


@lru_cache(maxsize=CACHE_SIZE)
def _volume_text(text: str) -> tuple[int | None, bool, Issue]:
    key = squeeze(text)
    if not key or key in UNKNOWN_WORDS:
        return None, False, None
    if key in _ZERO_WORDS:
        return 0, False, None
    value = key.replace(",", "")
    if value.startswith("年間") and len(value) > 2:
        value = value[2:]
    estimate = False
    changed = True
    while changed and value:
        changed = False
        for prefix in _ESTIMATE_PREFIXES:
            if value.startswith(prefix) and len(value) > len(prefix):
                value, estimate, changed = value[len(prefix) :], True, True
        for suffix in _ESTIMATE_SUFFIXES:
            if value.endswith(suffix) and len(value) > len(suffix):
                value, estimate, changed = value[: -len(suffix)], True, True
    if _RANGE.search(value):
        return None, estimate, ("volume_range", {})
    if any(word in value for word in _BOUND_WORDS):
        return None, estimate, ("volume_bound", {})
    value = _BRACKETS.sub("", value)
    for unit in _UNITS:
        if value.endswith(unit) and len(value) > len(unit):
            value = value[: -len(unit)]
    match = _NUMBER.match(value)
    if match is None:
        return None, estimate, ("volume_unreadable", {})
    number = float(match.group(1))
    if not math.isfinite(number):  # 400 digits read as a float are infinite
        return None, estimate, ("volume_unreadable", {})
    if match.group(2) == "万":
        number *= 10000
    elif match.group(2) == "千":
        number *= 1000
    if abs(number - round(number)) > 1e-9:
        return None, estimate, ("volume_unreadable", {})
    return int(round(number)), estimate, None


def volume(value: Any) -> tuple[int | None, bool, Issue]:
    """Read a yearly count: returns (count or None, is an estimate, issue)."""
    count, estimate, issue = _volume(value)
    if count is not None and count > ANNUAL_VOLUME_MAX:
        # The edit form refuses it too: kept, it could never be saved from the page again.
        return None, estimate, ("volume_too_large", {"limit": f"{ANNUAL_VOLUME_MAX:,}"})
    return count, estimate, issue


def _volume(value: Any) -> tuple[int | None, bool, Issue]:
    kind = type(value)
    if kind is str:
        return _volume_text(value)
    if kind is float:
        if not math.isfinite(value):  # inf and NaN from a damaged cell or a formula
            return None, False, ("volume_unreadable", {})
        if value.is_integer() and value >= 0:
            return int(value), False, None
        if value >= 0 and abs(value - round(value)) < 1e-6:
            return int(round(value)), False, None
        return None, False, ("volume_unreadable", {})
    if kind is int:
        return (value, False, None) if value >= 0 else (None, False, ("volume_unreadable", {}))
    if value is None:
        return None, False, None
    return None, False, ("volume_unreadable", {})


# ------------------------------------------------------------------------------------------
# eras and fiscal years
# ------------------------------------------------------------------------------------------

_YEAR_WORDS = _WORDS["year"]
_ERAS: dict[str, int] = _YEAR_WORDS["eras"]  # era -> the Western year before its first year
_YEAR_UNKNOWN = squeezed(_YEAR_WORDS["unknown"])
# Matched inside the cell text without its whitespace, as written (not squeezed).
_OPEN_WORDS = tuple(_YEAR_WORDS["open_ended"])
# Longest first, so that an era written out is never read as a shorter era's letter.
_ERA_NAMES = "|".join(map(re.escape, sorted(_ERAS, key=len, reverse=True)))
_ERA_YEAR = (
    rf"({_ERA_NAMES})\.?(元|\d{{1,2}})(?:年度|年|fy)?"
    r"(?:[./](\d{1,2})(?:[./]\d{1,2})?|(\d{1,2})月)?"
)
_WESTERN_YEAR = (
    r"(?:fy)?(\d{4})(?:年度|年|fy)?(?:[./-](\d{1,2})(?:[./-]\d{1,2})?(?!\d)|(\d{1,2})月)?"
)
_YEAR_TOKEN = re.compile(f"{_ERA_YEAR}|{_WESTERN_YEAR}")
_CANADIAN_FY = re.compile(r"^(?:fy)?(\d{4})\s*[-/~〜]\s*(\d{2}|\d{4})(?:年度)?$")
_LEADING_CODE = re.compile(r"^\d{1,2}\s+(?=\S)")


def _fiscal(year: int, month: int | None) -> int:
    return year - 1 if month is not None and 1 <= month <= 3 else year


@lru_cache(maxsize=CACHE_SIZE)
def _year_text(text: str) -> tuple[int | None, Issue]:
    raw = nfkc(text).strip().lower()
    raw = _LEADING_CODE.sub("", raw)
    key = "".join(raw.split())
    if not key or key in _YEAR_UNKNOWN or key in UNKNOWN_WORDS:
        return None, None
    canadian = _CANADIAN_FY.match(key)
    if canadian:
        first = int(canadian.group(1))
        second = canadian.group(2)
        second_year = int(second) if len(second) == 4 else first // 100 * 100 + int(second)
        if second_year == first + 1:
            return first, None
        return None, ("year_range", {})
    tokens = []
    for match in _YEAR_TOKEN.finditer(key):
        era, era_year, era_month, era_month2, western, month, month2 = match.groups()
        if era is not None:
            number = 1 if era_year == "元" else int(era_year)
            if number == 0:
                continue
            months = era_month or era_month2
            year = _ERAS[era] + number
        else:
            year = int(western)
            months = month or month2
        tokens.append(_fiscal(year, int(months) if months else None))
    if not tokens:
        return None, ("year_unreadable", {})
    if len(set(tokens)) > 1 or (len(tokens) > 1 and _RANGE_JOINER.search(key)):
        if len(set(tokens)) == 1:
            return tokens[0], None
        return None, ("year_range", {})
    if any(word in key for word in _OPEN_WORDS):
        return None, ("year_open_ended", {})
    year = tokens[0]
    if not 1926 <= year <= 2200:
        return None, ("year_unreadable", {})
    return year, None


_RANGE_JOINER = re.compile(r"[~〜∼\-−–—]|から|to")

_JOINERS = "|".join(map(re.escape, sorted(_YEAR_WORDS["joiners"], key=len, reverse=True)))
_LEADING_YEAR = re.compile(f"^(?:{_ERA_YEAR}|{_WESTERN_YEAR})(?:{_JOINERS})?")


def _after_year(key: str) -> str:
    """Return a squeezed text without the year or date it starts with (R3廃止 -> 廃止)."""
    match = _LEADING_YEAR.match(key)
    if match is None or match.end() == len(key):
        return key
    return key[match.end() :]


def fiscal_year(value: Any) -> tuple[int | None, Issue]:
    """Read a fiscal year (令和4年度, R4, H31, 2022年度, 2022, dates) as its Western April year."""
    kind = type(value)
    if kind is str:
        return _year_text(value)
    if kind is float or kind is int:
        if kind is float and not value.is_integer():
            return None, ("year_unreadable", {})
        year = int(value)
        if 1926 <= year <= 2200:
            return year, None
        return None, ("year_unreadable", {})
    if kind is dt.datetime or kind is dt.date:
        return _fiscal(value.year, value.month), None
    if value is None:
        return None, None
    return None, ("year_unreadable", {})


# ------------------------------------------------------------------------------------------
# yes / no
# ------------------------------------------------------------------------------------------

_YES_NO_WORDS = _WORDS["yes_no"]
_YES = tuple(_YES_NO_WORDS["yes"])
_NO = tuple(_YES_NO_WORDS["no"])
_YES_NO = {**{squeeze(w): True for w in _YES}, **{squeeze(w): False for w in _NO}}
_YES_NO_PREFIXES = sorted(
    (
        (squeeze(w), v)
        for w, v in [*((w, True) for w in _YES), *((w, False) for w in _NO)]
        if not w.isascii() or not w.isalnum()
    ),
    key=lambda item: -len(item[0]),
)
_YES_NO_SUFFIXES = sorted(
    ((squeeze(w), _YES_NO[squeeze(w)]) for w in _YES_NO_WORDS["suffixes"]),
    key=lambda item: -len(item[0]),
)
_NEUTRAL = squeezed(_YES_NO_WORDS["neutral"])
_SEPARATOR_AFTER_WORD = "(:;,、。/ -[【「0123456789"
_CLOSING = {"(": ")", "[": "]", "【": "】", "「": "」"}


def _unbracketed(text: str) -> str:
    """Return a remark without the brackets around all of it: (郵送可) -> 郵送可, not (A)(B)."""
    closing = _CLOSING.get(text[:1])
    if closing is None or not text.endswith(closing):
        return text
    depth = 0
    for position, char in enumerate(text):
        depth += (char == text[0]) - (char == closing)
        if depth == 0 and position < len(text) - 1:
            return text  # the first bracket closes before the end: two bracketed parts
    return text[1:-1].strip()


def _prefix_answer(line: str, prefixes: list[tuple[str, bool]]) -> tuple[bool, str] | None:
    """Read a word and a remark after it (不要（郵送可）) as (answer, remark), or None."""
    folded = line.lower()
    for word, answer in prefixes:
        if folded.startswith(word) and len(folded) > len(word):
            after = line[len(word)]
            rest = line[len(word) :].strip()
            if rest and (after in _SEPARATOR_AFTER_WORD or after.isspace()):
                return answer, _unbracketed(rest.strip(" :;,、。/-"))
    return None


@lru_cache(maxsize=CACHE_SIZE)
def _yes_no_text(text: str) -> tuple[bool | None, str, Issue]:
    key = squeeze(text)
    if not key or key in UNKNOWN_WORDS or key in _NEUTRAL:
        return None, "", None
    if key in _YES_NO:
        return _YES_NO[key], "", None
    line = " ".join(nfkc(text).split())
    found = _prefix_answer(line, _YES_NO_PREFIXES)
    if found is not None:
        return found[0], found[1], None
    code, label = split_code(line)
    label_key = squeeze(label)
    if code is not None and label_key in _YES_NO:  # "2 有り"
        return _YES_NO[label_key], "", None
    if len(label_key) <= 15:  # "1 手数料等無し", "来庁不要", "押印必要"
        for word, answer in _YES_NO_SUFFIXES:
            if (
                (code is not None or len(word) > 1)
                and label_key.endswith(word)
                and len(label_key) > len(word)
            ):
                return answer, "", None
    return None, line, ("yes_no_unreadable", {})


def yes_no(value: Any) -> tuple[bool | None, str, Issue]:
    """Read a yes/no cell: returns (answer, text after the yes/no word, issue)."""
    kind = type(value)
    if kind is str:
        return _yes_no_text(value)
    if kind is bool:
        return value, "", None
    if kind is float or kind is int:
        if value == 1:
            return True, "", None
        if value == 0:
            return False, "", None
        return None, cell_text(value), ("yes_no_unreadable", {})
    if value is None:
        return None, "", None
    return None, cell_text(value), ("yes_no_unreadable", {})


# ------------------------------------------------------------------------------------------
# fee: yes/no, or an amount (300円, 200円～400円, 実費) that is itself the answer
# ------------------------------------------------------------------------------------------

_FEE_WORDS = _WORDS["fee"]
_FEE = {
    **{squeeze(w): False for w in _FEE_WORDS["free"]},
    **{squeeze(w): True for w in _FEE_WORDS["paid"]},
}
_FEE_PREFIXES = sorted(_FEE.items(), key=lambda item: -len(item[0]))
_AMOUNT_WORDS = tuple(map(squeeze, _FEE_WORDS["amount_words"]))


def _alternatives(words: list[str]) -> str:
    """Return a regex alternation of words as written, longest first."""
    return "|".join(map(re.escape, sorted((w.lower() for w in words), key=len, reverse=True)))


_FIGURE = r"(\d[\d,]*(?:\.\d+)?)"
_AMOUNT = re.compile(
    rf"(?:{_alternatives(_FEE_WORDS['currency_before'])})\s*{_FIGURE}"
    rf"|{_FIGURE}\s*(?:{_alternatives(_FEE_WORDS['currency_after'])})"
)


def _charged(line: str) -> bool | None:
    """Return True when a text names a fee (an amount above zero, 実費), False for 0円 only."""
    folded = line.lower()
    if any(word in folded for word in _AMOUNT_WORDS):
        return True
    figures = [before or after for before, after in _AMOUNT.findall(folded)]
    if not figures:
        return None
    return any(digit in figure for figure in figures for digit in "123456789")


@lru_cache(maxsize=CACHE_SIZE)
def _fee_text(text: str) -> tuple[bool | None, str, Issue]:
    key = squeeze(text)
    if key in _FEE:
        return _FEE[key], "", None
    line = " ".join(nfkc(text).split())
    found = _prefix_answer(line, _FEE_PREFIXES)
    if found is not None:
        return found[0], found[1], None
    answer, remark, issue = _yes_no_text(text)
    if issue is None:  # 有（200円） keeps 200円 as its remark, as any yes/no field
        return answer, remark, None
    charged = _charged(line)
    if charged is None:
        return answer, remark, issue
    # The amount is the payment the procedure asks for: kept whole as the remark.
    return charged, (line if charged else ""), None


def fee(value: Any) -> tuple[bool | None, str, Issue]:
    """Read a fee cell (有, 無料, 300円, 200円～400円, 実費): returns (answer, remark, issue)."""
    if type(value) is str:
        return _fee_text(value)
    return yes_no(value)


def _yes_no_answer(text: str) -> tuple[bool | None, Issue]:
    """Read a yes/no text as the answer alone, for fields that keep no text after the word."""
    answer, _rest, issue = _yes_no_text(text)
    return answer, issue


def _read_yes_no_cell(
    value: Any, read_text: Callable[[str], tuple[bool | None, Issue]]
) -> tuple[bool | None, Issue]:
    """Read a yes/no field: a text with the field's own words, any other cell as yes/no."""
    if type(value) is str:
        return read_text(value)
    answer, _rest, issue = yes_no(value)
    return answer, issue


# ------------------------------------------------------------------------------------------
# coded fields
# ------------------------------------------------------------------------------------------

_KIND_WORDS = _WORDS["kind"]
KIND_LABELS = keyed(_KIND_WORDS["labels"])
KIND_CODES: dict[str, str] = _KIND_WORDS["codes"]
_KIND_CONTAINS = pairs(_KIND_WORDS["contains"])
KIND_CHOICES: str = _KIND_WORDS["choices"]


@lru_cache(maxsize=CACHE_SIZE)
def _kind_text(text: str) -> tuple[str | None, Issue]:
    items = split_values(text)
    if not items or squeeze(text) in UNKNOWN_WORDS:
        return None, None
    found, value = _lookup(items[0], KIND_LABELS, KIND_CODES)
    if found:
        return value, None
    label = split_code(items[0])[1]
    for word, value in _KIND_CONTAINS:
        if word in label:
            return value, None
    return "other", ("value_unknown", {"choices": KIND_CHOICES})


def kind(value: Any) -> tuple[str | None, Issue]:
    """Read the kind of procedure (application, notification, certificate …)."""
    return _read_text_cell(value, _kind_text)


_NOBODY = object()  # a known value that is neither residents nor businesses (e.g. government)


def _applicants(table: dict[str, str]) -> dict[str, Any]:
    """Map the JSON's "nobody" to the sentinel, which no caller can mistake for a kind."""
    return {k: _NOBODY if v == "nobody" else v for k, v in table.items()}


_APPLICANT_WORDS = _WORDS["applicant"]
APPLICANT_LABELS = keyed(_applicants(_APPLICANT_WORDS["labels"]))
APPLICANT_CODES = _applicants(_APPLICANT_WORDS["codes"])
_APPLICANT_CONTAINS = pairs(_APPLICANT_WORDS["contains"])
APPLICANT_CHOICES: str = _APPLICANT_WORDS["choices"]


@lru_cache(maxsize=CACHE_SIZE)
def _applicant_text(text: str) -> tuple[str | None, Issue]:
    items = split_values(text)
    if not items or squeeze(text) in UNKNOWN_WORDS:
        return None, None
    whole = squeeze(text)
    if whole in APPLICANT_LABELS:  # a label with a comma in it
        items = (text,)
    found_any = False
    kinds: set[str] = set()
    for item in items:
        found, value = _lookup(item, APPLICANT_LABELS, APPLICANT_CODES)
        if not found:
            label = split_code(item)[1]
            value = next((v for w, v in _APPLICANT_CONTAINS if w in label), None)
            found = value is not None
        if found:
            found_any = True
            if value is not _NOBODY:
                kinds.add(value)
    if not found_any:
        return None, ("value_unknown", {"choices": APPLICANT_CHOICES})
    if "both" in kinds or {"residents", "businesses"} <= kinds:
        return "both", None
    if kinds:
        return kinds.pop(), None
    return None, None


def applicant(value: Any) -> tuple[str | None, Issue]:
    """Read who applies: residents, businesses or both."""
    return _read_text_cell(value, _applicant_text)


_NO_EVENT = squeezed(_WORDS["life_events"]["none"])


@lru_cache(maxsize=CACHE_SIZE)
def _life_events_text(text: str) -> tuple[str, ...]:
    return tuple(item for item in split_values(text) if squeeze(item) not in _NO_EVENT)


def life_events(value: Any) -> tuple[list[str], Issue]:
    """Read life events as a list of Japanese labels."""
    if is_blank(value):
        return [], None
    return list(_life_events_text(value if type(value) is str else cell_text(value))), None


_ONLINE_WORDS = _WORDS["online_status"]
_ONLINE_BLANK = squeezed(_ONLINE_WORDS["blank"])
ONLINE_LABELS = keyed(_ONLINE_WORDS["labels"])
ONLINE_CODES: dict[str, str] = _ONLINE_WORDS["codes"]
ONLINE_CHOICES: str = _ONLINE_WORDS["choices"]


@lru_cache(maxsize=CACHE_SIZE)
def _online_text(text: str) -> tuple[str | None, Issue]:
    key = squeeze(text)
    if not key or key in _ONLINE_BLANK:
        return None, None
    items = split_values(text) or (text,)
    value, issue = _named_value(items[0], ONLINE_LABELS, ONLINE_CODES, ONLINE_CHOICES)
    if issue is None:
        return value, None
    # 未実施（R8予定）, R5実施済, R5.4～実施: the status word with a plan or a date around it
    bare = strip_brackets(key)
    for variant in (bare, _after_year(key), _after_year(bare)):
        if variant in ONLINE_LABELS:
            return ONLINE_LABELS[variant], None
    return None, issue


def online_status(value: Any) -> tuple[str | None, Issue]:
    """Read the online status (national codes 1–5, words, or Y/N/NA)."""
    if type(value) is bool:
        return ("done" if value else "not_done"), None
    return _read_text_cell(value, _online_text)


def combine_online_steps(steps: list[str | None]) -> str | None:
    """Combine the statuses of several steps (e-application, e-decision …) into one.

    Not-applicable, other and unknown steps are left out; all remaining done → done, none
    done → not_done, a mix → partial; when no step is left the status is unknown (None).
    """
    known = [s for s in steps if s in ("done", "not_done", "partial")]
    if not known:
        return None
    if all(s == "done" for s in known):
        return "done"
    if all(s == "not_done" for s in known):
        return "not_done"
    return "partial"


_IDENTITY_WORDS = _WORDS["identity_check"]
IDENTITY_LABELS = keyed(_IDENTITY_WORDS["labels"])
IDENTITY_CODES: dict[str, int] = _IDENTITY_WORDS["codes"]
IDENTITY_CHOICES: str = _IDENTITY_WORDS["choices"]
# JSON keys are text; the identity code is a number everywhere else.
SEAL_BY_IDENTITY = {int(code): seal for code, seal in _IDENTITY_WORDS["seal_by_code"].items()}


@lru_cache(maxsize=CACHE_SIZE)
def _identity_text(text: str) -> tuple[int | None, Issue]:
    items = split_values(text)
    if not items or squeeze(text) in UNKNOWN_WORDS:
        return None, None
    codes = []
    for item in items:
        found, value = _lookup(item, IDENTITY_LABELS, IDENTITY_CODES)
        if found:
            codes.append(value)
    if not codes:
        return None, ("value_unknown", {"choices": IDENTITY_CHOICES})
    strict = [c for c in codes if c != 6]
    return (min(strict) if strict else 6), None


def identity_check(value: Any) -> tuple[int | None, Issue]:
    """Read the national identity-check code 1–6; with several, the strictest (lowest) one."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int:
        return (
            (value, None)
            if 1 <= value <= 6
            else (None, ("value_unknown", {"choices": IDENTITY_CHOICES}))
        )
    return _read_text_cell(value, _identity_text)


_SEAL_WORDS = keyed(_WORDS["seal_required"]["words"])
_SEAL_ABOLISHED = squeezed(_WORDS["seal_required"]["abolished"])


@lru_cache(maxsize=CACHE_SIZE)
def _seal_text(text: str) -> tuple[bool | None, Issue]:
    key = squeeze(text)
    if key in _SEAL_WORDS:
        return _SEAL_WORDS[key], None
    if _after_year(key) in _SEAL_ABOLISHED:  # R3廃止: abolished, so no seal is needed
        return False, None
    items = split_values(text)
    if items and split_code(items[0])[0] is not None:
        code, issue = _identity_text(text)
        if code is not None:
            return SEAL_BY_IDENTITY[code], None
    return _yes_no_answer(text)


def seal_required(value: Any) -> tuple[bool | None, Issue]:
    """Read whether a seal or signature is needed."""
    return _read_yes_no_cell(value, _seal_text)


ORIGINALS_LABELS = keyed(_WORDS["originals_required"]["labels"])
ORIGINALS_CODES: dict[str, bool | None] = _WORDS["originals_required"]["codes"]


@lru_cache(maxsize=CACHE_SIZE)
def _originals_text(text: str) -> tuple[bool | None, Issue]:
    items = split_values(text)
    if items and (split_code(items[0])[0] is not None or squeeze(items[0]) in ORIGINALS_LABELS):
        answers = []
        for item in items:
            found, value = _lookup(item, ORIGINALS_LABELS, ORIGINALS_CODES)
            if found:
                answers.append(value)
        if answers:
            if True in answers:
                return True, None
            if False in answers:
                return False, None
            return None, None
    return _yes_no_answer(text)


def originals_required(value: Any) -> tuple[bool | None, Issue]:
    """Read whether original paper documents are needed."""
    return _read_yes_no_cell(value, _originals_text)


_MYNAPORTAL_WORDS = keyed(_WORDS["mynaportal_eligible"]["words"])


@lru_cache(maxsize=CACHE_SIZE)
def _mynaportal_text(text: str) -> tuple[bool | None, Issue]:
    key = squeeze(text)
    if key in _MYNAPORTAL_WORDS:
        return _MYNAPORTAL_WORDS[key], None
    return _yes_no_answer(text)


_CHANNEL_LABELS: dict[str, str] = keyed(_WORDS["channel"]["labels"])


def channel(value: Any) -> str:
    """Read the channel: a label the app's exports write for a channel code, or the text."""
    text = text_line(value)
    return _CHANNEL_LABELS.get(squeeze(text), text)


def mynaportal_eligible(value: Any) -> tuple[bool | None, Issue]:
    """Read whether the procedure is one the nation asks to put on the My Number Portal."""
    return _read_yes_no_cell(value, _mynaportal_text)


_VERDICT_WORDS = _WORDS["verdict"]
_VERDICT_BLANK = squeezed(_VERDICT_WORDS["blank"])
VERDICT_LABELS = keyed(_VERDICT_WORDS["labels"])
VERDICT_CHOICES: str = _VERDICT_WORDS["choices"]


@lru_cache(maxsize=CACHE_SIZE)
def _verdict_text(text: str) -> tuple[str | None, Issue]:
    key = squeeze(text)
    if not key or key in _VERDICT_BLANK:
        return None, None
    return _named_value(" ".join(nfkc(text).split()), VERDICT_LABELS, {}, VERDICT_CHOICES)


def verdict(value: Any) -> tuple[str | None, Issue]:
    """Read the DX office's feasibility verdict."""
    return _read_text_cell(value, _verdict_text)


_BLOCKER_TABLES = _WORDS["blockers"]
BLOCKERS = tuple(Blocker)
BLOCKER_CODES: dict[str, str | None] = _BLOCKER_TABLES["codes"]
_BLOCKER_WORDS = pairs(_BLOCKER_TABLES["contains"])
BLOCKER_CHOICES: str = _BLOCKER_TABLES["choices"]


@lru_cache(maxsize=CACHE_SIZE)
def _blocker_item(item: str) -> tuple[bool, str | None]:
    code, label = split_code(item)
    lowered = label.lower()
    if lowered in BLOCKERS:
        return True, lowered
    if label:
        for word, blocker in _BLOCKER_WORDS:
            if word in lowered:
                return True, blocker
    if code is not None and code in BLOCKER_CODES:
        return True, BLOCKER_CODES[code]
    return False, "other"


@lru_cache(maxsize=CACHE_SIZE)
def _blockers_text(text: str) -> tuple[tuple[str, ...], Issue]:
    if squeeze(text) in UNKNOWN_WORDS:
        return (), None
    found: list[str] = []
    unknown: list[str] = []
    for item in split_values(text):
        known, blocker = _blocker_item(item)
        if not known:
            unknown.append(item)
        if blocker is not None and blocker not in found:
            found.append(blocker)
    if unknown:
        return tuple(found), (
            "blocker_unknown",
            {"value": "; ".join(unknown), "choices": BLOCKER_CHOICES},
        )
    return tuple(found), None


def blockers(value: Any) -> tuple[list[str], Issue]:
    """Read the blockers (reasons a procedure is not online yet) as a list of codes."""
    if is_blank(value):
        return [], None
    found, issue = _blockers_text(value if type(value) is str else cell_text(value))
    return list(found), issue


def code(value: Any) -> tuple[str, Issue]:
    """Read a procedure code (1234.0 from Excel becomes "1234")."""
    if type(value) is str:
        return clean_line_uncached(value), None
    return clean_line_uncached(cell_text(value)), None
