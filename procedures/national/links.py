"""Linking city procedures to national 手続IDs: suggestions by name and law, a person decides.

A procedure whose own code is a 手続ID of the current load (one imported from the national
file) is offered that entry first, as an exact link. Other suggestions rank the entries by
name similarity (the priority list's score) and, when the city gives its law, the law's.
Confirming, rejecting and choosing another are audited on the procedure.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Integer, Select, and_, func, insert, literal, select
from sqlmodel import Session, col

from procedures.models import (
    AuditEvent,
    Division,
    Lifecycle,
    MatchStatus,
    NationalEntry,
    NationalLink,
    NationalLoad,
    Procedure,
    utcnow,
)
from procedures.national.reference import current_load
from procedures.priority.matching import CANDIDATE_FLOOR, MIN_SHARED, match_score
from procedures.priority.national_list import normalise

#: Suggestions shown per procedure.
SUGGESTIONS = 3
#: Share of the score the law gives, when the city procedure names one.
LAW_WEIGHT = 0.2
#: The score of an exact link (the procedure's code is the 手続ID).
EXACT = 100.0


@dataclass(frozen=True)
class Suggestion:
    """A national entry suggested for a city procedure."""

    national_id: str
    name: str
    legal_basis: str | None
    ministry: str | None
    score: float
    exact: bool = False


class LinkError(Exception):
    """A link was refused: no such 手続ID in the current load, or nothing loaded yet."""


#: An entry as matching reads it: (national_id, name key, law key, name, law, ministry).
Entry = tuple[str, str, str, str, str | None, str | None]
#: The current load's entries, by database and load (one load kept): a load never changes.
_ENTRIES: dict[tuple[str, int, str], list[Entry]] = {}


def _law_key(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def _entries(session: Session, load: NationalLoad) -> list[Entry]:
    """Return the load's entries for matching, read once per load."""
    assert load.id is not None  # a stored load
    load_id = load.id
    key = (str(session.get_bind().engine.url), load_id, load.sha256)
    if key not in _ENTRIES:
        rows = session.execute(
            select(
                col(NationalEntry.national_id),
                col(NationalEntry.name_key),
                col(NationalEntry.legal_basis),
                col(NationalEntry.name),
                col(NationalEntry.ministry),
            ).where(col(NationalEntry.load_id) == load_id)
        ).all()
        _ENTRIES.clear()
        _ENTRIES[key] = [(r[0], r[1], _law_key(r[2]), r[3], r[2], r[4]) for r in rows]
    return _ENTRIES[key]


def law_score(city: str | None, national: str | None) -> float:
    """Return 100 when the city's law names the national entry's law, else 0.

    Law names that are merely alike are different laws (児童手当法, 児童扶養手当法).
    """
    city_key, national_key = _law_key(city), _law_key(national)
    if not city_key or not national_key:
        return 0.0
    shorter, longer = sorted((city_key, national_key), key=len)
    # 住民基本台帳法第12条 names 住民基本台帳法; 手続法13 does not name 手続法1.
    if longer.startswith(shorter) and not longer[len(shorter) :][:1].isdigit():
        return 100.0
    return 0.0


