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
#: The channel codes the app knows; any other channel is free text and shown as written.
CHANNELS = {
    "pittari": _l("My Number Portal (Pittari Service)"),
    "city_eapp": _l("City e-application service"),
    "konbini": _l("Convenience-store issuance"),
    "private": _l("Private service"),
}
#: Aligned with the national reasons-not-online codes (docs/DOMAIN.md).
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
    "pinned": _l("Pinned by a person"),
}
#: The conditions a policy tier may have: a small vocabulary the policy page offers.
TIER_CONDITIONS = {
    "mynaportal": _l("On the national My Number Portal list"),
    "min_volume": _l("Annual volume of at least N"),
    "all": _l("Everything else"),
}


def tier_label(key: str | None) -> str:
    """Return the label of a tier key, including volume tiers of any threshold."""
    if key and key.startswith("volume_") and key.removeprefix("volume_").isdigit():
        threshold = int(key.removeprefix("volume_"))
        return _("%(volume)s or more a year", volume=f"{threshold:,}")
    return label(TIERS, key)


#: Life events as the inventories write them (docs/DOMAIN.md); a filter matches them as text.
LIFE_EVENTS = (
    "妊娠・出産",
    "子育て",
    "介護",
    "引越し",
    "死亡・相続",
    "被災",
    "就職・退職",
    "結婚・離婚",
    "高齢者",
    "障がい",
    "事業・開業",
    "住まい",
)
VOLUME_BAND_LABELS = {
    "lt100": _l("Under 100 a year"),
    "100_999": _l("100–999 a year"),
    "ge1000": _l("1,000 or more a year"),
    "ge10000": _l("10,000 or more a year"),
    "unknown": _l("Unknown"),
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
    pieces = [tier_label(data.get("tier"))]
    if "pin" in data:
        pieces[0] = _("Pinned by a person: %(reason)s", reason=data["pin"])
    for kind, what, points in data.get("parts", []):
        if kind == "volume":
            pieces.append(_("volume %(volume)s → %(points)+.2f", volume=f"{what:,}", points=points))
        elif kind == "volume_unknown":
            pieces.append(_("volume unknown"))
        elif kind == "mynaportal":
            pieces.append(_("My Number Portal list %(points)+.2f", points=points))
        elif kind == "life_event":
            pieces.append(_("%(event)s %(points)+.2f", event=what, points=points))
        elif kind == "blocker":
            pieces.append(
                _("%(blocker)s %(points)+.2f", blocker=label(BLOCKERS, what), points=points)
            )
    return "; ".join(piece for piece in pieces if piece)
