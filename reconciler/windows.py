"""Change windows: when a stack may be changed. A window opens at each time its cron
expression names (standard five fields, read in the window's IANA time zone, so that
"22:00 on Saturdays in Europe/London" stays 22:00 across daylight saving) and stays
open for its duration. A stack with no window may be changed at any time.

Cron is evaluated by cronsim (the library behind Healthchecks.io's cron checks), time
zones by the standard library's zoneinfo with the tzdata package as its fallback.
cronsim follows Debian cron across daylight saving: a time skipped in spring runs just
after the gap, a time repeated in autumn runs once (the first)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

# Each part at most six digits: a longer number overflows timedelta (a traceback).
DURATION = re.compile(r"(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?")
MAX_DURATION = timedelta(days=7)
CRON_FIELDS = "minute hour day-of-month month day-of-week"
# Overlapping openings (a 2h window every hour) keep a window open; closes() follows
# them this far before giving up.
MAX_CHAINED_OPENINGS = 10_000


@dataclass(frozen=True)
class Window:
    cron: str  # five fields: minute hour day-of-month month day-of-week
    duration: timedelta
    timezone: str = "UTC"

    def __str__(self) -> str:
        return f"'{self.cron}' for {format_duration(self.duration)} ({self.timezone})"

    def opens_after(self, moment: datetime) -> datetime:
        """The first opening strictly after `moment`, in UTC."""
        moment = _utc(moment)
        local = moment.astimezone(ZoneInfo(self.timezone)).replace(second=0, microsecond=0)
        # From a repeated autumn hour (fold=1) cronsim may answer the first pass of a
        # fixed time, which lies before `moment`: that opening has already happened.
        for opening in CronSim(self.cron, local):
            if (opening := opening.astimezone(UTC)) > moment:
                return opening
        raise AssertionError("unreachable: cronsim iterates without end")  # pragma: no cover

    def is_open(self, moment: datetime) -> bool:
        """Open when an opening lies in (moment - duration, moment]: an opening at T
        keeps the window open from T up to, not including, T + duration."""
        moment = _utc(moment)
        return self.opens_after(moment - self.duration) <= moment

    def closes(self, moment: datetime) -> datetime | None:
        """When the window open at `moment` closes (None when it is closed). Openings
        that come before the close extend it."""
        moment = _utc(moment)
        start = self.opens_after(moment - self.duration)
        if start > moment:
            return None
        end = start + self.duration
        for _ in range(MAX_CHAINED_OPENINGS):
            later = self.opens_after(start)
            if later > end:
                break
            start, end = later, max(end, later + self.duration)
        return end


def is_open(windows: tuple[Window, ...], moment: datetime) -> bool:
    """No window: always open. Otherwise open when any window is."""
    return not windows or any(w.is_open(moment) for w in windows)


def next_opening(windows: tuple[Window, ...], moment: datetime) -> datetime | None:
    """When the next window opens (None without windows or while one is open)."""
    if is_open(windows, moment):
        return None
    return min(w.opens_after(moment) for w in windows)


def parse_duration(text: str) -> timedelta | None:
    """`4h`, `90m`, `1h30m`, `2d`: None for anything else, zero or over a week."""
    match = DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    return duration if timedelta(0) < duration <= MAX_DURATION else None


def format_duration(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


def cron_problem(cron: str) -> str | None:
    """Why `cron` is not a five-field cron expression that ever fires, or None.
    cronsim alone would also take a sixth (seconds) field."""
    shown = repr(cron)
    if cron.strip().lower().startswith("cron("):
        return (
            f"{shown} is EventBridge syntax: give the five standard fields ({CRON_FIELDS}) "
            "without cron(...), e.g. '0 22 * * SAT'"
        )
    fields = cron.split()
    if len(fields) != 5:
        extra = " (a seconds or a year field is not taken)" if len(fields) == 6 else ""
        return (
            f"{shown} is not a five-field cron expression ({CRON_FIELDS}): "
            f"it has {len(fields)}{extra}"
        )
    try:
        next(CronSim(cron, datetime.now(UTC)))
    except (CronSimError, StopIteration) as err:
        reason = str(err) or "it never fires"
        return f"{shown} is not a five-field cron expression: {reason}"
    return None


def timezone_problem(timezone: str) -> str | None:
    """Why `timezone` is not an IANA time zone name, or None. `localtime` is the
    machine's own zone, which differs between a laptop and Lambda; names are matched
    exactly (a case-insensitive file system would otherwise take `europe/london`)."""
    if timezone != "localtime" and timezone in _zone_names():
        try:
            ZoneInfo(timezone)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return f"{timezone!r} is not an IANA time zone name like Europe/London"


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def window_problem(cron: str, timezone: str) -> str | None:
    """Why a cron expression or time zone cannot be used, or None."""
    if problem := timezone_problem(timezone):
        return f"timezone {problem}"
    if problem := cron_problem(cron):
        return f"cron {problem}"
    return None


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already. Arithmetic on an
    aware local time would be wall-clock arithmetic, wrong across daylight saving."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
