"""Time zones for schedules: Azure's Windows time-zone ids, and IANA names, resolved to `ZoneInfo`.

Azure ML schedules name their zone with a Windows id ("Pacific Standard Time", "W. Europe Standard
Time", "UTC-11"), offered as the `TimeZone` enum. headrace accepts those ids (as enum members or as
strings, any case) and IANA names ("Europe/Paris"), and stores the IANA name, which is what
`zoneinfo` understands. The Windows → IANA map is CLDR's `windowsZones`, as shipped by `tzlocal`.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tzlocal.windows_tz import tz_win, win_tz

from headrace.errors import ScheduleError

UTC_NAME = "UTC"
"""The canonical name of UTC; every alias of it ("Etc/UTC", "Zulu", Windows "UTC") is stored as this."""

_UTC_ALIASES = frozenset(
    {"utc", "etc/utc", "etc/uct", "uct", "zulu", "etc/zulu", "universal", "etc/universal"}
)


def _member_name(windows_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", windows_id)


# Built from the map rather than spelled out, so it follows tzlocal's CLDR data. Member names are
# the Azure SDK's (the id without spaces and punctuation), so code written for Azure keeps working.
TimeZone = Enum(  # type: ignore[misc]
    "TimeZone",
    [(_member_name(windows_id), windows_id) for windows_id in sorted(win_tz)],
    type=str,
    module=__name__,
)
TimeZone.__doc__ = """A Windows time-zone id, as Azure ML's `TimeZone` enum offers them.

Members are named like the id without spaces and punctuation: `TimeZone.UTC`,
`TimeZone.PacificStandardTime` ("Pacific Standard Time"), `TimeZone.UTC11` ("UTC-11").
"""

# Case-insensitive lookups: Windows id or enum member name -> Windows id.
_WINDOWS_BY_FOLDED = {windows_id.casefold(): windows_id for windows_id in win_tz}
for _win in win_tz:
    _WINDOWS_BY_FOLDED.setdefault(_member_name(_win).casefold(), _win)

_EXAMPLES = "e.g. 'UTC', 'Europe/Paris', 'America/New_York' or a Windows id such as 'Pacific Standard Time'"


@lru_cache(maxsize=1)
def _iana_by_folded() -> dict[str, str]:
    # Only consulted when an exact IANA lookup failed, to forgive "europe/paris".
    return {name.casefold(): name for name in available_timezones()}


def windows_id(value: object) -> str | None:
    """Return the canonical Windows id for a `TimeZone` member or a Windows id/member name, else None."""
    if isinstance(value, TimeZone):
        return value.value
    if isinstance(value, str):
        return _WINDOWS_BY_FOLDED.get(value.strip().casefold())
    return None


def resolve_zone(value: object, field: str = "time_zone") -> ZoneInfo:
    """Turn a time-zone argument into a `ZoneInfo`.

    Args:
        value: None (UTC), a `TimeZone` member, a Windows id (any case), an IANA name, or a `ZoneInfo`.
        field: the argument name to report in an error.

    Returns:
        The zone. Every UTC alias resolves to `ZoneInfo("UTC")`.

    Raises:
        ScheduleError: the value is not a known zone.

    Example:
        >>> resolve_zone("W. Europe Standard Time").key
        'Europe/Berlin'
    """
    if value is None:
        return ZoneInfo(UTC_NAME)
    if isinstance(value, ZoneInfo):
        return ZoneInfo(UTC_NAME) if str(value.key).casefold() in _UTC_ALIASES else value
    if not isinstance(value, str):
        raise ScheduleError(
            f"expected a time-zone name, got {type(value).__name__} {value!r}; {_EXAMPLES}", field=field
        )
    text = value.strip()
    win = windows_id(text)
    key = win_tz[win] if win is not None else text
    if key.casefold() in _UTC_ALIASES:
        return ZoneInfo(UTC_NAME)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        pass  # ValueError: a key that is not a plain relative path ("../x", "").
    folded = _iana_by_folded().get(key.casefold())
    if folded is not None:
        return ZoneInfo(folded)
    raise ScheduleError(f"unknown time zone {value!r}; {_EXAMPLES}", field=field)


def zone_name(value: object, field: str = "time_zone") -> str:
    """Return the canonical stored name (IANA key) of a time-zone argument.

    Raises:
        ScheduleError: the value is not a known zone.

    Example:
        >>> zone_name(TimeZone.PacificStandardTime)
        'America/Los_Angeles'
    """
    return str(resolve_zone(value, field).key)


def wire_zone_name(zone: ZoneInfo, given: str | None = None) -> str:
    """The name to send Azure clients: the Windows id given, else the zone's Windows id, else its IANA key."""
    win = windows_id(given) if given else None
    if win is not None:
        return win
    key = str(zone.key)
    return UTC_NAME if key == UTC_NAME else tz_win.get(key, key)
