"""Stand-in for a Lambda event source mapping on an SQS queue.

AWS behaviour: the mapping's pollers receive the queue's messages in batches (BatchSize)
and invoke the function with each batch, at most ScalingConfig.MaximumConcurrency batches
at once; a batch is deleted when the function returns (less the items it lists in
`batchItemFailures` with ReportBatchItemFailures), and otherwise comes back after the
queue's visibility timeout, until the queue's redrive policy moves it to the dead-letter
queue. Sending a message is not delayed by any of this
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).

moto 5.2.5 keeps the mapping (GetEventSourceMapping and ListEventSourceMappings show its
BatchSize, ScalingConfig, FunctionResponseTypes, also when CloudFormation made it), but runs
it inside SendMessage: every message sent makes moto receive a batch from the queue (each
receive counts towards the redrive policy's maxReceiveCount) and invoke the function, which
needs Docker; without it, the attempt logs Docker errors and the batch is put back. So each
SendMessage bumps the receive count of waiting messages until they are dead-lettered
without any consumer having seen them.

`install()` keeps moto's mappings as they are but stops moto's queues from running them on
SendMessage: the queue is left to its pollers, which on the local AWS are the harness's
work-queue pump (`harness.work_queues`), reading the mapping's settings.
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_localaws_sqs_event_source_mappings"


def install() -> None:
    """Leave a queue with event source mappings to its pollers. Safe to call again."""
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import sqs_backends

    if LambdaBackend.__dict__.get(_INSTALLED_MARK):
        return
    moto_create = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = moto_create(self, spec)
        if mapping.event_source_arn.split(":")[2] == "sqs":
            for queue in sqs_backends[self.account_id][self.region_name].queues.values():
                if queue.queue_arn == mapping.event_source_arn:
                    queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        return mapping

    LambdaBackend.create_event_source_mapping = create_event_source_mapping
    setattr(LambdaBackend, _INSTALLED_MARK, True)
