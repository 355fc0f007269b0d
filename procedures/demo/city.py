"""The demo city as its data files describe it: its procedures, and the Japanese it writes.

`data/city.json` lists the city the way its divisions would: departments, their divisions, and
each division's procedures, one object a line. A division gives its procedures' defaults:
`applicant` (residents, businesses or both), `life_events` and `legal_basis`; a procedure may
override any of them, and `[]` or `null` clears the default. A name ending in `{a,b,c}` stands
for one procedure per alternative; `@group` among the alternatives stands for the names listed
under `alternatives` in the file. `volume` is the first alternative's annual count (FY2020);
later alternatives are rarer, and a procedure with no volume gets a skewed random one.

A procedure's `flags` say what its name cannot: see `FLAGS`. Visits by nature are mostly
detected from the name (閲覧・縦覧・傍聴・立会い・現地確認・検査申請 …); the `visit` flag marks
the rest.

`data/wording.json` holds the Japanese the generator writes into the rows: why a visit is
needed, why a procedure cannot go online yet, attachments by a word of the name, and notes.

Each file is read once, on first use.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from procedures.vocabulary import BLOCKERS, LIFE_EVENTS

DATA_DIR = Path(__file__).resolve().parent / "data"

#: The portal's share of the national plan: child care, nursing care and disaster.
MYNAPORTAL_LIFE_EVENTS = frozenset({"妊娠・出産", "子育て", "介護", "被災"})

#: What a procedure's flags mean.
FLAGS = {
    "core": "always among the listed procedures",
    "priority": "on the national priority list: on the portal and always feasible",
    "portal": "the My Number Portal can take it",
    "visit": "needs a visit by nature, though its name does not say so",
    "law_change": "cannot go online without a change of law",
    "identity_in_person": "the applicant's identity is checked in person",
    "originals": "paper originals must be handed in",
    "seal": "a seal or signature is required",
    "fee": "a fee is charged (its change and cancellation notifications are free)",
    "no_fee": "no fee, whatever the kind of procedure",
}
_APPLICANTS = frozenset({"residents", "businesses", "both"})
_DIVISION_KEYS = frozenset({"name", "applicant", "life_events", "legal_basis", "procedures"})
_PROCEDURE_KEYS = frozenset({"name", "volume", "legal_basis", "life_events", "applicant", "flags"})

# Words that make a procedure need a visit by nature wherever they appear in a name.
_VISIT_WORDS = ("閲覧", "縦覧", "傍聴", "立会", "検査申請", "現地確認", "現地調査")
_VISIT_ENDINGS = ("の受診", "の接種", "の受検")
# Later alternatives (変更届, 廃止届 …) are much rarer than the first (許可申請).
_LATER_ALTERNATIVE_SHARE = 0.3


@dataclass(frozen=True)
class ProcedureSpec:
    """One procedure as the city file lists it, before anything is drawn at random."""

    department: str
    division: str
    name: str
    legal_basis: str | None
    applicant: str
    life_events: tuple[str, ...]
    #: The stated annual count for this alternative, or None to draw one.
    volume: float | None
    flags: frozenset[str]
    kind: str
    visit: bool

    @property
    def eligible(self) -> bool:
        """Return whether the My Number Portal can take it (never one that needs a visit)."""
        return not self.visit and bool(self.flags & {"portal", "priority"})


@dataclass(frozen=True)
class Note:
    """A remark the generator may add to a procedure."""

    text: str
    #: Said only of a procedure that needs no seal (押印を廃止).
    only_without_seal: bool


@dataclass(frozen=True)
class Wording:
    """The Japanese the generator writes into the rows."""

    #: (word of the name, why a visit is needed); the first word found wins.
    visit_reasons: tuple[tuple[str, str], ...]
    #: Blocker code -> why it stops the procedure going online.
    blocker_reasons: Mapping[str, str]
    #: (word of the name, the documents that go with the form); the first word found wins.
    attachments: tuple[tuple[str, str], ...]
    feasible_reasons: tuple[str, ...]
    #: None stands for a reason left blank.
    undecided_reasons: tuple[str | None, ...]
    notes: tuple[Note, ...]


@cache
def city_specs() -> tuple[ProcedureSpec, ...]:
    """Return every procedure the city file lists, in its order (read once)."""
    return _build_specs(_read("city.json"))


@cache
def wording() -> Wording:
    """Return the Japanese the generator writes into the rows (read once)."""
    data = _read("wording.json")
    unknown = set(data["blocker_reasons"]) - set(BLOCKERS)
    if unknown:
        raise ValueError(f"unknown blockers in wording.json: {sorted(unknown)}")
    return Wording(
        visit_reasons=tuple((item["word"], item["reason"]) for item in data["visit_reasons"]),
        blocker_reasons=MappingProxyType(dict(data["blocker_reasons"])),
        attachments=tuple((item["word"], item["attachments"]) for item in data["attachments"]),
        feasible_reasons=tuple(data["feasible_reasons"]),
        undecided_reasons=tuple(data["undecided_reasons"]),
        notes=tuple(
            Note(text=item["text"], only_without_seal=item.get("only_without_seal", False))
            for item in data["notes"]
        ),
    )


def _read(file_name: str) -> Any:
    with (DATA_DIR / file_name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _expand(pattern: str, alternatives: Mapping[str, list[str]]) -> list[str]:
    """Return every name a pattern with `{a,b}` alternatives and `{@group}` groups stands for."""
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices: list[list[str]] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            choices.append([part])
            continue
        options: list[str] = []
        for option in part.split(","):
            option = option.strip()
            if not option.startswith("@"):
                options.append(option)
            elif option[1:] in alternatives:
                options.extend(alternatives[option[1:]])
            else:
                raise ValueError(f"unknown group of alternatives {option} in {pattern}")
        choices.append(options)
    return ["".join(combination) for combination in itertools.product(*choices)]


def _kind(name: str) -> str:
    """Infer the national kind of a procedure from the words and the end of its name."""
    if any(word in name for word in ("閲覧", "縦覧", "傍聴", "観覧", "視聴")):
        return "inspection"
    # A trailing note such as （母子健康手帳の交付） does not change what the procedure is.
    base = re.sub(r"（[^（）]*）$", "", name)
    reserved = ("予約", "参加申込", "受講申込", "見学申込", "見学の申込", "抽選申込", "出品申込")
    if base.endswith(reserved):
        return "reservation"
    if base.endswith(("届", "届出", "報告", "の提出", "申告", "通知", "の返納")):
        return "notification"
    if any(word in base for word in ("証明", "写し", "謄本", "抄本")) and base.endswith(
        ("交付申請", "交付請求", "発行申請", "郵送請求", "第三者請求", "証明申請")
    ):
        return "certificate"
    if "相談" in name:
        return "consultation"
    if base.endswith(("申請", "請求", "申出", "申込", "依頼", "申立", "協議", "登録", "応募")):
        return "application"
    if base.endswith(("取消", "解除", "更新", "再設定", "の変更")):
        return "application"
    return "other"


def _needs_visit(name: str, flags: frozenset[str]) -> bool:
    """Tell whether the procedure needs a visit by its nature."""
    if "visit" in flags:
        return True
    return any(word in name for word in _VISIT_WORDS) or name.endswith(_VISIT_ENDINGS)


def _listed_procedures(city: dict[str, Any]) -> Iterator[tuple[str, dict, dict]]:
    """Yield (department, division, procedure) of the city file, refusing unknown keys."""
    divisions: set[str] = set()
    for department in city["departments"]:
        for division in department["divisions"]:
            if set(division) != _DIVISION_KEYS:
                raise ValueError(f"division {division.get('name')} needs exactly {_DIVISION_KEYS}")
            if division["name"] in divisions:
                raise ValueError(f"division listed twice: {division['name']}")
            divisions.add(division["name"])
            for procedure in division["procedures"]:
                unknown = set(procedure) - _PROCEDURE_KEYS
                if unknown or "name" not in procedure:
                    raise ValueError(f"bad keys {sorted(unknown)} in {procedure}")
                yield department["name"], division, procedure


def _build_specs(city: dict[str, Any]) -> tuple[ProcedureSpec, ...]:
    """Turn the city file into specs, refusing duplicates and impossible combinations."""
    specs: list[ProcedureSpec] = []
    names: set[tuple[str, str]] = set()
    for department, division, procedure in _listed_procedures(city):
        defaults = {key: division[key] for key in ("applicant", "life_events", "legal_basis")}
        listed = {**defaults, **procedure}
        flags = frozenset(listed.get("flags", ()))
        if flags - set(FLAGS) or listed["applicant"] not in _APPLICANTS:
            raise ValueError(f"unknown flag or applicant in {procedure}")
        for position, name in enumerate(_expand(procedure["name"], city["alternatives"])):
            key = (division["name"], name)
            if key in names:
                raise ValueError(f"procedure listed twice in {key[0]}: {name}")
            names.add(key)
            volume = listed.get("volume")
            if volume is not None:
                volume = volume * _LATER_ALTERNATIVE_SHARE**position
            spec = ProcedureSpec(
                department=department,
                division=division["name"],
                name=name,
                legal_basis=listed["legal_basis"],
                applicant=listed["applicant"],
                life_events=tuple(listed["life_events"]),
                volume=volume,
                flags=flags,
                kind=_kind(name),
                visit=_needs_visit(name, flags),
            )
            _check(spec)
            specs.append(spec)
    return tuple(specs)


def _check(spec: ProcedureSpec) -> None:
    """Refuse a spec the funnel could not honour."""
    unknown = set(spec.life_events) - set(LIFE_EVENTS)
    if unknown:
        raise ValueError(f"unknown life event {unknown} in {spec.name}")
    if spec.eligible and not MYNAPORTAL_LIFE_EVENTS & set(spec.life_events):
        raise ValueError(f"portal procedure without a portal life event: {spec.name}")
    if "priority" in spec.flags and (spec.visit or "law_change" in spec.flags):
        raise ValueError(f"a national priority procedure must be feasible: {spec.name}")
