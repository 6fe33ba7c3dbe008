"""Azure ML's ``partition_format``: values a dataset's files carry in their paths. Pure, no I/O.

``"sales/{Store}/{Brand}/part.parquet"`` gives every file under ``sales/`` two string values, ``Store`` and
``Brand``; ``"{Region}/{Day:yyyy/MM/dd}/data.csv"`` a string and a datetime (tokens ``yyyy``, ``MM``, ``dd``,
``HH``, ``mm``, ``ss``). The format matches the end of a file's datastore path, starting at a folder boundary, as
on Azure ML (a leading ``/`` is optional). Tabular datasets get the values as columns after the files' own;
file datasets expose them as ``partition_keys`` (ParallelRunStep cuts mini-batches by them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headrace.errors import DatasetError

_FIELD = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_DATE_TOKENS = {"yyyy": (r"\d{4}", "%Y"), "MM": (r"\d{2}", "%m"), "dd": (r"\d{2}", "%d"),
                "HH": (r"\d{2}", "%H"), "mm": (r"\d{2}", "%M"), "ss": (r"\d{2}", "%S")}
_TOKEN = re.compile("|".join(sorted(_DATE_TOKENS, key=len, reverse=True)))
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]*$")


@dataclass(frozen=True)
class PartitionFormat:
    """A parsed format: its keys in order, and the ``strptime`` format of those that are dates."""

    text: str
    keys: tuple[str, ...]
    dates: dict[str, str]
    regex: re.Pattern[str]

    def values(self, path: str) -> dict[str, Any] | None:
        """The values ``path`` (a datastore path) carries, or None when it does not fit the format."""
        found = self.regex.search(path.lstrip("/"))
        if found is None:
            return None
        out: dict[str, Any] = {}
        for n, key in enumerate(self.keys):
            text = found.group(f"k{n}")
            out[key] = datetime.strptime(text, self.dates[key]) if key in self.dates else text
        return out


def parse_partition_format(text: str) -> PartitionFormat:
    """Raises: DatasetError naming what is wrong (no ``{key}``, a repeated or empty key, an unknown date token)."""
    if not isinstance(text, str) or not text.strip("/"):
        raise DatasetError(f"partition_format {text!r}: give a path pattern such as '{{Store}}/{{Brand}}/data.csv'")
    body, keys, dates, at = [], [], {}, 0
    for m in _FIELD.finditer(text.lstrip("/")):
        body.append(re.escape(text.lstrip("/")[at:m.start()]))
        key, fmt = m.group(1).strip(), m.group(2)
        if not _KEY.match(key):
            raise DatasetError(f"partition_format {text!r}: {{{m.group(1)}}} is not a key name (letters, digits, _)")
        if key in keys:
            raise DatasetError(f"partition_format {text!r}: key {key!r} appears twice")
        group = f"(?P<k{len(keys)}>"
        if fmt is None:
            body.append(group + "[^/]+)")
        else:
            pattern, strp = _date(text, key, fmt)
            body.append(group + pattern + ")")
            dates[key] = strp
        keys.append(key)
        at = m.end()
    rest = text.lstrip("/")[at:]
    if "{" in rest or "}" in rest or not keys:
        raise DatasetError(f"partition_format {text!r}: name each partition value in braces, e.g. '{{Store}}'")
    body.append(re.escape(rest))
    return PartitionFormat(text, tuple(keys), dates, re.compile("(?:^|/)" + "".join(body) + "$"))


def _date(text: str, key: str, fmt: str) -> tuple[str, str]:
    pattern, strp, at = [], [], 0
    for m in _TOKEN.finditer(fmt):
        literal = fmt[at:m.start()]
        if any(ch.isalpha() for ch in literal):
            raise DatasetError(f"partition_format {text!r}: date format {fmt!r} of {key!r} has {literal!r}; use "
                               f"{', '.join(_DATE_TOKENS)}")
        pattern.append(re.escape(literal))
        strp.append(literal.replace("%", "%%"))
        regex, directive = _DATE_TOKENS[m.group(0)]
        pattern.append(regex)
        strp.append(directive)
        at = m.end()
    tail = fmt[at:]
    if not strp or any(ch.isalpha() for ch in tail):
        raise DatasetError(f"partition_format {text!r}: date format {fmt!r} of {key!r}: use "
                           f"{', '.join(_DATE_TOKENS)}")
    return "".join(pattern) + re.escape(tail), "".join(strp) + tail.replace("%", "%%")


def partition_keys_of(definition: dict[str, Any]) -> list[str]:
    """The keys of a dataset definition's ``partition_format`` ([] without one)."""
    text = definition.get("partition_format")
    return list(parse_partition_format(text).keys) if text else []
