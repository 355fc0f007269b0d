"""Normalising one cell: text, numbers, yes/no, codes, eras and fiscal years.

Every string normaliser is a pure function cached with ``functools.lru_cache``: real inventories
repeat the same coded values thousands of times. A normaliser returns the value and, when the
cell cannot be read, an issue: ``(message code, extra params)`` for a warning.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from functools import lru_cache
from typing import Any

Issue = tuple[str, dict[str, Any]] | None

_CACHE = 8192

# ------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------

_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return "\n" if char in "\r\n" else char


def _undo_escapes(text: str) -> str:
    """Undo Excel's _x000D_ escapes into text a database can store.

    _x0000_ would give NUL, which PostgreSQL refuses in text, and _xD800_ a lone surrogate,
    which no database can encode: either failed the whole import. NUL is dropped; a pair of
    surrogates (_xD842__xDFB7_) becomes its character, a lone one U+FFFD.
    """
    text = _EXCEL_ESCAPE.sub(_unescape, text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def nfkc_uncached(text: str) -> str:
    """Return the NFKC form, with Excel's _x000D_ escapes undone (no cache)."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if "_x" in text:
        text = _undo_escapes(text)
    elif "\x00" in text:  # a NUL written into the sheet's XML as it is, or late in a CSV
        text = text.replace("\x00", "")
    return text


nfkc = lru_cache(maxsize=65536)(nfkc_uncached)
nfkc.__doc__ = "Return the NFKC form, with Excel's _x000D_ escapes undone."


def clean_line_uncached(text: str) -> str:
    """NFKC, trim, fold line breaks and runs of spaces into one space (no cache).

    For free text such as names, which rarely repeat: the importer already converts each
    distinct value of a column once.
    """
    return " ".join(nfkc_uncached(text).split())


clean_line = lru_cache(maxsize=65536)(clean_line_uncached)
clean_line.__doc__ = "NFKC, trim, and fold line breaks and runs of (full-width) spaces into one."


