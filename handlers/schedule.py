"""Schedule handler (EventBridge schedule): reconciles the branch head (the safety net for
a lost event), then starts drift detection on managed stacks, at most
DRIFT_MAX_CONCURRENT (default 5) in flight at once."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.runtime import handle, logger, metrics, services, source, tracer
from reconciler.triggers import on_schedule


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    limit = int(os.environ.get("DRIFT_MAX_CONCURRENT", "5"))
    result = handle(
        __name__,
        event,
        context,
        lambda: on_schedule(services(), limit, source(), owner=context.aws_request_id),
    )
    logger.info("schedule handled", extra=result)
    return result
