"""Stack status handler: "CloudFormation Stack Status Change" from EventBridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import RejectedEvent, StackStatusEvent, parse_as
from handlers.runtime import (
    check_environment,
    handle,
    logger,
    metrics,
    rejected,
    report_settled,
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
        detail = parse_as(event, StackStatusEvent, "a stack status event").detail
    except RejectedEvent as err:
        return rejected("stack status event", err)
    if not detail.ref.unique_id:
        reason = f"{detail.stack_id}: a stack without its unique id (no stack operation's event)"
        logger.info("stack status event ignored", extra={"reason": reason})
        return {"status": "ignored", "reason": reason}
    status = detail.status_details.status
    logger.append_keys(stack=detail.stack_name, stack_id=detail.stack_id, stack_status=status)

    def work() -> Outcome:
        # The reconcile core is loaded by the first event acted on, not at import.
        from reconciler.triggers import on_stack_status

        return on_stack_status(
            detail.stack_name,
            detail.region,
            status,
            source(),
            services(),
            context.aws_request_id,
            stack_id=detail.stack_id,
            token=detail.client_request_token,
        )

    result = handle(__name__, event, context, work)
    report_settled(detail.stack_name)
    logger.info("stack status handled", extra=result)
    return result
