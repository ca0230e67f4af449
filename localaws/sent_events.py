"""What the local AWS sent on its buses, kept for readers without a bus.

A `Sent` log is appended to by the module that sends a kind of event (drift detections,
CloudTrail's API calls) and read by pollers: each `Poller` returns the events sent since
its previous poll (the first: since it was made), oldest first, each once, as copies. The
log lives in the process that runs the local AWS and is never cleared: a poller made
after a reset only sees what happens after it. No moto import.
"""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from typing import Any


class Sent:
    """One kind of event sent, oldest first; only ever appended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)

    def since(self, seen: int) -> tuple[list[dict[str, Any]], int]:
        """The events after the first `seen`, and how many there are now."""
        with self._lock:
            return copy.deepcopy(self._events[seen:]), len(self._events)


class Poller:
    """Reads a `Sent` log from the moment it is made."""

    def __init__(self, sent: Sent) -> None:
        self._sent = sent
        _, self._seen = sent.since(0)

    def poll(self) -> list[dict[str, Any]]:
        """The events sent since the previous poll (or since this poller was made),
        oldest first; [] when there were none."""
        new, self._seen = self._sent.since(self._seen)
        return new


def iso8601(timestamp: datetime) -> str:
    """An event's time as AWS writes it, to the second, in UTC."""
    if timestamp.tzinfo is None:  # moto's timestamps are naive UTC
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
