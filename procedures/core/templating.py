"""Helpers the templates call: labels of codes and number and date formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from importers.schema import Applicant
from procedures.core.clock import in_japan
from procedures.core.i18n import number, select_locale
from procedures.vocabulary import (
    BLOCKERS,
    CHANNELS,
    COMPLETENESS,
    KINDS,
    NATIONAL_REMOVED,
    ONLINE_STATUSES,
    ROLES,
    STEP_FIELDS,
    STEP_LABELS,
    STEP_STATUSES,
    VERDICTS,
    japanese_fiscal_year,
    label,
    labelled,
    visit_label,
    yes_no,
)

APPLICANTS = labelled(
    Applicant,
    {
        Applicant.residents: _l("Residents"),
        Applicant.businesses: _l("Businesses"),
        Applicant.both: _l("Both"),
    },
)
IDENTITY_CHECKS = {
    1: _l("Seal and seal certificate"),
    2: _l("Seal"),
    3: _l("Signature"),
    4: _l("Identity document"),
    5: _l("Other"),
    6: _l("No identity check"),
}
ACTIONS = {
    "create": _l("Created"),
    "edit": _l("Edited"),
    "import": _l("Imported"),
    "retire": _l("Retired"),
    "plan": _l("Plan"),
    "bulk": _l("Bulk change"),
    "revert": _l("Reverted"),
    "priority_match": _l("Matched (confirmed)"),
    "national_link": _l("Linked to a national procedure"),
    "national_reject": _l("National suggestion rejected"),
    "national_review": _l("National change reviewed"),
}
FIELDS = {
    "name": _l("Procedure name"),
    "department": _l("Department"),
    "division": _l("Division"),
    "code": _l("Code"),
    "legal_basis": _l("Legal basis"),
    "kind": _l("Kind"),
    "applicant": _l("Who applies"),
    "life_events": _l("Life events"),
    "annual_volume": _l("Annual volume"),
    "online_volume": _l("Applications a year online"),
    "offline_volume": _l("Applications a year not online"),
    "volume_is_estimate": _l("Volume is an estimate"),
    "volume_fiscal_year": _l("Fiscal year of the volume"),
    "visit_required": _l("Visit required"),
    "visit_reason": _l("Why a visit is required"),
    "fee_required": _l("Fee"),
    "fee_payment": _l("How the fee is paid"),
    "attachments": _l("Attachments"),
    "originals_required": _l("Originals required"),
    "seal_required": _l("Seal or signature"),
    "identity_check": _l("Identity check"),
    "mynaportal_eligible": _l("My Number Portal"),
    "online_status": _l("Online status"),
    "channel": _l("Channel"),
    "verdict": _l("Feasibility verdict"),
    "verdict_reason": _l("Reason for the verdict"),
    "blockers": _l("Blockers"),
    "target_fiscal_year": _l("Target fiscal year"),
    "done_fiscal_year": _l("Fiscal year put online"),
    "notes": _l("Notes"),
    "raw_values": _l("Words not understood"),
    "lifecycle": _l("State"),
    "pin": _l("Place in the plan"),
    "priority_procedure": _l("National priority list"),
    "steps": _l("Steps"),
    "national_id": _l("National procedure ID"),
    "national_changes": _l("Changed in the national inventory"),
    **STEP_FIELDS,
}


def volume(value: int | None) -> str:
    """Format a yearly volume with thousands separators; unknown stays visibly unknown."""
    return "—" if value is None else number(value)


def fiscal_year(year: int | None) -> str:
    """Format a fiscal year as 'FY2022 (令和4年度)'."""
    return "—" if year is None else f"FY{year} ({japanese_fiscal_year(year)})"


def japanese_fiscal_years(first: int, last: int) -> str:
    """Format a span of fiscal years in eras: '令和4〜7年度', or '平成30年度〜令和2年度'."""
    start, end = japanese_fiscal_year(first), japanese_fiscal_year(last)
    if first == last:
        return start
    # One era: its name once; across eras both in full.
    if start[:2] == end[:2] and start[:2] in ("令和", "平成"):
        return f"{start.removesuffix('年度')}〜{end[2:]}"
    return f"{start}〜{end}"


def localtime(moment: datetime | None) -> str:
    """Show a stored UTC time in Japan time: every time on a page goes through here."""
    if moment is None:
        return ""
    return in_japan(moment).strftime("%Y-%m-%d %H:%M")


YES_NO_DECISIONS = {"yes": _l("Yes"), "no": _l("No")}


def decision_choices(field_name: str) -> list[tuple[str, str]]:
    """Return the decisions a person may take for a value of the field, with their labels."""
    from importers.decisions import CHOICES  # the importer's vocabulary, loaded when first used

    vocabularies: dict[str, dict[Any, Any]] = {
        "online_status": ONLINE_STATUSES,
        "verdict": VERDICTS,
        "kind": KINDS,
        "applicant": APPLICANTS,
        "blockers": BLOCKERS,
        "identity_check": {str(code): text for code, text in IDENTITY_CHECKS.items()},
    }
    if field_name in STEP_FIELDS:  # a payment method or a waiver read for a step
        vocabularies[field_name] = STEP_STATUSES
    vocabulary = vocabularies.get(field_name, YES_NO_DECISIONS)
    return [(code, str(vocabulary.get(code, code))) for code in CHOICES.get(field_name, ())]


def may_be_unknown(field_name: str) -> bool:
    """Return True when "unknown" is a decision the field accepts (not for an answer it needs)."""
    from importers.decisions import UNKNOWN, is_valid

    return is_valid(field_name, UNKNOWN)


def raw_words(raw_values: str | None) -> list[tuple[str, str]]:
    """Return a procedure's words not understood as (field label, text as written)."""
    from importers.decisions import words_of

    return [(label(FIELDS, name), text) for name, text in words_of(raw_values).items()]


