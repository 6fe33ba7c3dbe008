""".NET date and time format strings, as Azure's expression functions take them (`formatDateTime`).

Supported standard formats: "o"/"O" (round trip, 7 fractional digits), "s" (sortable), "u" (universal,
converted to UTC), "r"/"R" (RFC 1123, converted to UTC). Custom specifiers: yyyy yy y, MMMM MMM MM M,
dddd ddd dd d, HH H, hh h, mm m, ss s, f…fffffff, F…FFFFFFF, tt t, K, zzz zz z; text in '…' or "…"
and a backslash-escaped character are copied; `%x` is the single specifier x; any other character is
copied as is (invariant culture: ':' and '/' stay themselves).

A naive datetime is .NET's "unspecified" kind: "K" prints nothing and "z" treats it as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ROUND_TRIP = "yyyy-MM-ddTHH:mm:ss.fffffffK"
_STANDARD = {
    "o": ROUND_TRIP,
    "O": ROUND_TRIP,
    "s": "yyyy-MM-ddTHH:mm:ss",
    "u": "yyyy-MM-dd HH:mm:ss'Z'",
    "r": "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
}
_SPECIFIERS = "yMdHhmsfFtKz"
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class FormatError(ValueError):
    """A format string that is not supported; the message says why."""


def format_datetime(value: datetime, fmt: str = "o") -> str:
    """Format `value` with a .NET standard or custom format string.

    Raises:
        FormatError: an unsupported standard format, an unterminated quote, or too many f/F.
    """
    if fmt in ("u", "r", "R") and value.tzinfo is not None:
        value = value.astimezone(UTC)
    if len(fmt) == 1:
        if fmt not in _STANDARD:
            raise FormatError(
                f"unsupported standard format {fmt!r}; use 'o', 's', 'u', 'r' or a custom pattern such as "
                f"'yyyy-MM-dd' (write '%{fmt}' for the single custom specifier)"
            )
        fmt = _STANDARD[fmt]
    out: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char in "'\"":
            end = fmt.find(char, i + 1)
            if end < 0:
                raise FormatError(f"unterminated quote at position {i} of format {fmt!r}")
            out.append(fmt[i + 1 : end])
            i = end + 1
        elif char == "\\":
            if i + 1 >= len(fmt):
                raise FormatError(f"format {fmt!r} ends with a lone backslash")
            out.append(fmt[i + 1])
            i += 2
        elif char == "%":
            i += 1
        elif char in _SPECIFIERS:
            run = 1
            while i + run < len(fmt) and fmt[i + run] == char:
                run += 1
            out.append(_specifier(value, char, run, fmt))
            i += run
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _specifier(value: datetime, char: str, run: int, fmt: str) -> str:
    if char == "y":
        return (
            f"{value.year % 100}"
            if run == 1
            else f"{value.year % 100:02d}"
            if run == 2
            else f"{value.year:0{run}d}"
        )
    if char == "M":
        return _text_or_number(value.month, run, _MONTHS[value.month - 1])
    if char == "d":
        return _text_or_number(value.day, run, _DAYS[value.weekday()])
    if char == "H":
        return _number(value.hour, run)
    if char == "h":
        return _number(value.hour % 12 or 12, run)
    if char == "m":
        return _number(value.minute, run)
    if char == "s":
        return _number(value.second, run)
    if char in "fF":
        if run > 7:
            raise FormatError(f"at most 7 '{char}' in a row, in format {fmt!r}")
        digits = f"{value.microsecond:06d}0"[:run]
        return digits if char == "f" else digits.rstrip("0")
    if char == "t":
        marker = "AM" if value.hour < 12 else "PM"
        return marker[0] if run == 1 else marker
    offset = value.utcoffset()
    if char == "K":
        if offset is None:
            return ""
        return "Z" if offset == timedelta(0) else _offset(offset, 3)
    return _offset(offset or timedelta(0), run)  # "z"


def _number(number: int, run: int) -> str:
    return f"{number}" if run == 1 else f"{number:02d}"


def _text_or_number(number: int, run: int, name: str) -> str:
    if run <= 2:
        return _number(number, run)
    return name[:3] if run == 3 else name


def _offset(offset: timedelta, run: int) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    hours, minutes = divmod(minutes, 60)
    if run == 1:
        return f"{sign}{hours}"
    if run == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"
