"""The demo municipality: a fictional mid-sized city whose inventory reproduces Fujisawa's figures.

Fujisawa counted 1,942 procedures in December 2021 (docs/DOMAIN.md): 158 need a visit by
nature, 1,784 were surveyed, 723 judged convertible, then planned 401 / 89 / 35 / 198 for
FY2022–2025. The demo city is a city starting that plan now: nothing is online yet, and the
default policy plans the same four figures from the current fiscal year on.
`generate_demo_municipality` returns such an inventory as plain dicts with the importer's field
names, so the demo goes through the same import path as a real sheet.

How it works. The city's data files (see `procedures.demo.city`) list about 2,100 candidate
procedures. Each candidate falls in one of three pools: visit by nature, My Number Portal
eligible (child care, nursing care, disaster), and the rest. Exact counts are then drawn from
each pool with a seeded `random.Random`, so every seed yields the same funnel and the plan
figures come out exactly; only which procedures and their attributes vary.

Codes are `FJ-DD-VVV-NNNN`: department number (01–16), division number counted across the
whole city (001–074), and the procedure's position in its division (0001–). No database and no
app context are needed.
"""

from __future__ import annotations

import math
import random
from typing import Any

from importers.headers import FIELDS
from procedures.demo.city import ProcedureSpec, city_specs, wording
from procedures.vocabulary import BLOCKERS

#: Fujisawa, December 2021 (docs/DOMAIN.md).
TOTAL = 1942
VISIT_REQUIRED = 158
FEASIBLE = 723
#: Feasible and on the My Number Portal: FY2022.
FEASIBLE_MYNAPORTAL = 401
#: Feasible, not on the portal, 1,000 or more a year: FY2023.
FEASIBLE_HIGH_VOLUME = 89
#: Surveyed but not yet judged; a real inventory always has some.
UNDECIDED = 60
#: Portal procedures judged not convertible yet (an original document, say).
INFEASIBLE_MYNAPORTAL = 10
#: Infeasible procedures that are online in part (form online, original by post).
PARTLY_ONLINE = 20
HIGH_VOLUME = 1000
#: The fiscal year Fujisawa's survey counted (令和2年度).
VOLUME_FISCAL_YEAR = 2020
DEFAULT_SEED = 2021

#: Fields the plan fills in: `recompute_plan` plans the demo after loading it.
PLANNED_FIELDS = frozenset({"target_fiscal_year", "done_fiscal_year"})
#: The keys of every generated dict: the importer's fields, in its order, but the plan's.
PROCEDURE_FIELDS = tuple(field for field in FIELDS if field not in PLANNED_FIELDS)

# Attachment words that mean the paper original itself must be handed in.
_ORIGINAL_WORDS = ("証明書", "謄本", "診断書", "意見書", "委任状", "領収書", "顔写真")


class _Record:
    """A spec with the attributes drawn for it under one seed."""

    __slots__ = (
        "spec",
        "volume",
        "estimate",
        "fee",
        "fee_payment",
        "attachments",
        "originals",
        "seal",
        "identity",
        "profile",
    )

    def __init__(self, spec: ProcedureSpec, rng: random.Random) -> None:
        self.spec = spec
        self.volume, self.estimate = _draw_volume(spec, rng)
        self.fee = _draw_fee(spec, rng)
        self.fee_payment = _fee_payment(spec) if self.fee else None
        self.attachments = _attachments(spec, rng)
        self.originals = _originals(spec, self.attachments, rng)
        self.seal = _draw_seal(spec, rng)
        self.identity = _identity(spec, self.seal, rng)
        self.profile = self._blocker_profile()

    def _blocker_profile(self) -> list[str]:
        """List what would stop this procedure going online, most decisive first."""
        flags = self.spec.flags
        found = []
        if "law_change" in flags:
            found.append("law_change")
        if "identity_in_person" in flags:
            found.append("identity_in_person")
        if self.originals:
            found.append("paper_originals")
        if self.seal:
            found.append("seal_signature")
        if self.fee:
            found.append("fee_payment")
        if self.volume is not None and self.volume < 20:
            found.append("cost_benefit")
        return found

    @property
    def weight(self) -> float:
        """Return how likely the DX office is to judge this one convertible (relative)."""
        weight = 1.0
        for code, factor in (
            ("identity_in_person", 0.3),
            ("paper_originals", 0.4),
            ("seal_signature", 0.4),
            ("fee_payment", 0.7),
        ):
            if code in self.profile:
                weight *= factor
        if self.spec.kind == "consultation":
            weight *= 0.5
        return weight