@lru_cache(maxsize=16384)
def clean_block(text: str) -> str:
    """NFKC and trim each line; keep line breaks, but at most one blank line in a row."""
    lines = [" ".join(line.split()) for line in nfkc(text).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def cell_text(value: Any) -> str:
    """Return a cell as the text a person sees (floats like 1234.0 as 1234)."""
    kind = type(value)
    if kind is str:
        return value.strip()
    if value is None:
        return ""
    if kind is float:
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is dt.datetime:
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if kind is dt.date or kind is dt.time:
        return value.isoformat()
    return str(value).strip()


def text_line(value: Any) -> str:
    """Normalise a single-line text cell (names, codes, divisions); blank gives "".

    The same as ``clean_line`` without its cache, in one call: the importer calls it once per
    distinct value of a column, tens of thousands of times for names and codes.
    """
    if type(value) is not str:
        value = cell_text(value)
    if not value.isascii() and not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    if "_x" in value:
        value = _undo_escapes(value)
    elif "\x00" in value:  # see nfkc_uncached
        value = value.replace("\x00", "")
    return " ".join(value.split())


def text_block(value: Any) -> str:
    """Normalise a multi-line text cell (notes, reasons, attachments); blank gives ""."""
    if type(value) is str:
        return clean_block(value)
    return clean_block(cell_text(value))


@lru_cache(maxsize=4096)
def squeeze(text: str) -> str:
    """NFKC, lower case, all whitespace removed: the key used for word lookups."""
    return "".join(nfkc(text).lower().split())


# ------------------------------------------------------------------------------------------
# several values in one cell, national codes
# ------------------------------------------------------------------------------------------

_CODED = re.compile(r"^(\d{1,2}(?:-\d{1,2})?)[ .:)\]]\s*(\S.*)$")
_CODE_ONLY = re.compile(r"^\d{1,2}(?:-\d{1,2})?$")
_NEXT_CODE = re.compile(r"\s*[;、,]\s*(?=\d{1,2}(?:-\d{1,2})?[ .:)\]]\s*\S)")
_SEPARATORS = re.compile(r"\s*(?:<>|;|、|,|/|\n)\s*")


@lru_cache(maxsize=_CACHE)
def split_values(text: str) -> tuple[str, ...]:
    """Split a cell holding several values joined by `; `, `、`, `,`, `<>` or line breaks.

    A cell of national coded values (``1 制度改正が必要…; 3 システムがない``) is split only
    before each code, because the labels themselves contain `、`.
    """
    text = nfkc(text).strip()
    if not text:
        return ()
    if _CODED.match(text):
        parts = _NEXT_CODE.split(text)
    elif "<>" in text:
        parts = text.split("<>")
    elif ";" in text:
        parts = text.split(";")
    else:
        parts = _SEPARATORS.split(text)
    return tuple(p for p in (" ".join(part.split()) for part in parts) if p)


@lru_cache(maxsize=_CACHE)
def split_code(item: str) -> tuple[str | None, str]:
    """Split ``1 実施済`` into ("1", "実施済"); ``3`` into ("3", ""); a label into (None, label)."""
    match = _CODED.match(item)
    if match:
        return match.group(1), match.group(2).strip()
    if _CODE_ONLY.match(item):
        return item, ""
    return None, item


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


def _keys(table: dict[str, Any]) -> dict[str, Any]:
    return {squeeze(k): v for k, v in table.items()}


# ------------------------------------------------------------------------------------------
# unknown / blank
# ------------------------------------------------------------------------------------------

UNKNOWN_WORDS = frozenset(
    squeeze(w)
    for w in (
        "-",
        "--",
        "―",
        "ー",
        "—",
        "–",
        "‐",
        "−",
        "－",
        "...",
        "…",
        "?",
        "？",
        "不明",
        "未把握",
        "把握していない",
        "不詳",
        "未集計",
        "集計なし",
        "調査中",
        "確認中",
        "n/a",
        "na",
        "nd",
        "unknown",
        "none",
        "null",
        "tbd",
        "#n/a",
        "空欄",
        "/",
        "・",
    )
)


def is_blank(value: Any) -> bool:
    """Return True for an empty cell."""
    return value is None or (type(value) is str and not value.strip())


# ------------------------------------------------------------------------------------------
# numbers: annual volume
# ------------------------------------------------------------------------------------------

_ESTIMATE_PREFIXES = (
    "約",
    "およそ",
    "概ね",
    "おおむね",
    "大体",
    "だいたい",
    "approx.",
    "approx",
    "about",
    "ca.",
    "推計",
    "推定",
    "見込み",
    "見込",
)
_ESTIMATE_SUFFIXES = (
    "程度",
    "前後",
    "くらい",
    "ぐらい",
    "位",
    "ほど",
    "余り",
    "あまり",
    "弱",
    "強",
    "(推計)",
    "(推定)",
    "(見込み)",
    "(見込)",
    "(概数)",
    "概数",
    "見込み",
    "見込",
    "推計",
    "(概算)",
    "概算",
    "(est.)",
    "est.",
    "(est)",
    "est",
)
_UNITS = (
    "件/年",
    "件/年度",
    "件",
    "回",
    "人",
    "通",
    "枚",
    "名",
    "世帯",
    "/年",
    "/年度",
    "/yr",
    "peryear",
    "年間",
    "年",
)
_BOUND_WORDS = (
    "以上",
    "以下",
    "未満",
    "超",
    "より多い",
    "より少ない",
    "over",
    "under",
    "morethan",
    "lessthan",
    "<",
    ">",
    "≦",
    "≧",
    "<=",
    ">=",
    "+",
)
_RANGE = re.compile(r"\d\s*(?:~|〜|∼|-|−|–|—|―|ー|から|to)\s*\d")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)(万|千)?$")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|「[^「」]*」|〔[^〔〕]*〕")


def strip_brackets(text: str) -> str:
    """Remove bracketed parts such as (注) or 【必須】 from a text."""
    return _BRACKETS.sub("", text)


_ZERO_WORDS = frozenset(squeeze(w) for w in ("なし", "無し", "無", "実績なし", "該当なし", "0件"))


@lru_cache(maxsize=_CACHE)
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


