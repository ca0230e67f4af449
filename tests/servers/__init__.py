"""Real servers the rotation tests run against (MariaDB/MySQL, redis-server), started
by the test run on loopback ports with TLS.

A missing server skips its tests with the reason, unless REQUIRE_SERVERS=1 (which
`.ci/run` sets): then it fails them, so CI can never pass by skipping."""

from __future__ import annotations

import os

import pytest


def unavailable(reason: str) -> None:
    """Skip (or, with REQUIRE_SERVERS=1, fail) the test that needs the server."""
    if os.environ.get("REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVERS=1: a missing server is a failure)", pytrace=False)
    pytest.skip(reason)
