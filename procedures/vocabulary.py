"""Labels of the coded values, in the user's language (English msgids, Japanese catalogue)."""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from importers.schema import Blocker, Completeness, Kind, OnlineStatus, StepStatus, Verdict
from importers.steps import STATUS_LABELS, STEPS, step_field


def labelled(codes: type[enum.StrEnum], labels: dict[Any, Any]) -> dict[str, Any]:
    """Return the labels of a code set; refuse, at start-up, a code left without a label."""
    # The codes are written once, in importers/schema.py; a label for a code that is not
    # there is refused too, so the two cannot drift apart.
    missing = set(codes) - set(labels)
    extra = set(labels) - set(codes)
    if missing or extra:
        raise ValueError(f"labels of {codes.__name__}: missing {missing}, not codes {extra}")
    return labels


VERDICTS = labelled(
    Verdict,
    {
        Verdict.feasible: _l("Feasible"),
        Verdict.infeasible: _l("Not feasible"),
        Verdict.undecided: _l("Undecided"),
    },
)
ONLINE_STATUSES = labelled(
    OnlineStatus,
    {
        OnlineStatus.done: _l("Online"),
        OnlineStatus.not_done: _l("Not online"),
        OnlineStatus.excluded: _l("Exempt"),
        OnlineStatus.other: _l("Other"),
        OnlineStatus.partial: _l("Partly online"),
    },
)
#: The channel codes the app knows; any other channel is free text and shown as written.
CHANNELS = {
    "pittari": _l("My Number Portal (Pittari Service)"),
    "city_eapp": _l("City e-application service"),
    "konbini": _l("Convenience-store issuance"),
    "private": _l("Private service"),
}
#: Aligned with the national reasons-not-online codes (docs/DOMAIN.md).
BLOCKERS = labelled(
    Blocker,
    {
        Blocker.law_change: _l("Law change needed"),
        Blocker.no_system: _l("No system"),
        Blocker.paper_originals: _l("Original paper documents"),
        Blocker.fee_payment: _l("Fee payment"),
        Blocker.seal_signature: _l("Seal or signature"),
        Blocker.identity_in_person: _l("In-person identity check"),
        Blocker.by_nature: _l("Not online by nature"),
        Blocker.cost_benefit: _l("Cost-benefit unclear"),
        Blocker.other: _l("Other"),
    },
)
KINDS = labelled(
    Kind,
    {
        Kind.application: _l("Application"),
        Kind.notification: _l("Notification"),
        Kind.certificate: _l("Certificate"),
        Kind.inspection: _l("Inspection"),
        Kind.reservation: _l("Reservation"),
        Kind.consultation: _l("Consultation"),
        Kind.other: _l("Other"),
    },
)
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
    "target": _l("Its target fiscal year"),
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


class Worded:
    """A label a data file writes in both languages, said in the page's language when shown."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words

    def __str__(self) -> str:
        from procedures.core.i18n import select_locale

        return self.words.get(select_locale()) or self.words["en"]


#: The steps of a procedure (importers/steps.json: a city renames them there).
STEP_LABELS = {step.key: Worded({"ja": step.ja, "en": step.en}) for step in STEPS}
STEP_STATUSES = labelled(
    StepStatus, {StepStatus(code): Worded(words) for code, words in STATUS_LABELS.items()}
)
COMPLETENESS = labelled(
    Completeness,
    {
        Completeness.complete: _l("Complete online"),
        Completeness.not_confirmed: _l("Not yet confirmed"),
        Completeness.not_complete: _l("Not complete"),
    },
)


class StepField:
    """The label of one step as a field of the audit log and of an import's changes."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __str__(self) -> str:
        return _("%(step)s (step)", step=str(STEP_LABELS.get(self.key, self.key)))


#: Field name ("step:payment") -> its label, for every step of the list.
STEP_FIELDS = {step_field(step.key): StepField(step.key) for step in STEPS}

#: A national reference flag's word for an entry no longer in the newer load.
NATIONAL_REMOVED = _l("No longer in the national inventory")
