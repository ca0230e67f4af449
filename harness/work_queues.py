"""Lambda's SQS event source mapping on the local AWS: the stack worker's work queues.

AWS behaviour (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html and its pages on
scaling and error handling): the mapping's pollers receive the queue's messages in batches
of up to BatchSize and invoke the function synchronously with an SQS event, `{"Records":
[...]}`, each record carrying `messageId`, `receiptHandle`, `body`, `attributes`
(ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, and
for a FIFO queue SequenceNumber, MessageGroupId, MessageDeduplicationId),
`messageAttributes`, `md5OfBody`, `eventSource` "aws:sqs", `eventSourceARN` and
`awsRegion`. At most ScalingConfig.MaximumConcurrency invocations run at once per mapping.
From a FIFO queue, the messages of one message group come in order, and none while an
earlier one of the group is in flight: SQS itself withholds the group until the message
is deleted or visible again. When the function returns, the batch is deleted, except, with
FunctionResponseTypes ReportBatchItemFailures, the items it lists in `batchItemFailures`
(an empty or null list is success; an identifier that is empty or not in the batch, or an
answer that is not an object, fails the whole batch). When it raises, the whole batch
stays. What stays becomes visible again after the queue's visibility timeout, and once a
message has been received maxReceiveCount times the queue's redrive policy moves it to the
dead-letter queue.

moto 5.2.5 gives the SQS part: FIFO groups are withheld while a message of the group is in
flight (measured: ReceiveMessage returns nothing more of a group until its message is
deleted or made visible), receive counts, visibility timeouts and the redrive to the
dead-letter queue (at the receive after the maxReceiveCount-th) behave as AWS documents.
It runs no mapping (`localaws.sqs_event_source_mappings`). Here, `WorkQueuePump` is the
mapping's pollers: one thread receives, from each queue, batches while fewer than
`max_concurrency` invocations of that queue run, and hands each batch to a thread of a pool
of that size, which calls the function and then deletes the batch or leaves what failed.
Receiving from one thread keeps each ReceiveMessage whole, as SQS's are (moto's receive
reads the groups in flight when it starts).

What failed is left as the function left it, as Lambda does: it comes back after the
queue's visibility timeout, or sooner if the function changed the message's visibility
(the stack worker does: 15 s, doubling). With `retry_at_once`, the pump makes it visible
again at once instead (overriding what the function set), for tests that retry quickly.
The functions run as threads of this process, not in containers of their own.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from localaws.lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
SqsClientFor = Callable[[str], Any]  # region -> an SQS client of the queue's account

DEFAULT_MAX_CONCURRENCY = 10  # the spec's RegionConcurrency default
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# The attributes Lambda puts in a record, in its order (the FIFO ones only for FIFO queues).
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
)
_WAITING = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SqsMapping:
    """An event source mapping from one SQS queue to one function.

    `phase`, when given, is entered before the first invocation of a run of this function's
    invocations and left after the last (the deployed-wiring router applies the function's
    environment to the process that way, once for all its threads); mappings whose phase
    differs wait until the run ends."""

    queue_url: str
    queue_arn: str  # arn:aws:sqs:<region>:<account>:<name>
    function: Handler
    function_name: str
    handler: str = "stack_worker"  # for people: the handler module's name
    batch_size: int = 1
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    report_batch_item_failures: bool = True
    phase: Callable[[], AbstractContextManager[None]] | None = field(default=None, compare=False)

    @property
    def region(self) -> str:
        return self.queue_arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.queue_arn.split(":")[4]

    @property
    def queue_name(self) -> str:
        return self.queue_arn.split(":")[5]


@dataclass(frozen=True)
class Invocation:
    """One invocation of a mapping's function with a batch, and what became of the batch.

    `status`: "done" (every item deleted), "retry" (items left for another attempt),
    "dead-lettered" (items left that the queue's redrive policy moves to its dead-letter
    queue at the next receive), "error" (the function raised; the whole batch left), or
    with "error" and a dead letter, "dead-lettered"."""

    queue: str
    handler: str
    region: str
    message_ids: tuple[str, ...]
    subject: str
    attempt: int
    status: str
    reason: str
    left: tuple[str, ...] = ()  # message ids left on the queue
    dead_lettered: tuple[dict[str, Any], ...] = ()  # records of those that go to the DLQ
    result: Mapping[str, Any] = field(default_factory=dict)


class WorkQueuePump:
    """Lambda's pollers for a set of SQS event source mappings. Call `step()` from one
    thread (the event pump's loop): it collects the invocations that ended and starts new
    ones where a queue has messages and its mapping has room."""

    def __init__(
        self,
        sqs_client_for: SqsClientFor,
        mappings: Sequence[SqsMapping] = (),
        *,
        discover: Callable[[], Sequence[SqsMapping]] | None = None,
        retry_at_once: bool = False,
    ) -> None:
        self.max_in_flight: dict[str, int] = {}  # queue name -> most invocations at once
        self._sqs_for = sqs_client_for
        self._discover = discover
        self._retry_at_once = retry_at_once
        self._mappings: dict[str, SqsMapping] = {}
        self._max_receives: dict[str, int | None] = {}
        self._pools: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ended: queue.Queue[Invocation] = queue.Queue()
        self._phase: tuple[str, AbstractContextManager[None]] | None = None
        for mapping in mappings:
            self.add(mapping)

    @property
    def mappings(self) -> list[SqsMapping]:
        return list(self._mappings.values())

    def add(self, mapping: SqsMapping) -> None:
        """Poll one more queue (a queue already polled keeps its mapping)."""
        if mapping.queue_arn in self._mappings:
            return
        if mapping.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1: {mapping.max_concurrency}")
        self._mappings[mapping.queue_arn] = mapping
        self._in_flight[mapping.queue_arn] = 0
        self.max_in_flight.setdefault(mapping.queue_name, 0)
        self._max_receives[mapping.queue_arn] = self._max_receive_count(mapping)

    def refresh(self) -> None:
        """Poll the queues `discover` finds now, besides those already polled."""
        if self._discover is not None:
            for mapping in self._discover():
                self.add(mapping)

    # --- the loop's side ---------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        with self._lock:
            return sum(self._in_flight.values())

    def holds_process(self) -> bool:
        """Whether a phase (a function's environment) is applied to the process now."""
        return self._phase is not None

    def step(self) -> tuple[list[Invocation], int]:
        """(invocations ended since the last step, invocations started now)."""
        ended = self._collect()
        if self._phase is not None and self.in_flight == 0:
            self._leave_phase()
        started = 0
        for mapping in self.mappings:
            started += self._start(mapping)
        return ended, started

    def has_ended(self) -> bool:
        """Whether an invocation ended that `step()` has not collected yet."""
        return not self._ended.empty()

    def rest(self) -> None:
        """Leave the open phase if no invocation runs (the loop is about to return)."""
        if self._phase is not None and self.in_flight == 0:
            self._leave_phase()

    def wait(self, timeout_s: float) -> None:
        """Wait until an invocation ends, at most `timeout_s`."""
        try:
            ended = self._ended.get(timeout=timeout_s)
        except queue.Empty:
            return
        self._ended.put(ended)  # step() collects it

    def waiting(self) -> dict[str, int]:
        """Queue name -> messages not done yet (in flight here, visible, invisible or delayed),
        for the queues that have any."""
        found: dict[str, int] = {}
        for arn, mapping in self._mappings.items():
            with self._lock:
                count = self._in_flight[arn]
            attributes = self._sqs_for(mapping.region).get_queue_attributes(
                QueueUrl=mapping.queue_url, AttributeNames=list(_WAITING)
            )["Attributes"]
            count += sum(int(attributes.get(name, "0")) for name in _WAITING)
            if count:
                found[mapping.queue_name] = count
        return found

    def close(self) -> None:
        """Stop the pools (running invocations finish on their own)."""
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()

    # --- starting and ending invocations -------------------------------------------------------

    def _start(self, mapping: SqsMapping) -> int:
        started = 0
        while True:
            with self._lock:
                if self._in_flight[mapping.queue_arn] >= mapping.max_concurrency:
                    return started
            if self._phase is not None and self._phase[0] != mapping.function_name:
                return started  # another function's environment is applied: wait for it
            received = (
                self._sqs_for(mapping.region)
                .receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(mapping.batch_size, 10),
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                .get("Messages", [])
            )
            if not received:
                return started
            self._enter_phase(mapping)
            with self._lock:
                self._in_flight[mapping.queue_arn] += 1
                running = self._in_flight[mapping.queue_arn]
                if running > self.max_in_flight[mapping.queue_name]:
                    self.max_in_flight[mapping.queue_name] = running
            self._pool(mapping).submit(self._invoke, mapping, received)
            started += 1

    def _enter_phase(self, mapping: SqsMapping) -> None:
        """Open the mapping's phase, unless one is open (its own: `_start` checked)."""
        if self._phase is not None or mapping.phase is None:
            return
        context = mapping.phase()
        context.__enter__()
        self._phase = (mapping.function_name, context)

    def _leave_phase(self) -> None:
        if self._phase is not None:
            _, context = self._phase
            self._phase = None
            context.__exit__(None, None, None)

    def _pool(self, mapping: SqsMapping) -> concurrent.futures.ThreadPoolExecutor:
        if mapping.queue_arn not in self._pools:
            self._pools[mapping.queue_arn] = concurrent.futures.ThreadPoolExecutor(
                max_workers=mapping.max_concurrency,
                thread_name_prefix=f"work-{mapping.queue_name}",
            )
        return self._pools[mapping.queue_arn]

    def _invoke(self, mapping: SqsMapping, messages: list[dict[str, Any]]) -> None:
        """One invocation, in a pool thread: the function, then the batch deleted or left."""
        try:
            ended = self._run(mapping, messages)
        except Exception as exc:  # the pump's own calls failed: keep the loop informed
            logger.warning("work queue %s: %s", mapping.queue_name, exc, exc_info=True)
            ended = _invocation(mapping, messages, "error", f"{type(exc).__name__}: {exc}")
        try:
            self._ended.put(ended)  # before it stops counting: the loop must not miss it
        finally:
            with self._lock:
                self._in_flight[mapping.queue_arn] -= 1

    def _run(self, mapping: SqsMapping, messages: list[dict[str, Any]]) -> Invocation:
        records = [sqs_record(mapping, message) for message in messages]
        ids = [record["messageId"] for record in records]
        context = LambdaContext(
            function_name=mapping.function_name, region=mapping.region, account=mapping.account
        )
        try:
            result = mapping.function({"Records": records}, context)
        except Exception as exc:  # Lambda catches everything a handler raises
            logger.info("%s raised on %s", mapping.handler, ids, exc_info=True)
            left, error = ids, f"{type(exc).__name__}: {exc}"
            result = None
        else:
            left, error = failed_items(result, ids, mapping.report_batch_item_failures)
        sqs = self._sqs_for(mapping.region)
        for message in messages:
            if message["MessageId"] in left:
                if self._retry_at_once:
                    sqs.change_message_visibility(
                        QueueUrl=mapping.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=0,
                    )
            else:
                sqs.delete_message(
                    QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        maximum = self._max_receives[mapping.queue_arn]
        dead = tuple(
            record
            for record in records
            if record["messageId"] in left and maximum is not None and _attempt(record) >= maximum
        )
        outcome = result if isinstance(result, Mapping) else {}
        if not left:
            status, reason = str(outcome.get("status", "done")), str(outcome.get("reason", ""))
        else:
            status = "dead-lettered" if dead else ("error" if result is None else "retry")
            of = f" of {maximum}" if maximum is not None else ""
            what = error or f"{len(left)} item(s) reported failed"
            reason = f"{what} (attempt {max(map(_attempt, records))}{of}; " + (
                "to the dead-letter queue)" if dead else "left for another attempt)"
            )
        return _invocation(mapping, messages, status, reason, tuple(left), dead, outcome)

    def _collect(self) -> list[Invocation]:
        ended: list[Invocation] = []
        while True:
            try:
                ended.append(self._ended.get_nowait())
            except queue.Empty:
                return ended

    def _max_receive_count(self, mapping: SqsMapping) -> int | None:
        attributes = (
            self._sqs_for(mapping.region)
            .get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["RedrivePolicy"])
            .get("Attributes", {})
        )  # none at all when the queue has no redrive policy
        try:
            return int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])
        except (KeyError, ValueError, TypeError):
            return None


