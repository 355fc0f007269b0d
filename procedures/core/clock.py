"""The one clock: times are stored in UTC and every date or time a person reads is Japan time.

The server's own time zone (UTC on most hosts) never decides a date shown: from 15:00 UTC on,
it is already the next day in Japan.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC (tests stop this one clock)."""
    return datetime.now(UTC)


def in_japan(moment: datetime) -> datetime:
    """Return a stored time in Japan time; a naive time is read as UTC, as stored."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TOKYO)


def japan_now() -> datetime:
    """Return the current time in Japan."""
    return in_japan(utc_now())


def today() -> date:
    """Return today's date in Japan."""
    return japan_now().date()
