"""A CSV revision of the national priority list: rows, and problems as codes with params."""

from __future__ import annotations

import pytest

from importers.priority_list import read_priority_list

CATEGORIES = ("child_care", "nursing_care", "disaster", "other")


def _read(content: bytes, max_rows: int = 500):
    return read_priority_list(content, categories=CATEGORIES, max_rows=max_rows)


def test_comments_before_the_header_are_skipped_and_cp932_is_read():
    content = "# 出典: 自治体DX推進計画\n\ncategory,name\ndisaster,り災証明書の発行申請\n"
    read = _read(content.encode("cp932"))
    assert (read.rows, read.problems) == ([("disaster", "り災証明書の発行申請")], [])


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        (b"kind,name\nchild_care,x\n", [("columns_missing", {"columns": ["category"]})]),
        (b"\xff\xfe\x00\x00\x81", [("encoding_unknown", {})]),
        (b"category,name\n", [("no_rows", {})]),
        (
            "category,name\nchild_care,妊娠の届出\nkosodate,保育所\n,\nchild_care,\n"
            "child_care,妊娠の届出\nother," + "長" * 501 + "\n",
            [
                ("category_unknown", {"line": 3, "value": "kosodate"}),
                ("name_empty", {"line": 5}),
                ("name_twice", {"line": 6, "name": "妊娠の届出", "first": 2}),
                ("name_too_long", {"line": 7}),
            ],
        ),
    ],
)
def test_every_problem_is_found_with_its_line(content, problems):
    if isinstance(content, str):
        content = content.encode()
    assert _read(content).problems == problems


def test_a_list_over_the_cap_is_a_problem():
    read = _read(b"category,name\nother,a\nother,b\nother,c\n", max_rows=2)
    assert len(read.rows) == 3
    assert read.problems == [("too_many_rows", {"max_rows": 2})]
