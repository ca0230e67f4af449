"""Change handler: "AWS API Call via CloudTrail" from EventBridge, for the calls that can
change a managed stack's resources (handlers.routes.change_rules). A call on a managed
stack's resource starts drift detection there at once (reconciler.change_detection); the
detection's completion event takes the drift handler's path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.events import ApiCallEvent, RejectedEvent, parse_as
from handlers.runtime import check_environment, handle, logger, metrics, rejected, services
from reconciler.environment import reconciler_roles

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly

# Counted per call: how many were someone else's business, how many our own repairs'.
COUNTED = {"unmanaged": "UnmanagedApiCalls", "ignored": "IgnoredApiCalls"}


@logger.inject_lambda_context(clear_state=True)  # no keys left from the last event
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        parse_as(event, ApiCallEvent, "an AWS API call event")
    except RejectedEvent as err:
        return rejected("API call event", err)
    detail = event["detail"]
    logger.append_keys(call=f"{detail['eventSource']}:{detail['eventName']}")

    def work() -> Outcome:
        # The reconcile core is loaded by the first event acted on, not at import.
        from reconciler.api_calls import parse
        from reconciler.change_detection import on_api_call
        from reconciler.triggers import Outcome

        found = on_api_call(parse(event), services(), reconciler_roles())
        return Outcome(found.status, found.reason, stacks=list(found.stacks))

    result = handle(__name__, event, context, work)
    if result.get("status") in COUNTED:
        metrics.add_metric(name=COUNTED[result["status"]], unit=MetricUnit.Count, value=1)
    logger.info("API call event handled", extra=result)
    return result