def _draw_volume(spec: ProcedureSpec, rng: random.Random) -> tuple[int | None, bool]:
    """Draw an annual count for FY2020 around the stated one, skewed small when none is stated."""
    if spec.volume is None:
        # Median about 15, so most are under 100 and a few reach the thousands.
        raw = rng.lognormvariate(math.log(15), 1.4)
    else:
        raw = spec.volume
        if spec.kind in ("reservation", "consultation"):
            # FY2020: classes, events and face-to-face consultations were cut for COVID-19.
            raw *= 0.5
        if raw < HIGH_VOLUME:
            # A small count is stated as its usual order of magnitude; the year's real count
            # is anywhere from a quarter of it up to it.
            raw *= math.exp(rng.uniform(math.log(0.25), 0.0))
        raw *= rng.uniform(0.8, 1.25)
    volume = max(1, round(raw))
    # About 8% of all procedures have an unknown count; large ones are always counted.
    if volume < HIGH_VOLUME and "priority" not in spec.flags and rng.random() < 0.095:
        return None, False
    if volume >= 20 and rng.random() < 0.12:
        # An estimate such as 約500 is rounded to two significant figures.
        digits = 10 ** (len(str(volume)) - 2)
        return max(digits, round(volume / digits) * digits), True
    return volume, False


def _draw_fee(spec: ProcedureSpec, rng: random.Random) -> bool | None:
    """Decide whether a fee is charged; None when the sheet left it blank."""
    if rng.random() < 0.03:
        return None
    if "no_fee" in spec.flags:
        return False
    if "fee" in spec.flags:
        # The flag is on a whole line; 変更届 and 廃止届 of a licence are free.
        return spec.kind != "notification"
    if spec.kind == "certificate":
        return not any(word in spec.name for word in ("り災", "被災", "受給資格", "在学"))
    if "使用許可" in spec.name or "占用許可" in spec.name:
        return True
    return spec.kind == "reservation" and rng.random() < 0.3


def _fee_payment(spec: ProcedureSpec) -> str:
    """Say how the fee is paid today."""
    if any(word in spec.name for word in ("占用", "使用許可", "施設利用予約", "利用予約")):
        return "納付書"
    if spec.name.endswith("郵送請求"):
        return "定額小為替"
    if spec.kind == "certificate":
        return "現金（窓口）、定額小為替（郵送）"
    return "現金（窓口）"


def _attachments(spec: ProcedureSpec, rng: random.Random) -> str | None:
    """Name the documents that go with the form, if any."""
    for word, attachments in wording().attachments:
        if word in spec.name:
            # A notification often needs nothing beyond the form.
            if word == "届出" and rng.random() < 0.5:
                return None
            return attachments
    return None


def _originals(spec: ProcedureSpec, attachments: str | None, rng: random.Random) -> bool | None:
    """Decide whether a paper original must be handed in."""
    if "originals" in spec.flags:
        return True
    if rng.random() < 0.03:
        return None
    if attachments is None:
        return False
    return any(
        word in item and not item.endswith("写し")
        for item in attachments.split("、")
        for word in _ORIGINAL_WORDS
    )


def _draw_seal(spec: ProcedureSpec, rng: random.Random) -> bool | None:
    """Decide whether a seal or signature is still required (most seals went in 2021)."""
    if "seal" in spec.flags or "印鑑登録" in spec.name:
        return True
    if rng.random() < 0.03:
        return None
    if spec.applicant == "businesses" and spec.kind == "application":
        return rng.random() < 0.25
    return rng.random() < 0.06


def _identity(spec: ProcedureSpec, seal: bool | None, rng: random.Random) -> int | None:
    """Pick the national identity-check code 1–6."""
    if rng.random() < 0.03:
        return None
    if seal and any(word in spec.name for word in ("印鑑", "契約", "入札", "見積")):
        return 1
    if seal:
        return 2
    if "identity_in_person" in spec.flags or spec.kind == "certificate":
        return 4
    if spec.kind in ("inspection", "reservation", "consultation", "other"):
        return rng.choice((5, 6, 6))
    if spec.applicant == "residents":
        return 4 if rng.random() < 0.5 else 3
    return 3


def _checked_pinned(
    pool: list[_Record], count: int, pinned: list[_Record] | None
) -> tuple[list[_Record], set[int]]:
    """Return the pinned records and their ids, once sure `count` of `pool` can include them."""
    pinned = pinned or []
    if len(pinned) > count or len(pool) < count:
        raise ValueError(f"cannot pick {count} from {len(pool)} with {len(pinned)} pinned")
    return pinned, {id(record) for record in pinned}


