"""Stack status handler: "CloudFormation Stack Status Change" from EventBridge."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.events import StackStatusEvent
from handlers.runtime import handle, logger, metrics, services, source, tracer
from reconciler.triggers import on_stack_status


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        detail = parse(event=event, model=StackStatusEvent).detail
    except ValidationError as err:
        logger.error(
            "rejected stack status event", extra={"errors": err.errors(include_input=False)}
        )
        return {"status": "rejected", "reason": "not a stack status event"}
    status = detail.status_details.status
    logger.append_keys(stack=detail.stack_name, stack_status=status)
    result = handle(
        __name__,
        event,
        context,
        lambda: on_stack_status(
            detail.stack_name, detail.region, status, source(), services(), context.aws_request_id
        ),
    )
    logger.info("stack status handled", extra=result)
    return result