#: The largest count the database holds (a 32-bit INTEGER column on PostgreSQL); a larger
#: figure is a typing error, and storing it would fail the whole import.
VOLUME_MAX = 2**31 - 1


def volume(value: Any) -> tuple[int | None, bool, Issue]:
    """Read a yearly count: returns (count or None, is an estimate, issue)."""
    count, estimate, issue = _volume(value)
    if count is not None and count > VOLUME_MAX:
        return None, estimate, ("volume_unreadable", {})
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

_ERAS = {"令和": 2018, "r": 2018, "平成": 1988, "h": 1988, "昭和": 1925, "s": 1925}
_YEAR_UNKNOWN = frozenset(
    squeeze(w)
    for w in (
        "未定",
        "検討中",
        "未定(検討中)",
        "なし",
        "無し",
        "予定なし",
        "対象外",
        "不明",
        "tbd",
        "未",
        "-",
        "調整中",
        "今後検討",
        "n/a",
        "na",
        "nd",
    )
)
_OPEN_WORDS = ("以降", "以後", "以上", "から", "or later", "onward", "onwards", "after", "~")
_ERA_YEAR = (
    r"(令和|平成|昭和|r|h|s)\.?(元|\d{1,2})(?:年度|年|fy)?"
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


@lru_cache(maxsize=_CACHE)
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

_YES = (
    "○",
    "〇",
    "◯",
    "●",
    "◎",
    "✓",
    "✔",
    "☑",
    "レ",
    "要",
    "必要",
    "必須",
    "有",
    "有り",
    "あり",
    "有る",
    "ある",
    "可",
    "可能",
    "済",
    "済み",
    "はい",
    "y",
    "yes",
    "true",
    "1",
    "是",
    "ok",
    "enabled",
    "有料",
    "要する",
    "対象",
    "該当",
)
_NO = (
    "×",
    "✕",
    "✖",
    "☓",
    "x",
    "不要",
    "不必要",
    "無",
    "無し",
    "なし",
    "無い",
    "ない",
    "不可",
    "不可能",
    "未",
    "いいえ",
    "n",
    "no",
    "false",
    "0",
    "否",
    "notenabled",
    "無料",
    "要しない",
    "対象外",
    "非該当",
    "該当なし",
    "廃止",
    "不用",
)
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
    (
        (squeeze(w), _YES_NO[squeeze(w)])
        for w in (
            "無し",
            "なし",
            "無",
            "有り",
            "あり",
            "有",
            "不要",
            "必要",
            "要",
            "不可",
            "可",
            "済",
            "済み",
            "対象外",
            "不必要",
        )
    ),
    key=lambda item: -len(item[0]),
)
_NEUTRAL = frozenset(
    squeeze(w)
    for w in ("△", "▲", "一部", "場合による", "ケースによる", "not applicable", "notapplicable")
)
_SEPARATOR_AFTER_WORD = "(:;,、。/ -[【「0123456789"


@lru_cache(maxsize=_CACHE)
def _yes_no_text(text: str) -> tuple[bool | None, str, Issue]:
    key = squeeze(text)
    if not key or key in UNKNOWN_WORDS or key in _NEUTRAL:
        return None, "", None
    if key in _YES_NO:
        return _YES_NO[key], "", None
    line = " ".join(nfkc(text).split())
    folded = line.lower()
    for word, answer in _YES_NO_PREFIXES:
        if folded.startswith(word) and len(folded) > len(word):
            rest = line[len(word) :].lstrip()
            if rest and (line[len(word)] in _SEPARATOR_AFTER_WORD or line[len(word)].isspace()):
                remainder = rest.strip(" :;,、。/-")
                if remainder.startswith(("(", "[", "【", "「")) and remainder.endswith(
                    (")", "]", "】", "」")
                ):
                    remainder = remainder[1:-1].strip()
                return answer, remainder, None
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
# coded fields
# ------------------------------------------------------------------------------------------

