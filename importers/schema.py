"""The one list of fields and code sets that every layer reads: importer, database and pages.

Codes are written here once. The words clerks write for each code are data
(`importers/value_words.json`, checked against these sets when loaded); the labels shown to a
person, in Japanese or English, are kept by the web layer (`procedures/vocabulary.py`), keyed
by these codes and checked to cover each set.
"""

from __future__ import annotations

import enum

#: The fields of a procedure that an inventory may fill, in the order the importer reports them.
FIELDS: tuple[str, ...] = (
    "code",
    "name",
    "department",
    "division",
    "legal_basis",
    "kind",
    "applicant",
    "life_events",
    "annual_volume",
    "online_volume",
    "offline_volume",
    "volume_is_estimate",
    "volume_fiscal_year",
    "visit_required",
    "visit_reason",
    "fee_required",
    "fee_payment",
    "attachments",
    "originals_required",
    "seal_required",
    "identity_check",
    "mynaportal_eligible",
    "online_status",
    "channel",
    "verdict",
    "verdict_reason",
    "blockers",
    "target_fiscal_year",
    "done_fiscal_year",
    "notes",
)

#: The largest yearly count of applications a procedure may carry, the same in the importer
#: and the edit forms. Above the nation's busiest procedures (338,538,154 a year in the R6
#: national inventory), so a real figure always fits; a figure far above a municipal
#: inventory's others is warned of by the plausibility rule (importers/plausibility.json).
ANNUAL_VOLUME_MAX = 1_000_000_000


class Verdict(enum.StrEnum):
    """The DX office's judgement whether a procedure can go online."""

    feasible = "feasible"
    infeasible = "infeasible"
    undecided = "undecided"


class OnlineStatus(enum.StrEnum):
    """Current online status, aligned with the national codes 1–5."""

    done = "done"  # 1 実施済
    not_done = "not_done"  # 2 未実施
    excluded = "excluded"  # 3 適用除外
    other = "other"  # 4 その他
    partial = "partial"  # 5 一部実施済


class Blocker(enum.StrEnum):
    """Why a procedure is not online yet; the national reasons 1–7 map onto these."""

    law_change = "law_change"
    no_system = "no_system"
    paper_originals = "paper_originals"
    fee_payment = "fee_payment"
    seal_signature = "seal_signature"
    identity_in_person = "identity_in_person"
    by_nature = "by_nature"
    cost_benefit = "cost_benefit"
    other = "other"


class Kind(enum.StrEnum):
    """The kind of procedure (national 手続類型, in finer words)."""

    application = "application"
    notification = "notification"
    certificate = "certificate"
    inspection = "inspection"
    reservation = "reservation"
    consultation = "consultation"
    other = "other"


class Applicant(enum.StrEnum):
    """Who applies."""

    residents = "residents"
    businesses = "businesses"
    both = "both"


class StepStatus(enum.StrEnum):
    """Where one step of a procedure (importers/steps.json) can be done."""

    online = "online"
    offline = "offline"
    not_applicable = "not_applicable"
    #: Nothing says yet; never counted as online or as offline.
    unknown = "unknown"


class Completeness(enum.StrEnum):
    """Where a procedure stands against complete online conversion (完全オンライン化)."""

    complete = "complete"
    #: No step known to be offline, some step not known yet.
    not_confirmed = "not_confirmed"
    #: A step is offline, or the procedure has no application to put online.
    not_complete = "not_complete"
