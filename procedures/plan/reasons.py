"""Why a procedure has its place in the plan, as sentences a committee member reads.

The stored reason (`RankedEntry.reason_json`) holds what placed the procedure (its tier, a pin
or its target year) and the parts of its score from `ranking.ScoreRule`; each kind of part has
its sentence here. The page, the .xlsx and the CSV all render them with `reason_sentences`.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from procedures.vocabulary import BLOCKERS, STEP_LABELS, japanese_fiscal_year, label

#: From this many applications a year the volume's sentence says "many" (Fujisawa's second
#: wave took the procedures of 1,000 or more).
MANY_APPLICATIONS = 1000

#: What placed a procedure, by the tier that did (a volume tier has its own sentence below).
TIER_SENTENCES = {
    "mynaportal": _l("Planned with the procedures on the national My Number Portal list."),
    "rest": _l("Planned with the other feasible procedures, in the order of their points."),
}
VOLUME_TIER_SENTENCE = _l("Planned with the procedures of %(volume)s or more applications a year.")

#: A pin or a target year, in its own year or, when that year has passed, in the current one.
PIN_SENTENCE = _l("Fixed to this year by the DX office (reason: %(reason)s).")
PIN_PASSED_SENTENCE = _l(
    "Fixed to FY%(year)d (%(era)s) by the DX office; that year has passed, so it is planned "
    "for this year (reason: %(reason)s)."
)
TARGET_SENTENCE = _l("Its target fiscal year is FY%(year)d (%(era)s).")
TARGET_PASSED_SENTENCE = _l(
    "Its target fiscal year, FY%(year)d (%(era)s), has passed without it going online, so it is "
    "planned for this year."
)

#: The parts of a score, by the kind ScoreRule gives them.
PART_SENTENCES = {
    "volume_many": _l("Many applications a year (%(volume)s): %(points)s points"),
    "volume": _l("Applications a year (%(volume)s): %(points)s points"),
    "volume_unknown": _l(
        "Applications a year not known: no points, and placed after those whose count is known"
    ),
    "mynaportal": _l("On the national My Number Portal list: %(points)s points"),
    "life_event": _l("Part of the life event “%(event)s”: %(points)s points"),
}
#: The volume's part when the policy ranks by the applications a conversion would move online:
#: each says which figure it counted (ranking.ScoreRule.scored_volume).
MOVED_ONLINE_SENTENCES = {
    "offline_volume": _l(
        "Applications a year not made online (%(volume)s, as recorded): %(points)s points"
    ),
    "offline_difference": _l(
        "Applications a year not made online (%(volume)s: all applications less those made "
        "online): %(points)s points"
    ),
    "volume_not_split": _l(
        "Applications a year (%(volume)s; how many are made online is not known, so all are "
        "counted): %(points)s points"
    ),
}
#: The part of a procedure one step from complete online: the step that would complete it.
ONE_STEP_SENTENCE = _l(
    "Putting its “%(step)s” step online would make it complete online: %(points)s points"
)
#: A blocker's part: what it means for the procedure, and its points (usually negative).
BLOCKER_SENTENCES = {
    "law_change": _l("A law or rule must be changed first: %(points)s points"),
    "no_system": _l("There is no system to receive it online yet: %(points)s points"),
    "paper_originals": _l("Paper originals must still be handed in: %(points)s points"),
    "fee_payment": _l("The fee cannot be paid online yet: %(points)s points"),
    "seal_signature": _l("A seal or signature is required: %(points)s points"),
    "identity_in_person": _l("Identity is checked in person: %(points)s points"),
    "by_nature": _l("It needs a visit by its nature: %(points)s points"),
    "cost_benefit": _l("The cost-benefit is unclear: %(points)s points"),
    "other": _l("Another obstacle is recorded: %(points)s points"),
}
#: A blocker code the vocabulary no longer knows: its label (the code) and points.
UNKNOWN_BLOCKER_SENTENCE = _l("%(blocker)s: %(points)s points")
TOTAL_SENTENCE = _l("Score: %(score)s points in all")


def reason_sentences(reason: str | None) -> list[str]:
    """Render a plan entry's stored reason as sentences in the reader's language."""
    if not reason:
        return []
    data = json.loads(reason)
    sentences = [_placed_by(data)]
    parts = data.get("parts", [])
    sentences += [_part(kind, what, points) for kind, what, points in parts]
    if len(parts) > 1:  # one part is its own total
        total = round(sum(points for _kind, _what, points in parts), 2)
        sentences.append(_say(TOTAL_SENTENCE, score=f"{total:.2f}"))
    return [sentence for sentence in sentences if sentence]


def reason_text(reason: str | None) -> str:
    """Render a stored reason as one cell of an export: a sentence per line."""
    return "\n".join(reason_sentences(reason))


def _placed_by(data: dict[str, Any]) -> str:
    """Say what placed the procedure: a pin, its target year, or its tier."""
    passed = data.get("passed")
    era = japanese_fiscal_year(passed) if passed else ""
    if "pin" in data:
        if passed:
            return _say(PIN_PASSED_SENTENCE, year=passed, era=era, reason=data["pin"])
        return _say(PIN_SENTENCE, reason=data["pin"])
    if "target" in data:
        if passed:
            return _say(TARGET_PASSED_SENTENCE, year=passed, era=era)
        year = data["target"]
        return _say(TARGET_SENTENCE, year=year, era=japanese_fiscal_year(year))
    tier = data.get("tier") or ""
    threshold = tier.removeprefix("volume_")
    if tier.startswith("volume_") and threshold.isdigit():
        return _say(VOLUME_TIER_SENTENCE, volume=f"{int(threshold):,}")
    sentence = TIER_SENTENCES.get(tier)
    return str(sentence) if sentence is not None else tier


def _part(kind: str, what: Any, points: float) -> str:
    """Say what one part of the score is and how many points it gives."""
    shown = _points(points)
    if kind == "volume":
        many = what >= MANY_APPLICATIONS
        sentence = PART_SENTENCES["volume_many" if many else "volume"]
        return _say(sentence, volume=f"{what:,}", points=shown)
    if kind == "blocker":
        blocker = BLOCKER_SENTENCES.get(what)
        if blocker is None:
            return _say(UNKNOWN_BLOCKER_SENTENCE, blocker=label(BLOCKERS, what), points=shown)
        return _say(blocker, points=shown)
    if kind == "life_event":
        return _say(PART_SENTENCES["life_event"], event=what, points=shown)
    if kind in MOVED_ONLINE_SENTENCES:
        return _say(MOVED_ONLINE_SENTENCES[kind], volume=f"{what:,}", points=shown)
    if kind == "one_step":
        return _say(ONE_STEP_SENTENCE, step=label(STEP_LABELS, what), points=shown)
    sentence = PART_SENTENCES.get(kind)
    # A mapping fills only the placeholders a sentence has: "not known" has none.
    return "" if sentence is None else _say(sentence, points=shown)


def _say(sentence: LazyString, **values: Any) -> str:
    """Translate a sentence into the reader's language and fill in its values."""
    return str(sentence) % values


def _points(points: float) -> str:
    """Write points with their sign and two decimals: +4.75, -0.50."""
    return f"{points:+.2f}"
