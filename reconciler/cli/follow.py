"""The CLI may wait for a stack operation (a Lambda never does): it polls the stack
and prints each new event as it arrives."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from reconciler.live import LiveStack

CLOCK_SKEW = timedelta(seconds=5)  # between this machine's clock and CloudFormation's
# A new stack leaves REVIEW_IN_PROGRESS seconds after its change set is executed. One
# still there this long after was never executed (or its execution was lost): it would
# wait for hours, so it is not followed further.
REVIEW_SECONDS = 60.0
REVIEW = "REVIEW_IN_PROGRESS"


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
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LiveStack | None:
    """Wait until the stack leaves every *_IN_PROGRESS status; print its events (those
    since `since`: the operation's, not the stack's whole history). A stack still in
    REVIEW_IN_PROGRESS after REVIEW_SECONDS is left with an explanation: nothing will
    move it until a change set is executed."""
    seen: set[str] = set()
    started = clock()
    deadline = started + timeout_seconds
    while True:
        for event in cfn.events(name, region, seen, since):
            reason = f" - {event.reason}" if event.reason else ""
            echo(f"  {event.timestamp}  {event.logical_id:<28} {event.status}{reason}")
        stack = cfn.describe_stack(name, region)
        if stack is None or not stack.in_progress or clock() > deadline:
            return stack
        if stack.status == REVIEW and clock() - started > REVIEW_SECONDS:
            echo(
                f"{name}: still {REVIEW} after {REVIEW_SECONDS:.0f} s: its change set was "
                "created but is not executing, and the stack stays so until a change set "
                "is executed or the stack is deleted; not followed further (see `reconciler "
                "status`, or `aws cloudformation list-change-sets --stack-name "
                f"{name} --region {region}`)"
            )
            return stack
        sleep(poll_seconds)


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