KIND_LABELS = _keys(
    {
        "申請": "application",
        "申請等": "application",
        "申込み・申請": "application",
        "届出": "notification",
        "届": "notification",
        "届け出": "notification",
        "届出等": "notification",
        "報告": "notification",
        "申告": "notification",
        "証明書交付": "certificate",
        "証明": "certificate",
        "証明書": "certificate",
        "交付": "certificate",
        "発行": "certificate",
        "証明書の交付": "certificate",
        "証明書発行": "certificate",
        "証明・交付": "certificate",
        "閲覧": "inspection",
        "縦覧": "inspection",
        "閲覧・縦覧": "inspection",
        "縦覧等": "inspection",
        "閲覧等": "inspection",
        "予約": "reservation",
        "申込": "reservation",
        "申込み": "reservation",
        "申し込み": "reservation",
        "予約・申込": "reservation",
        "予約・申込み": "reservation",
        "相談": "consultation",
        "その他": "other",
        "application": "application",
        "notification": "notification",
        "certificate": "certificate",
        "inspection": "inspection",
        "reservation": "reservation",
        "consultation": "consultation",
        "other": "other",
    }
)
KIND_CODES = {
    "1": "application",
    "2-1": "other",
    "2-2": "other",
    "2-3": "other",
    "3": "inspection",
    "4": "other",
}
_KIND_CONTAINS = (
    ("証明", "certificate"),
    ("閲覧", "inspection"),
    ("縦覧", "inspection"),
    ("届", "notification"),
    ("予約", "reservation"),
    ("申込", "reservation"),
    ("相談", "consultation"),
    ("申請", "application"),
)
KIND_CHOICES = "申請, 届出, 証明書交付, 閲覧・縦覧, 予約・申込, 相談, その他"


@lru_cache(maxsize=_CACHE)
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
    if is_blank(value):
        return None, None
    return _kind_text(value if type(value) is str else cell_text(value))


_NOBODY = object()  # a known value that is neither residents nor businesses (e.g. government)
APPLICANT_LABELS = _keys(
    {
        "住民": "residents",
        "市民": "residents",
        "区民": "residents",
        "町民": "residents",
        "村民": "residents",
        "県民": "residents",
        "都民": "residents",
        "個人": "residents",
        "国民": "residents",
        "国民等": "residents",
        "住民等": "residents",
        "市民等": "residents",
        "本人": "residents",
        "person": "residents",
        "persons": "residents",
        "individuals": "residents",
        "individual": "residents",
        "residents": "residents",
        "citizens": "residents",
        "事業者": "businesses",
        "法人": "businesses",
        "企業": "businesses",
        "事業所": "businesses",
        "団体": "businesses",
        "民間事業者": "businesses",
        "民間事業者等": "businesses",
        "事業者等": "businesses",
        "法人等": "businesses",
        "econom": "businesses",
        "economic segments": "businesses",
        "ngo": "businesses",
        "non-profit institutions and organizations": "businesses",
        "businesses": "businesses",
        "business": "businesses",
        "organizations": "businesses",
        "両方": "both",
        "both": "both",
        "住民・事業者": "both",
        "個人・法人": "both",
        "市民・事業者": "both",
        "個人及び法人": "both",
        "国民等、民間事業者等": "both",
        "個人、法人": "both",
        "住民、事業者": "both",
        "国": _NOBODY,
        "地方等": _NOBODY,
        "独立行政法人等": _NOBODY,
        "行政機関": _NOBODY,
        "地方公共団体": _NOBODY,
        "intern_gov": _NOBODY,
        "internal to government": _NOBODY,
        "ptc": _NOBODY,
        "provinces, territories and communities": _NOBODY,
        "for": _NOBODY,
        "foreign entities": _NOBODY,
        "enviro": _NOBODY,
        "environmental": _NOBODY,
    }
)
APPLICANT_CODES = {
    "1": _NOBODY,
    "2": _NOBODY,
    "3": _NOBODY,
    "4-1": _NOBODY,
    "4-2": _NOBODY,
    "4-3": _NOBODY,
    "4-4": _NOBODY,
    "5": "residents",
    "6": "businesses",
    "7": "both",
}
_APPLICANT_CONTAINS = (
    ("住民", "residents"),
    ("市民", "residents"),
    ("個人", "residents"),
    ("事業", "businesses"),
    ("法人", "businesses"),
    ("企業", "businesses"),
)
APPLICANT_CHOICES = "住民, 事業者, 両方"


