"""Run a handler's work once per event key. A repeat of a finished event returns the
first result; a repeat that arrives while the first is still running raises
IdempotencyAlreadyInProgressError, so Lambda retries it later. Work that raises leaves
no record, so a retry does the work again."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from reconciler.aws.idempotency import persistence_from_env

EXPIRES_AFTER_SECONDS = 24 * 3600  # EventBridge retries for up to 24 h; GitHub redelivers by hand


@cache
def _store() -> DynamoDBPersistenceLayer:
    """Built on the first event (the environment is complete then), once per container."""
    return persistence_from_env()


def once(
    scope: str, key: str, context: LambdaContext, work: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """`work()` once per (scope, key); `scope` keeps different handlers' keys apart."""
    config = IdempotencyConfig(expires_after_seconds=EXPIRES_AFTER_SECONDS)
    config.register_lambda_context(context)

    def run(event_key: str) -> dict[str, Any]:
        return work()

    run.__qualname__ = scope  # part of the record's key
    guarded = idempotent_function(
        data_keyword_argument="event_key", persistence_store=_store(), config=config
    )(run)
    return guarded(event_key=key)


def reset() -> None:
    """Forget the persistence layer (tests that change the environment)."""
    _store.cache_clear()
