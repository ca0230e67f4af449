"""Drift handler: "CloudFormation Drift Detection Status Change" from EventBridge."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.events import DriftDetectionEvent
from handlers.runtime import logger, services, source
from reconciler.triggers import Outcome, on_drift_detected


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        parsed = parse(event=event, model=DriftDetectionEvent)
    except ValidationError as err:
        logger.error("rejected drift event", extra={"errors": err.errors(include_input=False)})
        return {"status": "rejected", "reason": "not a drift detection event"}
    detail = parsed.detail
    logger.append_keys(stack=detail.stack_name, detection=detail.stack_drift_detection_id)
    if detail.status_details.detection_status != "DETECTION_COMPLETE":
        outcome = Outcome("ignored", f"detection {detail.status_details.detection_status}")
    else:
        outcome = on_drift_detected(
            detail.stack_name, detail.region, source(), services(), owner=context.aws_request_id
        )
    if outcome.reason.startswith("drift: drifted"):  # detect or ignore mode: a human acts
        logger.warning("drift left in place", extra=outcome.to_dict())
    else:
        logger.info("drift event handled", extra=outcome.to_dict())
    return outcome.to_dict()
