"""An embedded local AWS: moto's server plus this project's extensions for what moto lacks.

Used by the demo and the tests only; nothing in `reconciler/` or `handlers/` imports it, so
production code never runs against a patched moto by accident. It is the emulator alone: it
imports neither `reconciler`, `handlers` nor `harness` (the package that drives the product
on it: the demo and the event routers), which tests/unit/test_layering.py checks. Kept free
of imports so that a client-side module (such as `localaws.stack_events`) does not pay for
importing moto.
"""

from __future__ import annotations
