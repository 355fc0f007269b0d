"""The steps of a procedure and the applications a year online, as an inventory's columns tell.

Each fixture is a small sheet named for the quirk it carries (importers/steps.py).
"""

from __future__ import annotations

import json

import pytest

from importers import steps as S
from importers.inventory import parse_inventory
from tests.importers import importer_fixtures as F


def _rows(lines: list[str]):
    inventory = parse_inventory(F.csv_bytes(lines), "inventory.csv")
    return inventory, list(inventory.rows())


def _steps(lines: list[str]) -> list[dict[str, str]]:
    return [S.decode(row.get("steps")) for row in _rows(lines)[1]]


# ------------------------------------------------------------------------------------------
# Canada: a column per step, Y / N / NA, and ND or blank for no data
# ------------------------------------------------------------------------------------------

CANADA_STEPS = "service_name_en,e_registration,e_authentication,e_application,e_decision"


def test_na_is_not_applicable_but_nd_and_an_empty_cell_are_unknown():
    found = _steps(
        [
            CANADA_STEPS,
            "Passport,Y,N,NA,Y",
            "Visa,ND,,Y,ND",
            "Licence,NA,NA,NA,NA",
        ]
    )
    assert found == [
        {
            "registration": "online",
            "identification": "offline",
            "application": "not_applicable",
            "decision": "online",
        },
        {"application": "online"},  # ND and blank name no status: unknown
        {
            "registration": "not_applicable",
            "identification": "not_applicable",
            "application": "not_applicable",
            "decision": "not_applicable",
        },
    ]


def test_a_step_with_its_own_column_is_never_guessed_from_the_combined_status():
    # e_application ND, the others online: the combined online status is "done", but the
    # application step stays unknown, and identification comes from e_authentication alone.
    [found] = _steps([CANADA_STEPS, "Passport,Y,ND,ND,Y"])
    assert found == {"registration": "online", "decision": "online"}


def test_a_step_value_the_words_cannot_read_is_listed_once_for_a_decision():
    inventory, _rows_read = _rows([CANADA_STEPS, "Passport,Y,Y,maybe,Y", "Visa,Y,Y,maybe,Y"])
    [entry] = inventory.unrecognised
    assert (entry.column, entry.value, entry.count) == ("e_application", "maybe", 2)


def test_canadian_channels_give_applications_online_and_not_online_unknown_staying_unknown():
    inventory, rows = _rows(
        [
            "service_name_en,online_applications,telephone_applications,"
            "in_person_applications,postal_mail_applications,other_applications",
            "Passport,10,ND,5,2,0",
            "Visa,ND,ND,ND,ND,ND",
            "Licence,0,0,0,0,0",
        ]
    )
    assert [(r.get("online_volume"), r.get("offline_volume")) for r in rows] == [
        (10, 7),
        (None, None),  # ND everywhere: unknown, never 0
        (0, 0),
    ]
    # The total is still the sum of every channel, as before the split.
    assert [r.get("annual_volume") for r in rows] == [17, None, 0]
    fields = [c.field for c in inventory.sheets[0].columns]
    assert fields == ["name", "online_volume", *["offline_volume"] * 4]


# ------------------------------------------------------------------------------------------
# Japan: the national columns
# ------------------------------------------------------------------------------------------

NATIONAL = "手続名,オンライン化の実施状況,申請等における本人確認手法"


@pytest.mark.parametrize(
    ("status", "identity", "expected"),
    [
        # Already online: identifies online, whatever the paper route needs.
        ("1 実施済", "2 押印", {"application": "online", "identification": "online"}),
        ("5 一部実施済", "", {"application": "online", "identification": "online"}),
        # Not yet online: the code describes the paper route.
        (
            "2 未実施",
            "6 本人確認不要",
            {"application": "offline", "identification": "not_applicable"},
        ),
        ("2 未実施", "1 押印＋印鑑証明", {"application": "offline", "identification": "offline"}),
        ("2 未実施", "3 署名", {"application": "offline", "identification": "offline"}),
        ("2 未実施", "4 本人確認書類の提示・提出", {"application": "offline"}),
        ("2 未実施", "5 その他", {"application": "offline"}),
        (
            "3 適用除外",
            "6 本人確認不要",
            {"application": "not_applicable", "identification": "not_applicable"},
        ),
        ("4 その他", "", {}),
    ],
)
def test_identity_check_tells_identification_by_whether_the_procedure_is_online(
    status, identity, expected
):
    assert _steps([NATIONAL, f"手続,{status},{identity}"]) == [expected]


def test_a_local_seal_column_saying_a_seal_is_needed_makes_identification_offline():
    found = _steps(
        ["手続名,押印,オンライン化の状況", "届A,要,未実施", "届B,不要,未実施", "届C,要,実施済"]
    )
    assert found == [
        {"identification": "offline", "application": "offline"},
        {"application": "offline"},  # no seal says nothing of another identity check
        {"identification": "online", "application": "online"},
    ]


FEES = "手続名,手数料等の納付有無,手数料等の納付方法"


