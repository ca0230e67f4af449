"""The CLI may wait for a stack operation (a Lambda never does): it polls the stack
and prints each new event as it arrives."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from reconciler.live import LiveStack

CLOCK_SKEW = timedelta(seconds=5)  # between this machine's clock and CloudFormation's


def operation_start() -> datetime:
    """Taken before an operation starts: its events are the ones not older than this."""
    return datetime.now(UTC) - CLOCK_SKEW


def follow(
    cfn,
    name: str,
    region: str,
    echo: Callable[[str], None],
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3 * 3600,
    since: datetime | None = None,
) -> LiveStack | None:
    """Wait until the stack leaves every *_IN_PROGRESS status; print its events (those
    since `since`: the operation's, not the stack's whole history)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_seconds
    while True:
        for event in cfn.events(name, region, seen, since):
            reason = f" - {event.reason}" if event.reason else ""
            echo(f"  {event.timestamp}  {event.logical_id:<28} {event.status}{reason}")
        stack = cfn.describe_stack(name, region)
        if stack is None or not stack.in_progress or time.monotonic() > deadline:
            return stack
        time.sleep(poll_seconds)


def wait_for_detection(
    cfn, name: str, region: str, poll_seconds: float = 2.0, timeout_seconds: float = 900
) -> str:
    """Start drift detection and wait for it; returns the stack's drift status."""
    detection = cfn.detect_drift(name, region)
    deadline = time.monotonic() + timeout_seconds
    while True:
        status, drift = cfn.drift_detection(detection, region)
        if status != "DETECTION_IN_PROGRESS" or time.monotonic() > deadline:
            return drift
        time.sleep(poll_seconds)
