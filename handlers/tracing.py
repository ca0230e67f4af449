"""X-Ray tracing of the handlers, through Powertools' Tracer, built only when tracing is on.

Powertools' Tracer imports the X-Ray SDK when it is constructed, even disabled: about
100 ms of every cold start. So the Tracer is built by the first handler decorated while
tracing is active, by Powertools' own rule (Tracer._is_tracer_disabled): running in Lambda
(LAMBDA_TASK_ROOT set), not under SAM or Chalice local, POWERTOOLS_TRACE_DISABLED not
true. Otherwise a handler is left undecorated and the SDK is never imported.
infra/bootstrap.yml's `Tracing` parameter (PassThrough) turns it off for a deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any, TypeVar

# Cheap: the tracer module imports the X-Ray SDK lazily, on the Tracer's construction.
from aws_lambda_powertools.tracing.tracer import Tracer

SERVICE = "gitops-reconciler"

F = TypeVar("F", bound=Callable[..., Any])


def active() -> bool:
    """Whether a Tracer built now would trace (Powertools' rule, read from the environment)."""
    return not Tracer._is_tracer_disabled()


@cache
def tracer() -> Tracer:
    """The one Tracer of the container, built (and botocore patched) on first use."""
    return Tracer(service=SERVICE)


def capture_lambda_handler(
    handler: F | None = None,
    *,
    capture_response: bool | None = None,
    capture_error: bool | None = None,
) -> Any:
    """Powertools' `Tracer.capture_lambda_handler` when tracing is active, else the handler
    itself; used bare (`@capture_lambda_handler`) or with arguments, as Powertools' is."""
    if handler is None:
        return partial(
            capture_lambda_handler, capture_response=capture_response, capture_error=capture_error
        )
    if not active():
        return handler
    return tracer().capture_lambda_handler(
        handler, capture_response=capture_response, capture_error=capture_error
    )
