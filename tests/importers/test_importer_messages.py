"""Every problem message has an English template, a Japanese translation, and a stable code."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

from importers.messages import GROUPED, MESSAGES, ONE, grouped_template, render, template

PACKAGE = Path(__file__).parents[2] / "importers"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_template_is_marked_for_extraction_with_n_():
    tree = ast.parse((PACKAGE / "messages.py").read_text(encoding="utf-8"))
    marked = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and isinstance(node.args[0], ast.Constant)
    }
    assert set(MESSAGES.values()) | set(GROUPED.values()) | set(ONE.values()) <= marked


def test_every_singular_form_has_its_plural_forms_placeholders():
    plurals = set(MESSAGES.values()) | set(GROUPED.values())
    assert set(ONE) <= plurals
    for plural, singular in ONE.items():
        assert _fields(singular) == _fields(plural), singular
    assert set(GROUPED) <= set(MESSAGES)


def test_every_template_has_a_japanese_translation_with_the_same_placeholders():
    translations = json.loads((PACKAGE / "messages_ja.json").read_text(encoding="utf-8"))
    # Every form for other counts is translated; a singular only when Japanese words it apart.
    assert set(MESSAGES.values()) | set(GROUPED.values()) <= set(translations)
    assert set(translations) <= set(MESSAGES.values()) | set(GROUPED.values()) | set(ONE.values())
    for english, japanese in translations.items():
        assert _fields(english) == _fields(japanese), english
        assert japanese.endswith(("。", "）")), japanese


def test_every_code_used_in_the_package_exists():
    used: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0] if name in ("InventoryRefused", "_skip") else None
                if name == "Problem" and len(node.args) > 1:
                    first = node.args[1]
                if name == "_skip" and len(node.args) > 1:
                    first = node.args[1]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    used.add(first.value)
    assert used
    assert used <= set(MESSAGES), used - set(MESSAGES)


def test_messages_render_in_both_languages():
    params = {"row": 12, "value": "100～200"}
    assert render("volume_range", params) == (
        "Row 12: the volume “100～200” is a range; enter one number."
    )
    assert render("volume_range", params, "ja") == (
        "12行目：件数「100～200」は範囲です。1つの数値を入力してください。"
    )
    assert template("volume_range", "ja-JP").startswith("{row}行目")


SAFEGUARD = {"times": "1,000", "median": "16,500", "at_least": "1,000,000"}


def test_a_count_of_one_reads_in_the_singular_and_a_larger_count_in_the_plural():
    one = render("volume_implausible", {"count": 1, "rows": "9", **SAFEGUARD})
    assert one == (
        "1 procedure has a yearly volume far above the others in this file (more than 1,000 "
        "times the median of 16,500, and at least 1,000,000): row 9. Check that it is not a "
        "typing error; correct it in the file, or import it if it is right."
    )
    two = render("volume_implausible", {"count": 2, "rows": "5, 6", **SAFEGUARD})
    assert two.startswith("2 procedures have a yearly volume far above the others")
    assert ": rows 5, 6. Check that they are not typing errors;" in two
    elsewhere = {"code": "K-1", "other": "子育て給付課"}
    assert render("code_in_other_division", {"count": 1, "rows": "2", **elsewhere}) == (
        "1 new procedure has a code already used in another division (row 2; “K-1” in "
        "“子育て給付課”). If it is the same procedure, correct the division in the file or the "
        "column read as the division; if not, import it as new."
    )
    assert render(
        "code_in_other_division", {"count": 3, "rows": "2, 4, 7", **elsewhere}
    ).startswith(
        "3 new procedures have a code already used in another division (rows 2, 4, 7; for "
        "example “K-1” in “子育て給付課”)."
    )
    named = {"name": "児童手当の認定請求", "other": "子育て給付課"}
    assert render("name_in_other_division", {"count": 1, "rows": "3", **named}).startswith(
        "1 new procedure has the name of a procedure of another division (row 3; "
        "“児童手当の認定請求” in “子育て給付課”). If it is the same procedure,"
    )
    assert render("csv_characters_replaced", {"count": 1}).startswith(
        "1 character of the CSV file could not be decoded and was replaced"
    )


def test_japanese_counts_are_written_without_a_space():
    one = render("volume_implausible", {"count": 1, "rows": "9", **SAFEGUARD}, "ja")
    assert one.startswith("年間件数がこのファイルの他の手続より極端に多い手続が1件あります")
    assert "：9行目。" in one
    named = {"name": "児童手当の認定請求", "other": "子育て給付課", "rows": "3"}
    assert render("name_in_other_division", {"count": 1, **named}, "ja").startswith(
        "新しい手続のうち1件は、他の課に同じ名前の手続があります（3行目。「子育て給付課」の"
        "「児童手当の認定請求」）。"
    )
    assert render("name_in_other_division", {"count": 2, **named}, "ja").startswith(
        "新しい手続のうち2件は、他の課に同じ名前の手続があります（3行目。例：「子育て給付課」の"
    )


def test_grouped_warnings_leave_the_count_and_rows_to_the_table():
    assert grouped_template("name_missing") is None
    assert grouped_template("volume_implausible", "en", 1).format(**SAFEGUARD) == (
        "The yearly volume is far above the others in this file (more than 1,000 times the "
        "median of 16,500, and at least 1,000,000). Check that it is not a typing error; correct "
        "it in the file, or import it if it is right."
    )
    assert grouped_template("volume_implausible", "en", 2).startswith("The yearly volumes are")
    assert (
        grouped_template("code_in_other_division", "ja", 1)
        .format(code="K-1", other="子育て給付課")
        .startswith(
            "新しい手続のコードが他の課の手続で既に使われています（「子育て給付課」の「K-1」）。"
        )
    )
