"""Change windows: when a stack may be changed. A window opens at each time its cron
expression names (standard five fields, read in the window's IANA time zone, so that
"22:00 on Saturdays in Europe/London" stays 22:00 across daylight saving) and stays
open for its duration. A stack with no window may be changed at any time.

Cron is evaluated by cronsim (the library behind Healthchecks.io's cron checks), time
zones by the standard library's zoneinfo with the tzdata package as its fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
MAX_DURATION = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    cron: str  # five fields: minute hour day-of-month month day-of-week
    duration: timedelta
    timezone: str = "UTC"

    def __str__(self) -> str:
        return f"'{self.cron}' for {format_duration(self.duration)} ({self.timezone})"

    def opens_after(self, moment: datetime) -> datetime:
        """The first opening strictly after `moment`, in UTC."""
        local = moment.astimezone(ZoneInfo(self.timezone)).replace(second=0, microsecond=0)
        return next(CronSim(self.cron, local)).astimezone(UTC)

    def is_open(self, moment: datetime) -> bool:
        """Open when an opening lies in (moment - duration, moment]."""
        return self.opens_after(moment - self.duration - timedelta(minutes=1)) <= moment

    def closes(self, moment: datetime) -> datetime | None:
        """When the window open at `moment` closes (None when it is closed)."""
        start = self.opens_after(moment - self.duration - timedelta(minutes=1))
        return start + self.duration if start <= moment else None


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
    match = DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
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


def window_problem(cron: str, timezone: str) -> str | None:
    """Why a cron expression or time zone cannot be used, or None."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {timezone!r} is not an IANA time zone name like Europe/London"
    try:
        next(CronSim(cron, datetime.now(zone)))
    except (CronSimError, StopIteration) as err:
        return f"cron {cron!r} is not a five-field cron expression: {err}"
    return None
