"""The value word tables: the words clerks write for each value, loaded and checked.

The tables are data (``value_words.json``); every word's meaning must be a code of
``importers.schema`` (or "no value"), checked when the file is loaded, so the words and the
code sets cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from importers.schema import Applicant, Blocker, Kind, OnlineStatus, Verdict
from importers.text import squeeze


def keyed(table: dict[str, Any]) -> dict[str, Any]:
    """Return a {word: value} table keyed by each word's squeezed form."""
    return {squeeze(k): v for k, v in table.items()}


def squeezed(words: list[str]) -> frozenset[str]:
    """Return the squeezed forms of a list of words."""
    return frozenset(squeeze(w) for w in words)


def pairs(rows: list[list[Any]]) -> tuple[tuple[Any, ...], ...]:
    """Return [[word, value], ...] from JSON as the tuple of pairs searched in order."""
    return tuple(tuple(row) for row in rows)


VALUE_WORDS_FILE = Path(__file__).with_name("value_words.json")


def load_value_words(path: Path = VALUE_WORDS_FILE) -> dict[str, Any]:
    """Load the value word tables: field -> {"labels", "codes", "contains", ...} -> words."""
    with path.open(encoding="utf-8") as fh:
        words = json.load(fh)
    words.pop("_comment", None)
    check_meanings(words)
    check_word_lists(words)
    return words


#: The code set each table's meanings must come from (None: the word means "no value").
MEANINGS: dict[str, set[str | None]] = {
    "kind": {*Kind, None},
    "online_status": {*OnlineStatus, None},
    "verdict": {*Verdict, None},
    "blockers": {*Blocker, None},
    # "nobody": a known applicant that is neither residents nor businesses (e.g. government)
    "applicant": {*Applicant, "nobody", None},
}


def check_meanings(words: dict[str, Any]) -> None:
    """Refuse word tables that give a word a meaning that is not a code of importers.schema."""
    for table, allowed in MEANINGS.items():
        for part in ("labels", "codes", "contains"):
            entries = words[table].get(part)
            if entries is None:
                continue
            meanings = (
                entries.values() if isinstance(entries, dict) else [row[-1] for row in entries]
            )
            unknown = {str(meaning) for meaning in meanings if meaning not in allowed}
            if unknown:
                raise ValueError(f"value words {table}.{part}: not codes: {sorted(unknown)}")


#: The plain word lists: (table, part), each a non-empty list of non-empty texts.
WORD_LISTS = (
    ("yes_no", "yes"),
    ("yes_no", "no"),
    ("yes_no", "suffixes"),
    ("year", "joiners"),
    ("fee", "free"),
    ("fee", "paid"),
    ("fee", "amount_words"),
    ("fee", "currency_before"),
    ("fee", "currency_after"),
    ("seal_required", "abolished"),
)


def check_word_lists(words: dict[str, Any]) -> None:
    """Refuse empty word lists and words that would mean yes and no at once."""
    for table, part in WORD_LISTS:
        entries = words[table][part]
        if not entries or not all(isinstance(w, str) and squeeze(w) for w in entries):
            raise ValueError(f"value words {table}.{part}: not a list of words")
    yes_no = words["yes_no"]
    _disjoint("yes_no yes/no", yes_no["yes"], yes_no["no"])
    _disjoint("fee free/paid", words["fee"]["free"], words["fee"]["paid"])
    seal_yes = [w for w, needed in words["seal_required"]["words"].items() if needed]
    _disjoint("seal_required words/abolished", seal_yes, words["seal_required"]["abolished"])
    stray = squeezed(yes_no["suffixes"]) - squeezed(yes_no["yes"]) - squeezed(yes_no["no"])
    if stray:  # a suffix answers with the word's own meaning, so it must have one
        raise ValueError(f"value words yes_no.suffixes: not yes or no words: {sorted(stray)}")


def _disjoint(name: str, first: list[str], second: list[str]) -> None:
    """Refuse two word lists of opposite meaning that share a word (after squeezing)."""
    both = squeezed(first) & squeezed(second)
    if both:
        raise ValueError(f"value words {name}: in both: {sorted(both)}")