def _pick(
    rng: random.Random, pool: list[_Record], count: int, pinned: list[_Record] | None = None
) -> list[_Record]:
    """Return `count` records: all pinned ones, then a uniform sample of the rest."""
    pinned, chosen = _checked_pinned(pool, count, pinned)
    rest = [record for record in pool if id(record) not in chosen]
    return pinned + rng.sample(rest, count - len(pinned))


def _weighted_pick(
    rng: random.Random, pool: list[_Record], count: int, pinned: list[_Record] | None = None
) -> list[_Record]:
    """Pick `count` records without replacement, likelier the larger their weight."""
    pinned, chosen = _checked_pinned(pool, count, pinned)
    # Efraimidis–Spirakis: the largest u ** (1 / w) are a weighted sample without replacement.
    keyed = sorted(
        (
            (rng.random() ** (1.0 / record.weight), index, record)
            for index, record in enumerate(pool)
            if id(record) not in chosen
        ),
        reverse=True,
    )
    return pinned + [record for _key, _index, record in keyed[: count - len(pinned)]]


def _without(pool: list[_Record], *taken: list[_Record]) -> list[_Record]:
    """Return the records of `pool` in none of `taken`, in their original order."""
    ids = {id(record) for group in taken for record in group}
    return [record for record in pool if id(record) not in ids]


def _blockers(record: _Record, rng: random.Random) -> list[str]:
    """Choose one to three blockers for an infeasible procedure, in the canonical order."""
    wanted = rng.choice((1, 1, 1, 2, 2, 3))
    profile = list(record.profile)
    # A needed law change decides the verdict on its own; keep it whenever present.
    head = profile[:1] if profile and profile[0] == "law_change" else []
    rest = profile[len(head) :]
    chosen = head + rng.sample(rest, min(len(rest), max(0, wanted - len(head))))
    # What the form itself does not show: no system to receive it, or some other reason.
    if not chosen or (len(chosen) < wanted and rng.random() < 0.5):
        chosen.append(rng.choices(("no_system", "other"), weights=(3, 1))[0])
    # The canonical order of the national blocker codes.
    return [code for code in BLOCKERS if code in chosen]


def _visit_reason(name: str) -> str:
    """Explain in Japanese why the procedure needs a visit."""
    for word, reason in wording().visit_reasons:
        if word in name:
            return reason
    return "性質上来庁が必要なため"


def _row(record: _Record, code: str) -> dict[str, Any]:
    """Return the dict of one procedure with every field but the funnel's."""
    spec = record.spec
    return {
        "code": code,
        "name": spec.name,
        "department": spec.department,
        "division": spec.division,
        "legal_basis": spec.legal_basis,
        "kind": spec.kind,
        "applicant": spec.applicant,
        "life_events": list(spec.life_events),
        "annual_volume": record.volume,
        # Fujisawa's inventory counts no channels: unknown, never 0.
        "online_volume": None,
        "offline_volume": None,
        "volume_is_estimate": record.estimate,
        "volume_fiscal_year": VOLUME_FISCAL_YEAR,
        "visit_required": spec.visit,
        "visit_reason": _visit_reason(spec.name) if spec.visit else None,
        "fee_required": record.fee,
        "fee_payment": record.fee_payment,
        "attachments": record.attachments,
        "originals_required": record.originals,
        "seal_required": record.seal,
        "identity_check": record.identity,
        "mynaportal_eligible": False,
        "online_status": "not_done",
        "channel": None,
        "verdict": "undecided",
        "verdict_reason": None,
        "blockers": [],
        "notes": None,
    }


