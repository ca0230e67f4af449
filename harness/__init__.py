"""Drives the product on the local AWS: the demo (`harness.demo`), the event router that
delivers EventBridge events to the real handlers (`harness.router`), and the router that
runs a deployed infra/bootstrap.yml stack's functions (`harness.deployed`).

It sits between the two: it imports `reconciler`, `handlers` and `localaws`, and none of
them imports it, so `localaws/` stays the emulator alone (tests/unit/test_layering.py).
Used by the demo, the tests and the benchmarks only.
"""

from __future__ import annotations
