"""Every problem message has an English template, a Japanese translation, and a stable code."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

from importers.messages import MESSAGES, render, template

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
    assert set(MESSAGES.values()) <= marked


def test_every_template_has_a_japanese_translation_with_the_same_placeholders():
    translations = json.loads((PACKAGE / "messages_ja.json").read_text(encoding="utf-8"))
    assert set(translations) == set(MESSAGES.values())
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
