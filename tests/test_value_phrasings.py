"""The words divisions write in yes/no, fee, seal, status and volume cells are understood."""

from __future__ import annotations

import json

import pytest
from wtforms.validators import NumberRange

from importers import values as V
from importers.messages import render
from importers.schema import ANNUAL_VOLUME_MAX
from importers.value_words import VALUE_WORDS_FILE, load_value_words
from procedures.catalogue.forms import ProcedureForm
from procedures.plan.forms import TierRowForm

# ------------------------------------------------------------------------------------------
# yes / no
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "answer"),
    [
        ("対応可", True),
        ("対応済", True),
        ("対応済み", True),
        ("未対応", False),
        ("可", True),
        ("不可", False),
        ("済", True),
        ("未", False),
        ("未済", False),
    ],
)
def test_done_and_possible_words_answer_yes_no(cell, answer):
    assert V.yes_no(cell) == (answer, "", None)


@pytest.mark.parametrize(
    ("cell", "answer"),
    [
        ("○", True),
        ("〇", True),
        ("◯", True),
        ("\uffee", True),  # HALFWIDTH WHITE CIRCLE
        ("o", True),
        ("O", True),
        ("×", False),
        ("✕", False),
        ("✗", False),
        ("✘", False),
        ("╳", False),
        ("x", False),
        ("Ｘ", False),
    ],
)
def test_circles_and_crosses_in_full_and_half_width_answer_yes_no(cell, answer):
    assert V.yes_no(cell) == (answer, "", None)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("不要（郵送可）", (False, "郵送可", None)),
        ("要（窓口で本人確認）", (True, "窓口で本人確認", None)),
        ("要 【窓口で本人確認】", (True, "窓口で本人確認", None)),
        ("不要（郵送可）。", (False, "郵送可", None)),
        ("要（本人確認（免許証等））", (True, "本人確認(免許証等)", None)),
    ],
)
def test_needed_word_with_a_reason_in_brackets_keeps_the_reason(cell, expected):
    assert V.yes_no(cell) == expected


def test_two_bracketed_reasons_keep_both_brackets():
    assert V.yes_no("要（平日）（窓口）") == (True, "(平日)(窓口)", None)


# ------------------------------------------------------------------------------------------
# fee
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "remark"),
    [
        ("300円", "300円"),
        ("１通300円", "1通300円"),
        ("200円～400円", "200円~400円"),
        ("1,000円", "1,000円"),
        ("実費", "実費"),
        ("300円/通", "300円/通"),
        ("￥500", "¥500"),
        ("1万円", "1万円"),
    ],
)
def test_an_amount_means_a_fee_and_is_kept_whole_as_the_payment(cell, remark):
    assert V.fee(cell) == (True, remark, None)


@pytest.mark.parametrize("cell", ["無料", "0円", "０円", "無償"])
def test_free_and_zero_yen_mean_no_fee(cell):
    assert V.fee(cell) == (False, "", None)


def test_free_with_a_remark_keeps_the_remark():
    assert V.fee("無料（郵送は切手代実費）") == (False, "郵送は切手代実費", None)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("有（200円）", (True, "200円", None)),
        ("○ 300円/通", (True, "300円/通", None)),
        ("2 手数料等有り", (True, "", None)),
        ("1 手数料等無し", (False, "", None)),
        ("有料", (True, "", None)),
        ("不要", (False, "", None)),
        ("-", (None, "", None)),
        (None, (None, "", None)),
        (1, (True, "", None)),
    ],
)
def test_fee_falls_back_to_yes_no(cell, expected):
    assert V.fee(cell) == expected


def test_fee_text_with_neither_amount_nor_answer_is_unreadable():
    assert V.fee("要相談") == (None, "要相談", ("yes_no_unreadable", {}))


# ------------------------------------------------------------------------------------------
# seal, online status, My Number Portal
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    ["廃止済", "廃止済み", "R3廃止", "令和3年度廃止", "押印廃止済", "署名に変更済", "署名に変更"],
)
def test_abolished_seal_means_no_seal(cell):
    assert V.seal_required(cell) == (False, None)


def test_abolished_in_a_western_year_with_a_joiner_means_no_seal():
    assert V.seal_required("2021年度に押印廃止") == (False, None)