#: A procedure's states (procedures.models.Lifecycle), as an import's change names them.
LIFECYCLES = {
    "active": _l("Active"),
    "missing": _l("Missing in the last import"),
    "retired": _l("Retired"),
}
#: Fields holding yes, no or unknown; an import's change stores them as "true" / "false".
_FLAGS = (
    "volume_is_estimate",
    "fee_required",
    "originals_required",
    "seal_required",
    "mynaportal_eligible",
)
_FISCAL_YEARS = ("volume_fiscal_year", "target_fiscal_year", "done_fiscal_year")
_VOLUMES = ("annual_volume", "online_volume", "offline_volume")
#: Fields holding a code, and the labels of their codes.
_CODED: dict[str, dict[Any, Any]] = {
    "kind": KINDS,
    "applicant": APPLICANTS,
    "online_status": ONLINE_STATUSES,
    "channel": CHANNELS,
    "verdict": VERDICTS,
    "lifecycle": LIFECYCLES,
    "identity_check": {str(code): text for code, text in IDENTITY_CHECKS.items()},
}


def _flag(text: str | None) -> bool | None:
    return None if text is None else {"true": True, "false": False}.get(text)


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _list_separator() -> str:
    return "、" if select_locale() == "ja" else ", "


def _pin(text: str) -> str:
    # As procedures.plan.policy writes a pin in the audit log: "FY2026: reason" or
    # "excluded: reason".
    place, _colon, reason = text.partition(": ")
    if place == "excluded":
        return _("Excluded from the plan: %(reason)s", reason=reason)
    year = _number(place.removeprefix("FY"))
    if not place.startswith("FY") or year is None:
        return text
    return _("Pinned to %(year)s: %(reason)s", year=fiscal_year(year), reason=reason)


def change_text(field_name: str | None, text: str | None) -> str:
    """Return an old or new value of a change (history, import, revert) as pages show values.

    The audit log keeps values as procedures.catalogue.procedures.audit_text writes them:
    "true" / "false", plain numbers, codes, lists joined by "; ". They are shown as yes / no
    / unknown in the page's language, numbers with thousands separators, codes by label.
    """
    if field_name == "visit_required":
        return visit_label(_flag(text)) if text in (None, "", "true", "false") else text
    if field_name in STEP_FIELDS:  # the audit writes an unknown step as no value
        return label(STEP_STATUSES, text or "unknown")
    if field_name in _FLAGS:
        return yes_no(_flag(text)) if text in (None, "", "true", "false") else text
    if not text:
        return "—"
    if field_name == "raw_values":
        return "; ".join(f"{name}: {words}" for name, words in raw_words(text)) or "—"
    if field_name in _VOLUMES and (number := _number(text)) is not None:
        return volume(number)
    if field_name in _FISCAL_YEARS and (number := _number(text)) is not None:
        return fiscal_year(number)
    if field_name == "blockers":
        return _list_separator().join(label(BLOCKERS, code.strip()) for code in text.split(";"))
    if field_name == "life_events":
        return _list_separator().join(event.strip() for event in text.split(";"))
    if field_name == "pin":
        return _pin(text)
    if field_name == "national_changes":  # procedures.national.review: "name,online_status"
        return _list_separator().join(
            str(NATIONAL_REMOVED if name == "removed" else FIELDS.get(name, name))
            for name in text.split(",")
        )
    if field_name in _CODED:
        return label(_CODED[field_name], text)
    return text


def step_names(steps: list[Any]) -> str:
    """Join the labels of steps (importers.steps.Step) as the page's language lists them."""
    separator = "、" if select_locale() == "ja" else ", "
    return separator.join(label(STEP_LABELS, step.key) for step in steps)


def import_absent(batch: Any) -> int | None:
    """Return how many procedures of its divisions a batch's file lacked, None if not kept."""
    from procedures.imports.report import absent_count

    return absent_count(batch)


def init_app(app: Flask) -> None:
    """Expose the helpers to every template."""
    app.add_template_filter(localtime)
    app.add_template_global(decision_choices)
    app.add_template_global(may_be_unknown)
    app.add_template_global(import_absent)
    app.add_template_global(raw_words)
    app.add_template_global(change_text)
    app.add_template_global(step_names)
    app.add_template_global(volume)
    app.add_template_global(number)
    app.add_template_global(fiscal_year)
    app.add_template_global(japanese_fiscal_years)
    app.add_template_global(yes_no)
    app.add_template_global(visit_label)
    helpers: dict[str, dict[Any, Any]] = {
        "role_label": ROLES,
        "verdict_label": VERDICTS,
        "online_label": ONLINE_STATUSES,
        "channel_label": CHANNELS,
        "kind_label": KINDS,
        "applicant_label": APPLICANTS,
        "identity_label": IDENTITY_CHECKS,
        "blocker_label": BLOCKERS,
        "action_label": ACTIONS,
        "field_label": FIELDS,
        "step_label": STEP_LABELS,
        "step_status_label": STEP_STATUSES,
        "completeness_label": COMPLETENESS,
    }
    for name, vocabulary in helpers.items():
        app.add_template_global(_labeller(vocabulary), name)
    # A dict, not a function: add_template_global is typed for callables.
    app.jinja_env.globals["verdicts"] = VERDICTS


def _labeller(vocabulary: dict[Any, Any]) -> Callable[[Any], str]:
    def labeller(code: Any) -> str:
        return label(vocabulary, code)

    return labeller
