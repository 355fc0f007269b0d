"""Values the words do not decide: listed per field, decided by a person, words kept."""

from __future__ import annotations

import json

import importer_fixtures as F
import pytest

from importers.decisions import UNDECIDED, ValueMapError, checked_value_map, kept, merged
from importers.inventory import parse_inventory


def _parsed(rows, value_map=None):
    inventory = parse_inventory(F.xlsx({"市民課": rows}), "inventory.xlsx", value_map=value_map)
    return inventory, [r.values for r in inventory.rows()]


def test_the_same_words_in_two_fields_are_two_entries_each_with_its_own_decision():
    """要確認 in the seal column and in the portal column: two questions, not one."""
    rows = [
        ["手続名", "押印", "マイナポータル対応"],
        ["転入届", "要確認", "○"],
        ["転出届", "不要", "要確認"],
    ]
    inventory, _values = _parsed(rows)
    listed = [(u.column, u.field, u.value, u.count, u.rows) for u in inventory.unrecognised]
    assert listed == [
        ("押印", "seal_required", "要確認", 1, [2]),
        ("マイナポータル対応", "mynaportal_eligible", "要確認", 1, [3]),
    ]
    _inventory, values = _parsed(rows, {"mynaportal_eligible": {"要確認": "yes"}})
    assert [(v.get("seal_required"), v["mynaportal_eligible"]) for v in values] == [
        (None, True),
        (False, True),
    ]


@pytest.mark.parametrize(
    ("first", "second"), [("窓口で確認", "窓口で　確認"), ("窓口で　確認", "窓口で確認")]
)
def test_two_spellings_are_one_entry_shown_as_first_written(first, second):
    """The spelling shown is the first row's, whatever the process's hash seed."""
    rows = [["手続名", "来庁の要否"], ["転入届", first], ["転出届", second], ["婚姻届", first]]
    inventory, _values = _parsed(rows)
    assert [(u.value, u.count, u.rows) for u in inventory.unrecognised] == [
        (" ".join(first.split()), 3, [2, 3, 4])
    ]


def test_a_decided_fee_keeps_the_words_as_raw_words_not_as_the_way_of_paying():
    """要相談 decided as a fee: fee yes, no payment method invented, the words kept."""
    rows = [["手続名", "手数料"], ["戸籍謄本の交付申請", "要相談"], ["転入届", "300円"]]
    _inventory, values = _parsed(rows, {"fee_required": {"要相談": "yes"}})
    assert values[0]["fee_required"] is True
    assert values[0].get("fee_payment", "") == ""
    assert json.loads(values[0]["raw_values"]) == {"fee_required": "要相談"}
    assert (values[1]["fee_required"], values[1]["fee_payment"]) == (True, "300円")


def test_a_withdrawn_decision_overrides_an_earlier_one_and_is_not_kept():
    """UNDECIDED from the page wins over the saved decision and is dropped when saving."""
    earlier = {"visit_required": {"窓口で確認": "yes", "要予約": "no"}}
    now = merged(earlier, {"visit_required": {"窓口で確認": UNDECIDED}})
    rows = [["手続名", "来庁の要否"], ["転入届", "窓口で確認"]]
    inventory, values = _parsed(rows, now)
    assert (values[0]["visit_required"], inventory.unrecognised[0].decision) == (None, None)
    assert kept(now) == {"visit_required": {"要予約": "no"}}
    assert kept({"visit_required": {"窓口で確認": UNDECIDED}}) == {}


def test_the_portal_answer_cannot_be_decided_unknown():
    """A procedure is on the portal list or not: "unknown" is refused, yes and no are not."""
    with pytest.raises(ValueMapError) as refusal:
        checked_value_map({"mynaportal_eligible": {"要検討": "unknown"}})
    assert refusal.value.problems == [
        "'mynaportal_eligible': 'unknown' for '要検討' is not one of yes, no"
    ]
    assert checked_value_map({"mynaportal_eligible": {"要検討": "no"}}) == {
        "mynaportal_eligible": {"要検討": "no"}
    }


def test_a_number_decision_may_be_typed_full_width_with_commas():
    """１，２００ in a value map is 1200, as the edit form reads it."""
    decided = checked_value_map({"annual_volume": {"多数": "１，２００"}})
    assert decided == {"annual_volume": {"多数": "1200"}}