@lru_cache(maxsize=_CACHE)
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
    if is_blank(value):
        return None, None
    return _applicant_text(value if type(value) is str else cell_text(value))


_NO_EVENT = frozenset(
    squeeze(w) for w in ("その他(個人も法人にもあてはまらない)", "なし", "無し", "該当なし", "-")
)


@lru_cache(maxsize=_CACHE)
def _life_events_text(text: str) -> tuple[str, ...]:
    return tuple(item for item in split_values(text) if squeeze(item) not in _NO_EVENT)


def life_events(value: Any) -> tuple[list[str], Issue]:
    """Read life events as a list of Japanese labels."""
    if is_blank(value):
        return [], None
    return list(_life_events_text(value if type(value) is str else cell_text(value))), None


ONLINE_LABELS = _keys(
    {
        "実施済": "done",
        "実施済み": "done",
        "済": "done",
        "済み": "done",
        "完了": "done",
        "オンライン化済": "done",
        "オンライン化済み": "done",
        "対応済": "done",
        "対応済み": "done",
        "実施": "done",
        "○": "done",
        "〇": "done",
        "◯": "done",
        "done": "done",
        "yes": "done",
        "y": "done",
        "enabled": "done",
        "online": "done",
        "implemented": "done",
        "未実施": "not_done",
        "未": "not_done",
        "未対応": "not_done",
        "未実施(予定)": "not_done",
        "なし": "not_done",
        "無": "not_done",
        "×": "not_done",
        "未済": "not_done",
        "not_done": "not_done",
        "not done": "not_done",
        "no": "not_done",
        "n": "not_done",
        "not enabled": "not_done",
        "offline": "not_done",
        "一部実施済": "partial",
        "一部実施済み": "partial",
        "一部": "partial",
        "一部対応": "partial",
        "一部オンライン化": "partial",
        "一部実施": "partial",
        "△": "partial",
        "partial": "partial",
        "partially": "partial",
        "partly": "partial",
        "適用除外": "excluded",
        "対象外": "excluded",
        "除外": "excluded",
        "excluded": "excluded",
        "not applicable": "excluded",
        "na": "excluded",
        "n/a": "excluded",
        "その他": "other",
        "other": "other",
    }
)
ONLINE_CODES = {"1": "done", "2": "not_done", "3": "excluded", "4": "other", "5": "partial"}
ONLINE_CHOICES = "1 実施済, 2 未実施, 3 適用除外, 4 その他, 5 一部実施済"


@lru_cache(maxsize=_CACHE)
def _online_text(text: str) -> tuple[str | None, Issue]:
    key = squeeze(text)
    if not key or key in ("-", "不明", "nd", "?", "unknown"):
        return None, None
    items = split_values(text) or (text,)
    found, value = _lookup(items[0], ONLINE_LABELS, ONLINE_CODES)
    if found:
        return value, None
    return None, ("value_unknown", {"choices": ONLINE_CHOICES})


def online_status(value: Any) -> tuple[str | None, Issue]:
    """Read the online status (national codes 1–5, words, or Y/N/NA)."""
    if is_blank(value):
        return None, None
    if type(value) is bool:
        return ("done" if value else "not_done"), None
    return _online_text(value if type(value) is str else cell_text(value))


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


IDENTITY_LABELS = _keys(
    {
        "押印+印鑑証明": 1,
        "押印及び印鑑証明": 1,
        "実印+印鑑証明": 1,
        "実印": 1,
        "印鑑証明": 1,
        "押印": 2,
        "認印": 2,
        "押印のみ": 2,
        "署名": 3,
        "自署": 3,
        "署名又は記名押印": 3,
        "本人確認書類の提示・提出": 4,
        "本人確認書類": 4,
        "本人確認書類の提示": 4,
        "身分証明書": 4,
        "身分証": 4,
        "マイナンバーカード": 4,
        "運転免許証": 4,
        "その他": 5,
        "本人確認不要": 6,
        "不要": 6,
        "なし": 6,
        "無し": 6,
    }
)
IDENTITY_CODES = {str(n): n for n in range(1, 7)}
IDENTITY_CHOICES = (
    "1 押印＋印鑑証明, 2 押印, 3 署名, 4 本人確認書類の提示・提出, 5 その他, 6 本人確認不要"
)
SEAL_BY_IDENTITY = {1: True, 2: True, 3: True, 4: False, 5: None, 6: False}