@pytest.mark.parametrize(
    "cell", ["R7予定", "令和7年度予定", "予定", "検討中", "対応予定", "未実施（R8予定）"]
)
def test_a_plan_is_not_done_yet(cell):
    assert V.online_status(cell) == ("not_done", None)


@pytest.mark.parametrize("cell", ["R5実施済", "令和5年4月実施済", "R5.4～実施", "R5.4〜実施"])
def test_a_dated_implementation_is_done(cell):
    assert V.online_status(cell) == ("done", None)


def test_a_year_alone_is_no_online_status():
    assert V.online_status("R7") == (
        None,
        ("value_unknown", {"choices": "1 実施済, 2 未実施, 3 適用除外, 4 その他, 5 一部実施済"}),
    )


@pytest.mark.parametrize(
    ("cell", "answer"), [("対応可", True), ("対応済", True), ("対応不可", False)]
)
def test_mynaportal_support_words(cell, answer):
    assert V.mynaportal_eligible(cell) == (answer, None)


# ------------------------------------------------------------------------------------------
# yearly volume: one limit for the importer and the edit forms
# ------------------------------------------------------------------------------------------


LIMIT = f"{ANNUAL_VOLUME_MAX:,}"


def test_volume_at_the_limit_is_kept():
    assert V.volume(ANNUAL_VOLUME_MAX) == (ANNUAL_VOLUME_MAX, False, None)
    assert V.volume(LIMIT) == (ANNUAL_VOLUME_MAX, False, None)


@pytest.mark.parametrize(
    ("cell", "estimate"),
    [
        (ANNUAL_VOLUME_MAX + 1, False),
        (float(ANNUAL_VOLUME_MAX * 3), False),
        (f"約{LIMIT}1件", True),
    ],
)
def test_volume_above_the_limit_is_refused_as_too_large(cell, estimate):
    assert V.volume(cell) == (None, estimate, ("volume_too_large", {"limit": LIMIT}))


def test_volume_too_large_says_what_to_do_in_both_languages():
    params = {"row": 7, "value": "338538154", "limit": "100,000,000"}
    assert render("volume_too_large", params) == (
        "Row 7: the volume “338538154” is more than 100,000,000 a year, which is most likely a "
        "typing error; check the figure and enter the number of cases per year."
    )
    assert render("volume_too_large", params, "ja") == (
        "7行目：件数「338538154」は年間100,000,000件を超えており、入力の誤りと考えられます。"
        "数値をご確認のうえ、年間の件数を入力してください。"
    )


@pytest.mark.parametrize(
    "field", [ProcedureForm.annual_volume, TierRowForm.min_volume], ids=["procedure", "tier"]
)
def test_edit_forms_accept_the_volumes_the_importer_accepts(field):
    [limit] = [v.max for v in field.kwargs["validators"] if isinstance(v, NumberRange)]
    assert limit == ANNUAL_VOLUME_MAX


# ------------------------------------------------------------------------------------------
# the word tables are checked when loaded
# ------------------------------------------------------------------------------------------


def _tables_with(tmp_path, change):
    words = json.loads(VALUE_WORDS_FILE.read_text(encoding="utf-8"))
    change(words)
    path = tmp_path / "value_words.json"
    path.write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_word_both_yes_and_no_is_refused(tmp_path):
    path = _tables_with(tmp_path, lambda w: w["yes_no"]["no"].append("対応可"))
    with pytest.raises(ValueError, match=r"yes_no yes/no: in both: \['対応可'\]"):
        load_value_words(path)


def test_a_word_both_free_and_paid_is_refused(tmp_path):
    path = _tables_with(tmp_path, lambda w: w["fee"]["paid"].append("無料"))
    with pytest.raises(ValueError, match=r"fee free/paid: in both: \['無料'\]"):
        load_value_words(path)


def test_an_empty_currency_list_is_refused(tmp_path):
    path = _tables_with(tmp_path, lambda w: w["fee"].update(currency_after=[]))
    with pytest.raises(ValueError, match=r"fee\.currency_after: not a list of words"):
        load_value_words(path)


def test_a_suffix_that_is_no_yes_no_word_is_refused(tmp_path):
    path = _tables_with(tmp_path, lambda w: w["yes_no"]["suffixes"].append("予定"))
    with pytest.raises(ValueError, match=r"not yes or no words: \['予定'\]"):
        load_value_words(path)
