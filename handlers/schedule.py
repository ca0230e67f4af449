"""Schedule handler (EventBridge schedule): reconciles the branch head (the safety net for
a lost event), then starts drift detection on managed stacks, at most
DRIFT_MAX_CONCURRENT (default 5) in flight at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import RejectedEvent, ScheduledEvent, parse_as
from handlers.runtime import (
    check_environment,
    handle,
    logger,
    metrics,
    rejected,
    services,
    source,
)
from reconciler.environment import drift_max_concurrent

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        if not isinstance(event, dict) or event:  # {} is a direct invoke
            parse_as(event, ScheduledEvent, "a scheduled event")
    except RejectedEvent as err:
        return rejected("schedule event", err)

    def work() -> Outcome:
        # The reconcile core is loaded by the first tick, not at import.
        from reconciler.triggers import on_schedule

        return on_schedule(
            services(), drift_max_concurrent(), source(), owner=context.aws_request_id
        )

    result = handle(__name__, event, context, work)
    logger.info("schedule handled", extra=result)
    return result