@lru_cache(maxsize=_CACHE)
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
    if is_blank(value):
        return None, None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int:
        return (
            (value, None)
            if 1 <= value <= 6
            else (None, ("value_unknown", {"choices": IDENTITY_CHOICES}))
        )
    return _identity_text(value if type(value) is str else cell_text(value))


_SEAL_WORDS = {
    squeeze(w): v
    for w, v in (
        ("押印", True),
        ("署名", True),
        ("押印又は署名", True),
        ("押印・署名", True),
        ("記名押印", True),
        ("署名又は記名押印", True),
        ("押印不要", False),
        ("押印廃止", False),
        ("署名不要", False),
        ("seal", True),
        ("signature", True),
    )
}


@lru_cache(maxsize=_CACHE)
def _seal_text(text: str) -> tuple[bool | None, Issue]:
    key = squeeze(text)
    if key in _SEAL_WORDS:
        return _SEAL_WORDS[key], None
    items = split_values(text)
    if items and split_code(items[0])[0] is not None:
        code, issue = _identity_text(text)
        if code is not None:
            return SEAL_BY_IDENTITY[code], None
    answer, _rest, issue = _yes_no_text(text)
    return answer, issue


def seal_required(value: Any) -> tuple[bool | None, Issue]:
    """Read whether a seal or signature is needed."""
    if type(value) is str:
        return _seal_text(value)
    answer, _rest, issue = yes_no(value)
    return answer, issue


ORIGINALS_LABELS = _keys(
    {
        "電子・原紙を選択可能": False,
        "原紙での提出のみ": True,
        "電子での提出のみ": False,
        "一部電子、一部原紙での提出": True,
        "一部電子・一部原紙での提出": True,
        "その他": None,
        "原本": True,
        "原本必要": True,
        "原本要": True,
        "写し可": False,
        "コピー可": False,
    }
)
ORIGINALS_CODES = {"0": False, "1": False, "2": True, "3": True, "4": None}


@lru_cache(maxsize=_CACHE)
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
    answer, _rest, issue = _yes_no_text(text)
    return answer, issue


def originals_required(value: Any) -> tuple[bool | None, Issue]:
    """Read whether original paper documents are needed."""
    if type(value) is str:
        return _originals_text(value)
    answer, _rest, issue = yes_no(value)
    return answer, issue


_MYNAPORTAL_WORDS = {
    squeeze(w): v
    for w, v in (
        ("対象", True),
        ("対象外", False),
        ("該当", True),
        ("非該当", False),
        ("推奨", True),
        ("ぴったりサービス", True),
        ("マイナポータル", True),
        ("特定手続", True),
    )
}


@lru_cache(maxsize=_CACHE)
def _mynaportal_text(text: str) -> tuple[bool | None, Issue]:
    key = squeeze(text)
    if key in _MYNAPORTAL_WORDS:
        return _MYNAPORTAL_WORDS[key], None
    answer, _rest, issue = _yes_no_text(text)
    return answer, issue


def mynaportal_eligible(value: Any) -> tuple[bool | None, Issue]:
    """Read whether the procedure is one the nation asks to put on the My Number Portal."""
    if type(value) is str:
        return _mynaportal_text(value)
    answer, _rest, issue = yes_no(value)
    return answer, issue


