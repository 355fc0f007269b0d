"""CSV / TSV: binary and HTML files refused, the encoding and the delimiter detected."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import PurePath
from typing import Any

from importers.messages import SEVERITY_WARNING
from importers.readers.sheets import RawSheet, RawWorkbook
from importers.results import InventoryRefused, Problem, ReadLimits

_BINARY_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"Rar!", "RAR"),
)
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D, 0x0C}


def _decode(content: bytes, file_name: str) -> tuple[str, int]:
    """Decode CSV bytes as UTF-8 (with or without BOM), UTF-16 (BOM) or CP932."""
    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp932"]
    for encoding in candidates:
        try:
            return content.decode(encoding), 0
        except UnicodeDecodeError:
            continue
    # Neither decodes cleanly. A UTF-8 file with a few damaged bytes would still decode as
    # CP932 mojibake more often than not, so prefer UTF-8 when nearly all of it is UTF-8.
    utf8 = content.decode(candidates[0], errors="replace")
    damaged = utf8.count("\ufffd")
    if damaged <= max(3, len(utf8) // 10000):
        return utf8, damaged
    text = content.decode(candidates[-1], errors="replace")
    replaced = text.count("\ufffd")
    if replaced > max(20, len(text) // 200):
        raise InventoryRefused("csv_encoding_unknown", file_name=file_name)
    return text, replaced


def read_csv(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Read a CSV or TSV file as one sheet named after the file; refuse what is not text."""
    for signature, detected in _BINARY_SIGNATURES:
        if content.startswith(signature):
            raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected=detected)
    head = content[:65536]
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in head:  # no text but UTF-16 holds NUL: not a CSV at all
        raise InventoryRefused("not_a_spreadsheet", file_name=file_name)
    if not utf16 and sum(b in _CONTROL for b in head) > len(head) // 100:
        raise InventoryRefused("file_binary", file_name=file_name)
    text, replaced = _decode(content, file_name)
    start = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html", "<table", "<meta", "mime-version:")) or (
        start.startswith("<") and "<html" in start
    ):
        raise InventoryRefused("file_html", file_name=file_name)
    if start.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in start:
            raise InventoryRefused("file_xml_spreadsheet", file_name=file_name)
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected="XML")
    sample = text[:65536]
    if sum(1 for ch in sample if ord(ch) < 0x20 and ch not in "\t\r\n\f") > len(sample) // 100:
        raise InventoryRefused("file_binary", file_name=file_name)

    delimiter = _delimiter(sample, file_name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[Any]] = []
    numbers: list[int] = []
    width = 0
    try:
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            rows.append(record)
            numbers.append(line)
            if len(record) > width:
                width = len(record)
            if len(rows) * width > limits.max_cells:
                raise InventoryRefused(
                    "file_too_many_cells",
                    sheet=PurePath(file_name).stem,
                    cells=f"{len(rows) * width:,}+",
                    limit=f"{limits.max_cells:,}",
                )
            if len(rows) > limits.max_rows:
                raise InventoryRefused(
                    "file_too_many_rows", file_name=file_name, limit=f"{limits.max_rows:,}"
                )
    except csv.Error:
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
    problems = []
    if replaced:
        problems.append(Problem(SEVERITY_WARNING, "csv_characters_replaced", {"count": replaced}))
    sheet = RawSheet(PurePath(file_name).stem or file_name, rows, row_numbers=numbers)
    return RawWorkbook("csv", [sheet], problems)


def _delimiter(sample: str, file_name: str) -> str:
    if file_name.lower().endswith(".tsv"):
        return "\t"
    lines = [line for line in sample.splitlines()[:30] if line.strip()]
    tabs = sum(line.count("\t") for line in lines)
    commas = sum(line.count(",") for line in lines)
    semicolons = sum(line.count(";") for line in lines)
    if tabs > commas and tabs >= semicolons:
        return "\t"
    if semicolons > commas * 2:
        return ";"
    return ","
