"""Stack status handler: "CloudFormation Stack Status Change" from EventBridge."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.events import StackStatusEvent
from handlers.runtime import logger, services, source
from reconciler.triggers import on_stack_status


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        parsed = parse(event=event, model=StackStatusEvent)
    except ValidationError as err:
        logger.error(
            "rejected stack status event", extra={"errors": err.errors(include_input=False)}
        )
        return {"status": "rejected", "reason": "not a stack status event"}
    detail = parsed.detail
    logger.append_keys(stack=detail.stack_name, stack_status=detail.status_details.status)
    outcome = on_stack_status(
        detail.stack_name,
        detail.region,
        detail.status_details.status,
        source(),
        services(),
        owner=context.aws_request_id,
    )
    logger.info("stack status handled", extra=outcome.to_dict())
    return outcome.to_dict()