VERDICT_LABELS = _keys(
    {
        "可": "feasible",
        "可能": "feasible",
        "オンライン化可能": "feasible",
        "対応可": "feasible",
        "実施可能": "feasible",
        "○": "feasible",
        "〇": "feasible",
        "◯": "feasible",
        "yes": "feasible",
        "feasible": "feasible",
        "possible": "feasible",
        "可能性あり": "feasible",
        "不可": "infeasible",
        "不可能": "infeasible",
        "オンライン化不可": "infeasible",
        "困難": "infeasible",
        "対応不可": "infeasible",
        "×": "infeasible",
        "no": "infeasible",
        "infeasible": "infeasible",
        "not feasible": "infeasible",
        "impossible": "infeasible",
        "検討中": "undecided",
        "未判断": "undecided",
        "未定": "undecided",
        "保留": "undecided",
        "要検討": "undecided",
        "△": "undecided",
        "調整中": "undecided",
        "undecided": "undecided",
        "pending": "undecided",
        "tbd": "undecided",
    }
)
VERDICT_CHOICES = "可能, 不可, 検討中"


@lru_cache(maxsize=_CACHE)
def _verdict_text(text: str) -> tuple[str | None, Issue]:
    key = squeeze(text)
    if not key or key in ("-", "不明", "nd", "?"):
        return None, None
    found, value = _lookup(" ".join(nfkc(text).split()), VERDICT_LABELS, {})
    if found:
        return value, None
    return None, ("value_unknown", {"choices": VERDICT_CHOICES})


def verdict(value: Any) -> tuple[str | None, Issue]:
    """Read the DX office's feasibility verdict."""
    if is_blank(value):
        return None, None
    return _verdict_text(value if type(value) is str else cell_text(value))


BLOCKERS = (
    "law_change",
    "no_system",
    "paper_originals",
    "fee_payment",
    "seal_signature",
    "identity_in_person",
    "by_nature",
    "cost_benefit",
    "other",
)
BLOCKER_CODES = {
    "0": None,
    "1": "law_change",
    "2": "law_change",
    "3": "no_system",
    "4": "paper_originals",
    "5": "by_nature",
    "6": "cost_benefit",
    "7": "other",
}
_BLOCKER_WORDS = (
    ("実施予定", None),
    ("予定", None),
    ("特になし", None),
    ("なし", None),
    ("無し", None),
    ("制度改正", "law_change"),
    ("法改正", "law_change"),
    ("法令改正", "law_change"),
    ("条例改正", "law_change"),
    ("規則改正", "law_change"),
    ("法令", "law_change"),
    ("法律", "law_change"),
    ("条例", "law_change"),
    ("費用対効果", "cost_benefit"),
    ("コスト", "cost_benefit"),
    ("費用", "cost_benefit"),
    ("件数が少", "cost_benefit"),
    ("システム", "no_system"),
    ("原本", "paper_originals"),
    ("紙", "paper_originals"),
    ("添付書類", "paper_originals"),
    ("手数料", "fee_payment"),
    ("決済", "fee_payment"),
    ("納付", "fee_payment"),
    ("支払", "fee_payment"),
    ("キャッシュレス", "fee_payment"),
    ("押印", "seal_signature"),
    ("署名", "seal_signature"),
    ("印鑑", "seal_signature"),
    ("本人確認", "identity_in_person"),
    ("対面", "identity_in_person"),
    ("面談", "identity_in_person"),
    ("来庁", "identity_in_person"),
    ("窓口", "identity_in_person"),
    ("性質", "by_nature"),
    ("電子化すべきでない", "by_nature"),
    ("現物", "by_nature"),
    ("現地", "by_nature"),
    ("実地", "by_nature"),
    ("その他", "other"),
    ("上記に該当しない", "other"),
    ("law", "law_change"),
    ("legislation", "law_change"),
    ("regulation", "law_change"),
    ("cost", "cost_benefit"),
    ("system", "no_system"),
    ("original", "paper_originals"),
    ("paper", "paper_originals"),
    ("fee", "fee_payment"),
    ("payment", "fee_payment"),
    ("seal", "seal_signature"),
    ("signature", "seal_signature"),
    ("identity", "identity_in_person"),
    ("in person", "identity_in_person"),
    ("in-person", "identity_in_person"),
    ("nature", "by_nature"),
    ("other", "other"),
)
BLOCKER_CHOICES = (
    "制度改正が必要, システムがない, 原本が紙, 手数料の納付, 押印・署名, 対面での本人確認, "
    "性質上できない, 費用対効果, その他"
)


@lru_cache(maxsize=_CACHE)
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


@lru_cache(maxsize=_CACHE)
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
