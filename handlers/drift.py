"""Drift handler: "CloudFormation Drift Detection Status Change" from EventBridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import DriftDetectionEvent, RejectedEvent, parse_as
from handlers.runtime import (
    check_environment,
    handle,
    logger,
    metrics,
    rejected,
    services,
    source,
)

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        detail = parse_as(event, DriftDetectionEvent, "a drift detection event").detail
    except RejectedEvent as err:
        return rejected("drift event", err)
    if not detail.ref.unique_id:
        reason = f"{detail.stack_id}: a stack without its unique id (no stack operation's event)"
        logger.info("drift event ignored", extra={"reason": reason})
        return {"status": "ignored", "reason": reason}
    logger.append_keys(
        stack=detail.stack_name, stack_id=detail.stack_id, detection=detail.stack_drift_detection_id
    )
    detection = detail.status_details.detection_status

    def work() -> Outcome:
        # The reconcile core is loaded by the first event acted on, not at import.
        from reconciler.triggers import Outcome, on_drift_detected

        if detection != "DETECTION_COMPLETE":
            return Outcome("ignored", f"detection {detection}")
        return on_drift_detected(
            detail.stack_name,
            detail.region,
            source(),
            services(),
            owner=context.aws_request_id,
            stack_id=detail.stack_id,
        )

    result = handle(__name__, event, context, work)
    if result.get("reason", "").startswith("drift: drifted"):  # detect or ignore: a human acts
        logger.warning("drift left in place", extra=result)
    else:
        logger.info("drift event handled", extra=result)
    return result