@pytest.mark.parametrize(
    ("fee", "methods", "expected"),
    [
        ("1 手数料等無し", "", "not_applicable"),
        ("2 手数料等有り", "1-1 行政機関の窓口", "offline"),
        ("2 手数料等有り", "1-1 行政機関の窓口; 1-4 コンビニ等代理施設", "offline"),
        ("2 手数料等有り", "1-1 行政機関の窓口; 2-3 クレジットカード払い", "online"),
        ("2 手数料等有り", "2-6 その他オンラインでの納付方法", "online"),
        ("2 手数料等有り", "", None),
        ("", "", None),
    ],
)
def test_fee_none_is_not_applicable_only_1x_methods_offline_any_2x_online(fee, methods, expected):
    [found] = _steps([FEES, f"手続,{fee},{methods}"])
    assert found.get("payment") == expected


def test_local_payment_words_say_enough_and_an_amount_says_nothing():
    found = _steps(
        [
            "手続名,手数料,納付方法",
            "証明A,有,窓口で現金",
            "証明B,有,クレジットカード又は窓口",
            "証明C,有,1通300円",
            "証明D,無,",
        ]
    )
    assert [f.get("payment") for f in found] == ["offline", "online", None, "not_applicable"]


def test_a_payment_code_outside_the_list_is_listed_for_the_payment_step_and_decided():
    lines = [FEES, "手続A,2 手数料等有り,3-1 仮想通貨", "手続B,2 手数料等有り,3-1 仮想通貨"]
    inventory, rows = _rows(lines)
    [entry] = inventory.unrecognised
    assert (entry.field, entry.column, entry.count) == ("step:payment", "手数料等の納付方法", 2)
    assert [S.decode(r.get("steps")).get("payment") for r in rows] == [None, None]
    assert json.loads(rows[0].get("raw_values")) == {"step:payment": "3-1 仮想通貨"}
    decided = parse_inventory(
        F.csv_bytes(lines), "inventory.csv", value_map={"step:payment": {entry.key: "online"}}
    )
    assert [S.decode(r.get("steps"))["payment"] for r in decided.rows()] == ["online", "online"]


ATTACHMENTS = "手続名,申請時に添付させる書類,添付書類等提出の撤廃/省略状況,添付書類等の提出方法"


@pytest.mark.parametrize(
    ("attachments", "waived", "submission", "expected"),
    [
        ("添付書類なし", "", "", "not_applicable"),
        ("住民票", "1 撤廃・省略済", "2 原紙での提出のみ", "not_applicable"),
        ("住民票", "1 撤廃・省略済; 3 撤廃・省略不可", "2 原紙での提出のみ", "offline"),
        ("住民票", "3 撤廃・省略不可", "0 電子・原紙を選択可能", "online"),
        ("住民票", "", "1 電子での提出のみ", "online"),
        ("住民票", "", "3 一部電子、一部原紙での提出", "offline"),
        ("住民票", "", "4 その他", None),
        ("その他の添付書類", "", "", None),
    ],
)
def test_attachments_none_waived_electronic_or_paper(attachments, waived, submission, expected):
    [found] = _steps([ATTACHMENTS, f"手続,{attachments},{waived},{submission}"])
    assert found.get("attachments") == expected


def test_a_local_originals_column_says_offline_when_an_original_is_needed_and_no_more():
    found = _steps(
        ["手続名,添付書類,原本の要否", "届A,戸籍謄本,要", "届B,住民票の写し,不要", "届C,なし,"]
    )
    assert [f.get("attachments") for f in found] == ["offline", None, "not_applicable"]


def test_japanese_online_and_non_online_counts_are_kept_beside_the_total():
    inventory, rows = _rows(
        ["手続名,総手続件数,オンライン手続件数,非オンライン手続件数", "届,120,20,100", "届2,5,,"]
    )
    assert [
        (r.get("annual_volume"), r.get("online_volume"), r.get("offline_volume")) for r in rows
    ] == [
        (120, 20, 100),
        (5, None, None),
    ]


def test_a_sheet_telling_no_step_gives_its_rows_no_steps_at_all():
    _inventory, rows = _rows(["手続名,年間件数", "届,10"])
    assert "steps" not in rows[0].values


# ------------------------------------------------------------------------------------------
# the stored form
# ------------------------------------------------------------------------------------------


def test_steps_are_stored_in_the_lists_order_naming_only_known_statuses():
    text = S.encode({"payment": "offline", "application": "online", "decision": "unknown"})
    assert text == '{"application":"online","payment":"offline"}'
    assert S.encode({"decision": "unknown"}) is None


def test_an_import_sets_what_it_read_and_keeps_what_it_cannot_tell():
    stored = S.encode({"application": "offline", "attachments": "not_applicable"})
    read = S.encode({"application": "online"})
    assert S.decode(S.merged(stored, read)) == {
        "application": "online",
        "attachments": "not_applicable",
    }
    assert S.differences(stored, S.merged(stored, read)) == [("application", "offline", "online")]


def test_a_step_list_repeating_a_key_or_without_the_application_is_refused(tmp_path):
    data = json.loads(S.STEPS_FILE.read_text(encoding="utf-8"))
    data["steps"].append(dict(data["steps"][0]))
    path = tmp_path / "steps.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="unique"):
        S.load_steps(path)
    data["steps"] = [step for step in data["steps"][:-1] if step["key"] != "application"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="application"):
        S.load_steps(path)