def suggest(
    session: Session,
    procedures: list[Procedure],
    *,
    limit: int = SUGGESTIONS,
) -> dict[int, list[Suggestion]]:
    """Return each procedure's best national entries of the current load, best first.

    The entry whose 手続ID is the procedure's own code comes first; rejected pairs never come.
    """
    load = current_load(session)
    if load is None or load.id is None or not procedures:
        return {}
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from rapidfuzz import process
    from rapidfuzz.distance import LCSseq

    entries = _entries(session, load)
    keys = [entry[1] for entry in entries]
    by_id = {entry[0]: entry for entry in entries}
    rejected = _rejected(session, [p.id for p in procedures if p.id is not None])
    found: dict[int, list[Suggestion]] = {}
    for procedure in procedures:
        assert procedure.id is not None  # a stored procedure
        refused = rejected.get(procedure.id, set())
        ranked: dict[str, Suggestion] = {}
        exact = by_id.get(procedure.code or "")
        if exact and exact[0] not in refused:
            ranked[exact[0]] = _suggestion(exact, EXACT, exact=True)
        city_key = normalise(procedure.name)
        cutoff = max(MIN_SHARED - 1, len(city_key) // 2)
        hits = process.extract_iter(city_key, keys, scorer=LCSseq.similarity, score_cutoff=cutoff)
        scored = []
        for _key, shared, index in hits:
            score = match_score(city_key, keys[index], int(shared))
            if score >= CANDIDATE_FLOOR and entries[index][0] not in refused:
                scored.append((_combined(score, procedure.legal_basis, entries[index]), index))
        scored.sort(key=lambda pair: (-pair[0], entries[pair[1]][0]))
        for score, index in scored:
            if len(ranked) >= limit:
                break
            ranked.setdefault(entries[index][0], _suggestion(entries[index], score))
        found[procedure.id] = list(ranked.values())[:limit]
    return found


def _combined(name_score: float, city_law: str | None, entry: Entry) -> float:
    """Blend the name's score with the law's when the city names a law."""
    if not _law_key(city_law):
        return name_score
    law = law_score(city_law, entry[4])
    return round((1 - LAW_WEIGHT) * name_score + LAW_WEIGHT * law, 1)


def _suggestion(entry: Entry, score: float, exact: bool = False) -> Suggestion:
    return Suggestion(entry[0], entry[3], entry[4], entry[5], score, exact)


def _rejected(session: Session, procedure_ids: list[int]) -> dict[int, set[str]]:
    rows = session.execute(
        select(col(NationalLink.procedure_id), col(NationalLink.national_id)).where(
            col(NationalLink.procedure_id).in_(procedure_ids),
            col(NationalLink.status) == MatchStatus.rejected,
        )
    ).all()
    refused: dict[int, set[str]] = {}
    for procedure_id, national_id in rows:
        refused.setdefault(procedure_id, set()).add(national_id)
    return refused


def confirmed_link(session: Session, procedure_id: int) -> NationalLink | None:
    """Return the procedure's confirmed link, or None."""
    return session.execute(
        select(NationalLink).where(
            col(NationalLink.procedure_id) == procedure_id,
            col(NationalLink.status) == MatchStatus.confirmed,
        )
    ).scalar_one_or_none()


def confirm_link(
    session: Session, *, procedure_id: int, national_id: str, user_id: int | None
) -> NationalLink:
    """Link the procedure to a 手続ID of the current load (replacing its link), audited.

    Raises LinkError when the current load has no such 手続ID.
    """
    national_id = national_id.strip()
    load = current_load(session)
    if load is None or not _in_load(session, load.id, national_id):
        raise LinkError(national_id)
    previous = confirmed_link(session, procedure_id)
    if previous is not None and previous.national_id == national_id:
        return previous
    if previous is not None:
        session.delete(previous)
        session.flush()
    link = _pair(session, procedure_id, national_id) or NationalLink(
        procedure_id=procedure_id, national_id=national_id
    )
    link.status = MatchStatus.confirmed
    link.load_id = load.id
    link.changes = link.flagged_load_id = None
    link.user_id = user_id
    link.at = utcnow()
    session.add(link)
    _audit(
        session,
        procedure_id,
        user_id,
        "national_link",
        previous.national_id if previous else None,
        national_id,
    )
    session.flush()
    return link


def reject_suggestion(
    session: Session, *, procedure_id: int, national_id: str, user_id: int | None
) -> NationalLink:
    """Remember that the 手続ID is not this procedure's: it is not suggested again. Audited."""
    link = _pair(session, procedure_id, national_id) or NationalLink(
        procedure_id=procedure_id, national_id=national_id
    )
    if link.status == MatchStatus.confirmed and link.id is not None:
        raise LinkError(national_id)
    link.status = MatchStatus.rejected
    link.user_id = user_id
    link.at = utcnow()
    session.add(link)
    _audit(session, procedure_id, user_id, "national_reject", None, national_id)
    session.flush()
    return link


def link_exact(session: Session, *, user_id: int | None) -> int:
    """Link every unlinked procedure whose code is a 手続ID of the current load; return how many.

    Two statements whatever the number (the audit entries, then the links, from the same
    selection); rejected pairs and retired procedures are left out.
    """
    load = current_load(session)
    if load is None:
        return 0
    now = utcnow()
    who = literal(user_id, Integer)
    when = literal(now, NationalLink.__table__.c.at.type)  # type: ignore[attr-defined]
    candidates = _exact_candidates(load.id)
    session.execute(
        insert(AuditEvent).from_select(
            ["procedure_id", "user_id", "action", "field", "new_value", "at"],
            candidates.with_only_columns(
                col(Procedure.id),
                who,
                literal("national_link"),
                literal("national_id"),
                col(Procedure.code),
                when,
            ),
        )
    )
    before = _count_confirmed(session)
    session.execute(
        insert(NationalLink).from_select(
            ["procedure_id", "national_id", "status", "load_id", "user_id", "at"],
            candidates.with_only_columns(
                col(Procedure.id),
                col(Procedure.code),
                literal(MatchStatus.confirmed.value),
                literal(load.id, Integer),
                who,
                when,
            ),
        )
    )
    session.flush()
    return _count_confirmed(session) - before


def _exact_candidates(load_id: int | None) -> Select:
    """Select unlinked, unretired procedures whose code is a 手続ID of the load, not rejected."""
    linked = select(col(NationalLink.procedure_id)).where(
        col(NationalLink.status) == MatchStatus.confirmed
    )
    refused = (
        select(col(NationalLink.id))
        .where(
            col(NationalLink.procedure_id) == Procedure.id,
            col(NationalLink.national_id) == Procedure.code,
            col(NationalLink.status) == MatchStatus.rejected,
        )
        .exists()
    )
    return (
        select(col(Procedure.id))
        .join(
            NationalEntry,
            and_(
                col(NationalEntry.load_id) == load_id,
                col(NationalEntry.national_id) == Procedure.code,
            ),
        )
        .where(
            col(Procedure.lifecycle) != Lifecycle.retired,
            col(Procedure.id).not_in(linked),
            ~refused,
        )
    )


def _count_confirmed(session: Session) -> int:
    return session.execute(
        select(func.count())
        .select_from(NationalLink)
        .where(col(NationalLink.status) == MatchStatus.confirmed)
    ).scalar_one()


def _pair(session: Session, procedure_id: int, national_id: str) -> NationalLink | None:
    return session.execute(
        select(NationalLink).where(
            col(NationalLink.procedure_id) == procedure_id,
            col(NationalLink.national_id) == national_id,
        )
    ).scalar_one_or_none()


def _in_load(session: Session, load_id: int | None, national_id: str) -> bool:
    return (
        session.execute(
            select(col(NationalEntry.id)).where(
                col(NationalEntry.load_id) == load_id,
                col(NationalEntry.national_id) == national_id,
            )
        ).first()
        is not None
    )


def _audit(
    session: Session,
    procedure_id: int,
    user_id: int | None,
    action: str,
    old: str | None,
    new: str | None,
) -> None:
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action=action,
            field="national_id",
            old_value=old,
            new_value=new,
        )
    )


