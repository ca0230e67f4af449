"""Change windows (reconciler/windows.py): when a window is open, when it next opens,
daylight saving, durations, and the cron expressions and time zones refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reconciler.windows import (
    Window,
    cron_problem,
    format_duration,
    is_open,
    next_opening,
    parse_duration,
    timezone_problem,
    window_problem,
)

SATURDAY_NIGHT = Window("0 22 * * SAT", timedelta(hours=4), "Europe/London")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- open or closed ---


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-01-03T21:59:59+00:00", False),  # a second before it opens
        ("2026-01-03T22:00:00+00:00", True),  # the opening itself
        ("2026-01-04T01:59:59+00:00", True),  # the last second
        ("2026-01-04T02:00:00+00:00", False),  # the close: open up to, not including
        ("2026-01-04T02:00:30+00:00", False),  # within the minute after the close
        ("2026-01-07T12:00:00+00:00", False),  # mid-week
    ],
)
def test_a_window_is_open_from_its_opening_up_to_its_close(moment, open_):
    """GIVEN 22:00 on Saturdays for 4h (London, winter: UTC) THEN open in [22:00, 02:00)."""
    assert SATURDAY_NIGHT.is_open(at(moment)) is open_
    assert is_open((SATURDAY_NIGHT,), at(moment)) is open_


def test_closes_says_when_the_open_window_closes():
    assert SATURDAY_NIGHT.closes(at("2026-01-03T23:00:00+00:00")) == at("2026-01-04T02:00:00+00:00")
    assert SATURDAY_NIGHT.closes(at("2026-01-04T02:00:00+00:00")) is None


def test_overlapping_openings_keep_a_window_open_until_the_last_closes():
    """GIVEN a 90m window opening at 00:00 and 01:00 THEN it closes at 02:30."""
    window = Window("0 0,1 * * *", timedelta(minutes=90))
    moment = at("2026-01-01T00:10:00+00:00")
    assert window.closes(moment) == at("2026-01-01T02:30:00+00:00")
    assert window.is_open(at("2026-01-01T02:29:00+00:00"))


def test_no_window_means_always_open_and_no_next_opening():
    moment = at("2026-01-07T12:00:00+00:00")
    assert is_open((), moment) is True
    assert next_opening((), moment) is None


def test_next_opening_is_the_coming_one_and_none_while_open():
    assert next_opening((SATURDAY_NIGHT,), at("2026-01-07T12:00:00+00:00")) == at(
        "2026-01-10T22:00:00+00:00"
    )
    assert next_opening((SATURDAY_NIGHT,), at("2026-01-03T22:30:00+00:00")) is None


def test_next_opening_after_the_close_is_next_week():
    assert next_opening((SATURDAY_NIGHT,), at("2026-01-04T02:00:00+00:00")) == at(
        "2026-01-10T22:00:00+00:00"
    )


def test_several_windows_open_when_any_is_and_next_opening_is_the_earliest():
    """GIVEN Saturday night in London and weekdays 03:00 UTC for 1h THEN either opens it,
    and the next opening is the sooner of the two."""
    early = Window("0 3 * * MON-FRI", timedelta(hours=1))
    windows = (SATURDAY_NIGHT, early)
    assert is_open(windows, at("2026-01-06T03:30:00+00:00"))  # Tuesday
    assert is_open(windows, at("2026-01-03T23:00:00+00:00"))  # Saturday night
    assert not is_open(windows, at("2026-01-06T04:00:00+00:00"))
    assert next_opening(windows, at("2026-01-06T04:00:00+00:00")) == at("2026-01-07T03:00:00+00:00")
    assert next_opening(windows, at("2026-01-09T04:00:00+00:00")) == at("2026-01-10T22:00:00+00:00")


def test_a_moment_in_another_zone_or_naive_is_the_same_instant():
    """Aware moments are compared as instants; a naive one is taken as UTC."""
    new_york = at("2026-01-03T17:30:00-05:00")  # 22:30 UTC
    assert SATURDAY_NIGHT.is_open(new_york)
    assert SATURDAY_NIGHT.is_open(datetime(2026, 1, 3, 22, 30))
    assert not SATURDAY_NIGHT.is_open(datetime(2026, 1, 3, 21, 30))


# --- daylight saving ---


def test_a_london_window_is_22_00_local_in_summer_and_in_winter():
    """GIVEN 22:00 Europe/London WHEN in summer (BST, UTC+1) THEN it opens at 21:00 UTC;
    in winter (GMT) at 22:00 UTC."""
    summer = next_opening((SATURDAY_NIGHT,), at("2026-07-01T00:00:00+00:00"))
    winter = next_opening((SATURDAY_NIGHT,), at("2026-01-01T00:00:00+00:00"))
    assert summer == at("2026-07-04T21:00:00+00:00")
    assert winter == at("2026-01-03T22:00:00+00:00")
    london = ZoneInfo("Europe/London")
    assert summer.astimezone(london).hour == winter.astimezone(london).hour == 22
    assert SATURDAY_NIGHT.is_open(at("2026-07-04T21:00:00+00:00"))
    assert not SATURDAY_NIGHT.is_open(at("2026-07-04T20:59:00+00:00"))
    assert not SATURDAY_NIGHT.is_open(at("2026-07-05T01:00:00+00:00"))  # 02:00 BST


def test_a_window_spanning_the_clock_change_lasts_its_duration():
    """GIVEN 22:00 London on the Saturday before the autumn change, 4h THEN it closes
    4 hours later in elapsed time (01:00 GMT), not at 02:00 on the wall clock."""
    opens = at("2026-10-24T21:00:00+00:00")  # 22:00 BST
    assert SATURDAY_NIGHT.closes(opens) == opens + timedelta(hours=4)


def test_a_time_skipped_in_spring_opens_just_after_the_gap():
    """GIVEN 01:30 London daily WHEN 01:30 does not exist (29 March 2026) THEN the
    window opens at 02:00 BST (01:00 UTC), as Debian cron runs such a job."""
    window = Window("30 1 * * *", timedelta(hours=1), "Europe/London")
    assert next_opening((window,), at("2026-03-29T00:00:00+00:00")) == at(
        "2026-03-29T01:00:00+00:00"
    )


def test_a_time_repeated_in_autumn_opens_once_and_closes_after_its_duration():
    """GIVEN 01:30 London daily, 1h WHEN 01:30 happens twice (25 October 2026) THEN the
    window opens at the first (00:30 UTC) only and is closed from 01:30 UTC."""
    window = Window("30 1 * * *", timedelta(hours=1), "Europe/London")
    assert next_opening((window,), at("2026-10-25T00:00:00+00:00")) == at(
        "2026-10-25T00:30:00+00:00"
    )
    assert window.is_open(at("2026-10-25T01:29:00+00:00"))
    assert not window.is_open(at("2026-10-25T01:30:00+00:00"))
    assert not window.is_open(at("2026-10-25T02:29:00+00:00"))
    assert window.closes(at("2026-10-25T02:29:00+00:00")) is None
    assert next_opening((window,), at("2026-10-25T01:29:30+00:00")) is None
    assert next_opening((window,), at("2026-10-25T02:00:00+00:00")) == at(
        "2026-10-26T01:30:00+00:00"
    )


def test_opens_after_is_strictly_after_even_in_the_repeated_hour():
    window = Window("30 1 * * *", timedelta(hours=1), "Europe/London")
    moment = at("2026-10-25T01:29:00+00:00")  # 01:29 GMT, the second pass
    assert window.opens_after(moment) > moment


# --- durations ---


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("4h", timedelta(hours=4)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("7d", timedelta(days=7)),
        ("1m", timedelta(minutes=1)),
    ],
)
def test_durations_are_read(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0h",
        "0d0h0m",
        "7d1m",
        "8d",
        "",
        "4",
        "4 h",
        "4H",
        "h",
        "30m1h",
        "1.5h",
        "-1h",
        "4h\n",
        " 4h",
        "\u0664h",  # an Arabic-Indic digit four
        "99999999999999999999d",  # would overflow timedelta
        "PT4H",
    ],
)
def test_zero_over_a_week_and_garbage_durations_are_refused(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("value", [4, None, 4.0, ["4h"]])
def test_a_duration_that_is_not_text_is_refused(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=4), "4h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, minutes=5), "1d5m"),
        (timedelta(0), "0m"),
    ],
)
def test_durations_are_written_back_in_the_same_syntax(duration, text):
    assert format_duration(duration) == text
    assert duration == timedelta(0) or parse_duration(text) == duration


def test_a_window_prints_its_cron_duration_and_zone():
    assert str(SATURDAY_NIGHT) == "'0 22 * * SAT' for 4h (Europe/London)"


# --- cron expressions and time zones refused ---


@pytest.mark.parametrize(
    "cron", ["0 22 * * SAT", "*/15 * * * *", "0 3 * * 1-5", "0 0 29 2 *", "0 22 L * *"]
)
def test_five_field_cron_expressions_are_taken(cron):
    assert cron_problem(cron) is None
    assert window_problem(cron, "UTC") is None


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 0 30 2 *", "Bad day-of-month"),  # 30 February never comes
        ("0 0 31 4,6 *", "Bad day-of-month"),
        ("61 * * * *", "Bad minute"),
        ("0 24 * * *", "Bad hour"),
        ("0 22 * * FUNDAY", "Bad day-of-week"),
        ("0 0 0 22 * SAT", "it has 6 (a seconds or a year field is not taken)"),
        ("0 22 ? * SAT *", "it has 6"),
        ("0 22 * *", "it has 4"),
        ("", "it has 0"),
        ("@weekly", "it has 1"),
        ("cron(0 22 ? * SAT *)", "EventBridge syntax"),
    ],
)
def test_cron_expressions_that_cannot_be_used_are_refused(cron, message):
    problem = window_problem(cron, "UTC")
    assert problem.startswith(f"cron {cron!r}")
    assert message in problem


@pytest.mark.parametrize(
    "zone", ["Mars/Base", "utc", "europe/london", "localtime", "", "../etc/passwd", "a\0b", "BST"]
)
def test_names_that_are_not_iana_time_zones_are_refused(zone):
    assert timezone_problem(zone) == f"{zone!r} is not an IANA time zone name like Europe/London"
    assert window_problem("0 22 * * SAT", zone).startswith(f"timezone {zone!r}")


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"])
def test_iana_time_zones_are_taken(zone):
    assert timezone_problem(zone) is None