# --- the event Lambda builds -------------------------------------------------------------------


def sqs_record(mapping: SqsMapping, message: Mapping[str, Any]) -> dict[str, Any]:
    """The record Lambda's SQS event holds for one received message."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: attributes[name] for name in _RECORD_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record |= {
        "eventSource": "aws:sqs",
        "eventSourceARN": mapping.queue_arn,
        "awsRegion": mapping.region,
    }
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    converted["stringListValues"] = list(value.get("StringListValues", []))
    converted["binaryListValues"] = [
        base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
    ]
    converted["dataType"] = value.get("DataType", "String")
    return converted


def failed_items(result: Any, ids: Sequence[str], reports: bool) -> tuple[list[str], str]:
    """(message ids to leave on the queue, why) for a function's answer, as Lambda reads it."""
    if not reports or result is None:
        return [], ""
    if not isinstance(result, Mapping):
        return list(ids), "the answer is not a batch response; the whole batch failed"
    failures = result.get("batchItemFailures")
    if not failures:
        return [], ""
    if not isinstance(failures, list):
        return list(ids), "batchItemFailures is not a list; the whole batch failed"
    left: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in ids:
            return list(ids), f"itemIdentifier {identifier!r} is not in the batch"
        left.append(str(identifier))
    return left, ""