def generate_demo_municipality(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Return the demo city's 1,942 procedures as dicts, deterministic for a seed."""
    rng = random.Random(seed)
    records = [_Record(spec, rng) for spec in city_specs()]
    phrases = wording()

    visit_pool = [record for record in records if record.spec.visit]
    portal_pool = [record for record in records if record.spec.eligible]
    general_pool = [
        record for record in records if not record.spec.visit and not record.spec.eligible
    ]
    # A needed law change rules out a feasible verdict however the rest looks.
    can_be_feasible = [record for record in general_pool if "law_change" not in record.spec.flags]

    visits = _pick(
        rng, visit_pool, VISIT_REQUIRED, [r for r in visit_pool if "core" in r.spec.flags]
    )
    portal_feasible = _weighted_pick(
        rng,
        portal_pool,
        FEASIBLE_MYNAPORTAL,
        [r for r in portal_pool if "priority" in r.spec.flags],
    )
    portal_infeasible = _pick(rng, _without(portal_pool, portal_feasible), INFEASIBLE_MYNAPORTAL)
    high_feasible = _weighted_pick(
        rng,
        [r for r in can_be_feasible if r.volume is not None and r.volume >= HIGH_VOLUME],
        FEASIBLE_HIGH_VOLUME,
    )
    remaining = _without(general_pool, high_feasible)
    general_count = (
        TOTAL - VISIT_REQUIRED - FEASIBLE_MYNAPORTAL - INFEASIBLE_MYNAPORTAL - FEASIBLE_HIGH_VOLUME
    )
    general = _pick(rng, remaining, general_count, [r for r in remaining if "core" in r.spec.flags])
    low_feasible = _weighted_pick(
        rng,
        [
            r
            for r in general
            if (r.volume is None or r.volume < HIGH_VOLUME) and "law_change" not in r.spec.flags
        ],
        FEASIBLE - FEASIBLE_MYNAPORTAL - FEASIBLE_HIGH_VOLUME,
    )
    undecided = _pick(rng, _without(general, low_feasible), UNDECIDED)
    general_infeasible = _without(general, low_feasible, undecided)

    verdicts: dict[int, str] = {}
    for group, group_verdict in (
        (visits, "visit"),
        (portal_feasible, "feasible"),
        (high_feasible, "feasible"),
        (low_feasible, "feasible"),
        (portal_infeasible, "infeasible"),
        (general_infeasible, "infeasible"),
        (undecided, "undecided"),
    ):
        for record in group:
            verdicts[id(record)] = group_verdict
    portal = {id(record) for record in portal_feasible + portal_infeasible}
    infeasible = [r for r in records if verdicts.get(id(r)) == "infeasible"]
    # Online in part: the form goes online while an original or the fee still comes on paper.
    partly_online = {
        id(record)
        for record in _pick(
            rng,
            [r for r in infeasible if r.profile and "law_change" not in r.profile],
            PARTLY_ONLINE,
        )
    }

    rows: list[dict[str, Any]] = []
    division_numbers: dict[str, int] = {}
    department_numbers: dict[str, int] = {}
    positions: dict[str, int] = {}
    for record in records:
        spec = record.spec
        department_numbers.setdefault(spec.department, len(department_numbers) + 1)
        division_numbers.setdefault(spec.division, len(division_numbers) + 1)
        verdict = verdicts.get(id(record))
        if verdict is None:
            continue
        positions[spec.division] = positions.get(spec.division, 0) + 1
        code = (
            f"FJ-{department_numbers[spec.department]:02d}-"
            f"{division_numbers[spec.division]:03d}-{positions[spec.division]:04d}"
        )
        row = _row(record, code)
        row["mynaportal_eligible"] = id(record) in portal
        if verdict == "visit":
            row["verdict"] = "infeasible"
            on_site = any(word in spec.name for word in ("立会", "現地", "検査", "調査"))
            row["verdict_reason"] = "性質上現地での対応が必要" if on_site else "性質上来庁が必要"
            row["blockers"] = ["by_nature"]
        elif verdict == "feasible":
            row["verdict"] = "feasible"
            row["verdict_reason"] = (
                "マイナポータル（ぴったりサービス）で受付可能"
                if row["mynaportal_eligible"]
                else rng.choice(phrases.feasible_reasons)
            )
        elif verdict == "infeasible":
            row["verdict"] = "infeasible"
            row["blockers"] = _blockers(record, rng)
            row["verdict_reason"] = "。".join(
                phrases.blocker_reasons[blocker] for blocker in row["blockers"]
            )
            if id(record) in partly_online:
                row["online_status"] = "partial"
                if spec.kind == "certificate":
                    row["channel"] = "konbini"
                    row["notes"] = "マイナンバーカードによるコンビニ交付で一部対応"
                else:
                    row["channel"] = "city_eapp"
                    row["notes"] = "申請書は電子申請で受付（原本等は郵送又は窓口で提出）"
        else:
            row["verdict_reason"] = rng.choice(phrases.undecided_reasons)
        if row["notes"] is None and rng.random() < 0.08:
            note = rng.choice(phrases.notes)
            if not note.only_without_seal or record.seal is False:
                row["notes"] = note.text
        rows.append(row)
    return rows
