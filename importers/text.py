"""One cell as text: NFKC, Excel's escapes undone, line and block forms, lookup keys, parts.

The forms every normaliser of ``importers.values`` starts from. The cached ones are pure
functions: real inventories repeat the same texts thousands of times.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from typing import Any

#: Entries kept by each cache of a normaliser of short, repeated values.
CACHE_SIZE = 8192


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


@lru_cache(maxsize=CACHE_SIZE)
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


@lru_cache(maxsize=CACHE_SIZE)
def split_code(item: str) -> tuple[str | None, str]:
    """Split ``1 実施済`` into ("1", "実施済"); ``3`` into ("3", ""); a label into (None, label)."""
    match = _CODED.match(item)
    if match:
        return match.group(1), match.group(2).strip()
    if _CODE_ONLY.match(item):
        return item, ""
    return None, item
