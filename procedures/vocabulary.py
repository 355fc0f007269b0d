"""Labels of the coded values, in the user's language (English msgids, Japanese catalogue)."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

VERDICTS = {
    "feasible": _l("Feasible"),
    "infeasible": _l("Not feasible"),
    "undecided": _l("Undecided"),
}
ONLINE_STATUSES = {
    "done": _l("Online"),
    "not_done": _l("Not online"),
    "excluded": _l("Exempt"),
    "other": _l("Other"),
    "partial": _l("Partly online"),
}
#: Aligned with the national reasons-not-online codes (DOMAIN.md).
BLOCKERS = {
    "law_change": _l("Law change needed"),
    "no_system": _l("No system"),
    "paper_originals": _l("Original paper documents"),
    "fee_payment": _l("Fee payment"),
    "seal_signature": _l("Seal or signature"),
    "identity_in_person": _l("In-person identity check"),
    "by_nature": _l("Not online by nature"),
    "cost_benefit": _l("Cost-benefit unclear"),
    "other": _l("Other"),
}
KINDS = {
    "application": _l("Application"),
    "notification": _l("Notification"),
    "certificate": _l("Certificate"),
    "inspection": _l("Inspection"),
    "reservation": _l("Reservation"),
    "consultation": _l("Consultation"),
    "other": _l("Other"),
}
ROLES = {
    "admin": _l("Administrator"),
    "dx_office": _l("DX office"),
    "division": _l("Division"),
    "viewer": _l("Viewer"),
}
TIERS = {
    "mynaportal": _l("My Number Portal priority"),
    "volume_1000": _l("1,000 or more a year"),
    "rest": _l("Other feasible procedures"),
}


def label(vocabulary: dict[str, Any], code: str | None) -> str:
    """Return the label of a code, or the code itself when it is not in the vocabulary."""
    if code is None or code == "":
        return ""
    return str(vocabulary.get(code, code))


def yes_no(value: bool | None) -> str:
    """Render a three-valued flag: yes, no, or unknown."""
    if value is None:
        return _("Unknown")
    return _("Yes") if value else _("No")


def visit_label(value: bool | None) -> str:
    """Render whether a visit is required, as clerks write it (要 / 不要)."""
    if value is None:
        return _("Unknown")
    return _("Visit needed") if value else _("No visit")


def japanese_fiscal_year(year: int) -> str:
    """Return 令和N年度 for a Western fiscal year (令和元年度 for 2019)."""
    if year >= 2019:
        number = year - 2018
        return f"令和{'元' if number == 1 else number}年度"
    if year >= 1989:
        number = year - 1988
        return f"平成{'元' if number == 1 else number}年度"
    return f"{year}年度"


def explain_reason(reason: str | None) -> str:
    """Render a plan entry's stored reason (tier and score parts) as one readable line."""
    if not reason:
        return ""
    data = json.loads(reason)
    pieces = [label(TIERS, data.get("tier"))]
    for kind, what, points in data.get("parts", []):
        if kind == "volume":
            pieces.append(_("volume %(volume)s → %(points)+.2f", volume=f"{what:,}", points=points))
        elif kind == "volume_unknown":
            pieces.append(_("volume unknown"))
        elif kind == "blocker":
            pieces.append(
                _("%(blocker)s %(points)+.2f", blocker=label(BLOCKERS, what), points=points)
            )
    return "; ".join(piece for piece in pieces if piece)
