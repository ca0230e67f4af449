"""The handlers run in the benchmark's own process: their environment set for a run and put
back after it, with what they keep between invocations (cached services and source, the
idempotency records' client, boto3 clients) dropped, as a new container would start."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def handlers_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set `env` (before the handlers are imported: Powertools reads its variables then)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        from handlers import idempotency, runtime
        from reconciler.aws import session

        runtime.services.cache_clear()
        runtime.source.cache_clear()
        idempotency.reset()
        os.environ.clear()
        os.environ.update(saved)
        session.reset_clients()
