"""Timeframe strings and UTC millisecond timestamps: the one table and the ISO-8601 conversions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fitness.errors import DataError

_MINUTE_MS = 60_000
_HOUR_MS = 60 * _MINUTE_MS

TIMEFRAMES: dict[str, int] = {
    "1m": _MINUTE_MS,
    "3m": 3 * _MINUTE_MS,
    "5m": 5 * _MINUTE_MS,
    "15m": 15 * _MINUTE_MS,
    "30m": 30 * _MINUTE_MS,
    "1h": _HOUR_MS,
    "2h": 2 * _HOUR_MS,
    "4h": 4 * _HOUR_MS,
    "6h": 6 * _HOUR_MS,
    "8h": 8 * _HOUR_MS,
    "12h": 12 * _HOUR_MS,
    "1d": 24 * _HOUR_MS,
}
"""Supported bar timeframes (ccxt spelling) -> bar length in milliseconds."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGER = re.compile(r"[+-]?\d+")


def timeframe_to_ms(timeframe: str) -> int:
    """Return the length of one bar of ``timeframe`` in milliseconds.

    Raises
    ------
    DataError
        If ``timeframe`` is not one of :data:`TIMEFRAMES`.
    """
    try:
        return TIMEFRAMES[timeframe]
    except (KeyError, TypeError):
        known = ", ".join(TIMEFRAMES)
        raise DataError(
            f"timeframe {timeframe!r} is not supported (expected one of {known}); "
            "pass one of those, e.g. --timeframe 1h"
        ) from None


def iso_from_ms(timestamp_ms: int) -> str:
    """Return ``timestamp_ms`` (ms since the epoch, UTC) as ISO-8601 with a ``Z`` suffix.

    Milliseconds are shown only when non-zero: ``2024-01-01T08:00:00Z``,
    ``2024-01-01T08:00:00.008Z``.
    """
    moment = _EPOCH + timedelta(milliseconds=int(timestamp_ms))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    milliseconds = int(timestamp_ms) % 1000
    return f"{text}.{milliseconds:03d}Z" if milliseconds else f"{text}Z"


def ms_from_datetime(moment: datetime) -> int:
    """Return an aware ``datetime`` as integer milliseconds since the epoch (exact, no float)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def parse_timestamp_text(text: str) -> int:
    """Return the ms timestamp written in ``text``: an integer (ms) or ISO-8601 with an offset.

    Raises
    ------
    ValueError
        With a short reason (the caller adds file, row and column): not a timestamp, a naive
        ISO-8601 string (ambiguous: no UTC offset), or sub-millisecond precision.
    """
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped):
        value = int(stripped)
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{text!r} is out of the int64 millisecond range")
        return value
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an integer millisecond timestamp nor an ISO-8601 date-time"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{text!r} has no UTC offset, so the time is ambiguous; "
            "write it with 'Z' or an offset such as +00:00"
        )
    if moment.microsecond % 1000:
        raise ValueError(f"{text!r} has sub-millisecond precision")
    return ms_from_datetime(moment)
