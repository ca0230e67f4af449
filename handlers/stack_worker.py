"""Stack worker: applies the work items a pass put on the work queues, one stack per
message (docs/scale.md). Triggered by the SQS event source mapping of each region's FIFO
queue (BatchSize 1, ReportBatchItemFailures, MaximumConcurrency = the region's cap).

An item to try again later (the stack busy or in progress, its change set still being
computed, AWS throttling past botocore's retries) is reported as a batch item failure:
SQS hands it out again after the queue's visibility timeout, and after maxReceiveCount
puts it on the dead-letter queue. For a FIFO queue AWS asks that, after the first item
that failed, every later item of the batch be reported failed too (their order holds).
A message that is not a work item, or a record not from SQS (Lambda's mapping always
says eventSource aws:sqs), is said once and dropped: it would fail every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import tracing
from handlers.runtime import (
    TRANSIENT,
    check_environment,
    handle,
    logger,
    metrics,
    report_settled,
    services,
    source,
)
from reconciler.fanout import WorkItem, WorkItemError

if TYPE_CHECKING:
    from reconciler.triggers import Outcome

check_environment()  # at cold start: a bad setting fails once, clearly

# Outcomes that started a stack operation: its stack status event reports the deploy status.
STARTED = ("executed", "tags-updated", "deleting")


@logger.inject_lambda_context(clear_state=True)
@tracing.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: LambdaContext) -> dict:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.error("rejected stack worker event", extra={"reason": "no SQS Records"})
        return {"batchItemFailures": []}
    failures: list[dict[str, str]] = []
    for record in records:
        message_id = str(record.get("messageId", "")) if isinstance(record, dict) else ""
        if failures:  # FIFO: the items after a failed one are handed out again, in order
            failures.append({"itemIdentifier": message_id})
            continue
        if not _done(record, context):
            failures.append({"itemIdentifier": message_id})
            _later(record)
    return {"batchItemFailures": failures}


def _later(record: dict) -> None:
    """Back sooner than the queue's visibility timeout: 15 s, doubling per receive."""
    from reconciler.aws.work_queue import retry_later

    attributes = record.get("attributes") if isinstance(record.get("attributes"), dict) else {}
    retry_later(
        str(record.get("eventSourceARN", "")),
        str(record.get("receiptHandle", "")),
        _receive_count(attributes.get("ApproximateReceiveCount")),
    )


def _receive_count(value: Any) -> int:
    """SQS's count as a number; 1 for anything else (str.isdigit() accepts "²", which
    int() refuses, and int() refuses more than 4,300 digits)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 1


def _done(record: Any, context: LambdaContext) -> bool:
    """Apply one item; False when SQS should hand it out again."""
    try:
        if isinstance(record, dict) and record.get("eventSource") != "aws:sqs":
            raise WorkItemError("a work item comes from SQS (eventSource aws:sqs)")
        item = WorkItem.parse(record.get("body") if isinstance(record, dict) else None)
    except WorkItemError as err:
        logger.error("rejected work item", extra={"reason": str(err)})
        return True
    logger.append_keys(stack=item.stack, revision=item.revision, region=item.region)
    event = {"source": "aws.sqs", "detail-type": "Work Item", "region": item.region}

    # The reconcile core is loaded by the first work item, not at import.
    from reconciler.deadline import Deadline
    from reconciler.triggers import Outcome, again, on_work_item

    def work() -> Outcome:
        return on_work_item(
            item,
            source(),
            services(),
            context.aws_request_id,
            deadline=Deadline.of_lambda(context),
        )

    try:
        result = handle(__name__, event, context, work)
    except TRANSIENT as err:  # transient (throttling, AWS or GitHub down): again later
        logger.warning("work item to be tried again", extra={"error": str(err)})
        return False
    logger.info("work item handled", extra=result)
    if not any(s.get("outcome") in STARTED for s in result.get("stacks", [])):
        # The commit's deploy status, now this stack has settled without an operation
        # (blocked, held, failed): a started one is reported by its stack status event,
        # so a commit changing N stacks posts about N statuses, not 2N (GitHub takes at
        # most 1,000 per commit and context).
        report_settled(item.stack)
    return not again(Outcome(result.get("status", ""), stacks=result.get("stacks", [])))