def _attempt(record: Mapping[str, Any]) -> int:
    return int(record["attributes"].get("ApproximateReceiveCount", "1"))


def _subject(messages: Sequence[Mapping[str, Any]]) -> str:
    """What a batch is about: a work item's stack, revision and place, else the body."""
    subjects = []
    for message in messages:
        body = message.get("Body", "")
        try:
            item = json.loads(body)
        except ValueError:
            item = None
        if isinstance(item, dict) and "stack" in item:
            revision = str(item.get("revision", ""))[:12]
            where = f"{item.get('account') or 'home'}/{item.get('region', '?')}"
            subjects.append(f"{item['stack']}@{revision} in {where}")
        else:
            subjects.append(body[:60])
    return ", ".join(subjects)


def _invocation(
    mapping: SqsMapping,
    messages: Sequence[Mapping[str, Any]],
    status: str,
    reason: str,
    left: tuple[str, ...] = (),
    dead: tuple[dict[str, Any], ...] = (),
    result: Mapping[str, Any] | None = None,
) -> Invocation:
    attempts = [int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) for m in messages]
    return Invocation(
        queue=mapping.queue_name,
        handler=mapping.handler,
        region=mapping.region,
        message_ids=tuple(m["MessageId"] for m in messages),
        subject=_subject(messages),
        attempt=max(attempts, default=1),
        status=status,
        reason=reason,
        left=left,
        dead_lettered=dead,
        result=dict(result or {}),
    )
