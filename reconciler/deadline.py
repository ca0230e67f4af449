"""How long an invocation has left. Lambda ends an invocation at its timeout, mid-call if
need be, and a process that is killed releases nothing. So a pass that knows its
deadline starts no stack it could not finish (the rest is handed on to a new event), and
holds each lease only until shortly after the moment its Lambda must have ended: a dead
holder's lease expires within LEASE_MARGIN_SECONDS of its timeout, whatever that is."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Past the holder's own deadline: clock skew between Lambda and DynamoDB, a release
# still in flight. A dead holder's lease is taken over this long after its timeout.
LEASE_MARGIN_SECONDS = 30


@dataclass(frozen=True)
class Deadline:
    remaining: Callable[[], float]  # seconds left in this invocation

    @classmethod
    def of_lambda(cls, context: Any) -> Deadline:
        """From the Lambda context: the function's timeout counts down in it."""
        return cls(lambda: context.get_remaining_time_in_millis() / 1000)

    def lease_seconds(self) -> int:
        """A lease taken now ends shortly after this invocation must have ended."""
        return math.ceil(max(0.0, self.remaining())) + LEASE_MARGIN_SECONDS

    def allows(self, seconds: float) -> bool:
        return self.remaining() >= seconds
