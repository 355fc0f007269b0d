"""Which planned procedures become complete online once their year's conversion is done.

Converting a procedure puts its application online, or, when it is one step from complete,
that missing step (procedures/catalogue/steps.py): it is then complete when every step is
online or not applicable. A step not known yet leaves it not yet confirmed, never complete.
The plan's counts are grouped in SQL by the stored steps (few distinct texts among thousands
of rows) and each text is judged once (`Judged`), by the same rules as the procedure's page.
"""

from __future__ import annotations

from importers.schema import Completeness
from importers.steps import decode, status_of
from procedures.catalogue.steps import (
    APPLICATION,
    NOT_APPLICABLE,
    ONLINE,
    completeness,
    missing_step,
)


def after_conversion(stored: str | None) -> Completeness:
    """Return where a procedure's steps stand once its conversion is done."""
    statuses = decode(stored)
    if missing_step(statuses) is not None:
        return Completeness.complete
    if status_of(statuses, APPLICATION) == NOT_APPLICABLE:
        # Nothing to apply for online: the conversion cannot change its steps.
        return completeness(statuses)
    return completeness({**statuses, APPLICATION: ONLINE})


class Judged(dict[str | None, Completeness]):
    """Where each stored steps text stands once converted, judged when first asked for."""

    def __missing__(self, stored: str | None) -> Completeness:
        judged = self[stored] = after_conversion(stored)
        return judged