@dataclass(frozen=True)
class LinkCounts:
    """How far linking has come."""

    #: Active procedures without a confirmed link.
    unlinked: int
    linked: int
    #: Unlinked procedures whose own code is a 手続ID of the current load.
    exact_available: int


def _unlinked() -> tuple:
    linked = select(col(NationalLink.procedure_id)).where(
        col(NationalLink.status) == MatchStatus.confirmed
    )
    return (col(Procedure.lifecycle) != Lifecycle.retired, col(Procedure.id).not_in(linked))


def link_counts(session: Session) -> LinkCounts:
    """Return the procedures without a link, with one, and those an exact link would take."""
    unlinked = session.execute(
        select(func.count()).select_from(Procedure).where(*_unlinked())
    ).scalar_one()
    load = current_load(session)
    exact = 0
    if load is not None:
        candidates = _exact_candidates(load.id).subquery()
        exact = session.execute(select(func.count()).select_from(candidates)).scalar_one()
    return LinkCounts(unlinked, _count_confirmed(session), exact)


def unlinked_page(
    session: Session, *, page: int, per_page: int = 20
) -> tuple[list[tuple[Procedure, str]], dict[int, list[Suggestion]]]:
    """Return a page of (procedure, division) without a confirmed link, and their suggestions."""
    rows = session.execute(
        select(Procedure, col(Division.name))
        .join(Division, col(Division.id) == Procedure.division_id)
        .where(*_unlinked())
        .order_by(col(Division.name), col(Procedure.name), col(Procedure.id))
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    procedures = [(row[0], row[1]) for row in rows]
    return procedures, suggest(session, [procedure for procedure, _division in procedures])
