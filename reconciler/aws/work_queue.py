"""The work queues: one SQS FIFO queue per region, in the reconciler's home region, named
`<WORK_QUEUE_PREFIX>-<region>.fifo` (bootstrap makes the home region's, `reconciler
bootstrap --regions` the others'). Each has its own event source mapping to the stack
worker, whose MaximumConcurrency is that region's cap. A region without its own queue
shares the home region's (and its cap).

SQS behaviour relied on: SendMessageBatch takes at most 10 entries and answers each
entry on its own (a batch can half succeed); a FIFO queue drops a message whose
MessageDeduplicationId it saw in the last five minutes, and hands out the messages of a
message group one at a time, in order.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

import botocore.exceptions

from reconciler.aws import session
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.fanout import NotQueued, WorkItem

log = logging.getLogger(__name__)

BATCH = 10  # SendMessageBatch's limit


class SqsWorkQueues:
    def __init__(self, prefix: str, home_region: str, client=None) -> None:
        self.prefix = prefix
        self.home_region = home_region
        self._client = client
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()
        self.description = f"SQS FIFO {prefix}-<region>.fifo in {home_region}"

    @property
    def client(self):
        if self._client is None:
            self._client = session.client("sqs", self.home_region)
        return self._client

    def queue_name(self, region: str) -> str:
        return f"{self.prefix}-{region}.fifo"

    @session.aws_errors()
    def url_for(self, region: str) -> str:
        """The region's queue, else the home region's (looked up once per process)."""
        with self._lock:
            if region in self._urls:
                return self._urls[region]
        try:
            url = self.client.get_queue_url(QueueName=self.queue_name(region))["QueueUrl"]
        except botocore.exceptions.ClientError as err:
            missing = session.error_code(err) in (
                "AWS.SimpleQueueService.NonExistentQueue",
                "QueueDoesNotExist",
            )
            if missing and region == self.home_region:
                raise PermanentAwsError(
                    f"no work queue {self.queue_name(region)} in {self.home_region}: deploy "
                    "infra/bootstrap.yml (reconciler bootstrap), or unset WORK_QUEUE_PREFIX",
                    session.error_code(err),
                ) from err
            if not missing:
                raise
            log.warning(
                "no work queue %s: stacks in %s share the home region's queue and its cap "
                "(reconciler bootstrap --regions %s makes one)",
                self.queue_name(region), region, region,
            )  # fmt: skip
            url = self.url_for(self.home_region)
        with self._lock:
            self._urls[region] = url
        return url

    def send(self, items: list[WorkItem]) -> None:
        """Every queue is given its items, whatever another queue answered: a queue that
        refuses (NotQueued, naming the items) fails only the stacks of its items. A
        transient failure is raised at once (the caller's retry puts them all again)."""
        refused: list[WorkItem] = []
        first: PermanentAwsError | None = None
        urls: dict[str, str | PermanentAwsError] = {}
        by_queue: dict[str, list[WorkItem]] = {}
        for item in items:
            region = item.region or self.home_region
            if region not in urls:
                try:
                    urls[region] = self.url_for(region)
                except PermanentAwsError as err:
                    urls[region] = err
            url = urls[region]
            if isinstance(url, PermanentAwsError):
                first = first or url
                refused.append(item)
                continue
            by_queue.setdefault(url, []).append(item)
        for url, queued in by_queue.items():
            for start in range(0, len(queued), BATCH):
                batch = queued[start : start + BATCH]
                try:
                    self._send_batch(url, batch)
                except NotQueued as err:
                    first = first or err
                    refused.extend(err.items)
                except PermanentAwsError as err:  # the whole call refused (AccessDenied)
                    first = first or err
                    refused.extend(batch)
        if first is not None:
            raise NotQueued(str(first), first.code, refused)

    @session.aws_errors()
    def _send_batch(self, url: str, items: list[WorkItem]) -> None:
        entries = {
            str(i): {
                "Id": str(i),
                "MessageBody": item.body(),
                "MessageGroupId": item.group_id,
                "MessageDeduplicationId": item.dedup_id,
            }
            for i, item in enumerate(items)
        }
        refused: list[tuple[WorkItem, dict]] = []  # entries SQS refused as the sender's fault
        for _ in range(3):  # entries that failed on SQS's side are sent again
            answer = self.client.send_message_batch(QueueUrl=url, Entries=list(entries.values()))
            failed = [f for f in answer.get("Failed") or [] if f.get("Id") in entries]
            refused += [(items[int(f["Id"])], f) for f in failed if f.get("SenderFault")]
            entries = {f["Id"]: entries[f["Id"]] for f in failed if not f.get("SenderFault")}
            if not entries:
                break
        else:
            raise AwsError(f"AWS SendMessageBatch: {len(entries)} work item(s) not put", "Failed")
        if refused:
            sender = refused[0][1]
            raise NotQueued(
                f"AWS SendMessageBatch refused a work item: {sender.get('Code')}: "
                f"{sender.get('Message', '')}",
                str(sender.get("Code", "")),
                [item for item, _ in refused],
            )


# A work item handed out again comes back after this, doubling per receive (SQS counts
# them), instead of after the queue's visibility timeout (six times the worker's).
RETRY_FIRST_SECONDS = 15
RETRY_MAX_SECONDS = 900


def retry_delay(receive_count: int) -> int:
    """Seconds until a work item received `receive_count` times is handed out again."""
    exponent = max(0, min(receive_count, 16) - 1)
    return min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**exponent)


def retry_later(source_arn: str, receipt_handle: str, receive_count: int) -> None:
    """Make a received work item visible again after `retry_delay`. Best effort: if SQS
    cannot be asked, the queue's visibility timeout brings the item back all the same."""
    parts = source_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs" or not receipt_handle:
        return
    region, account, name = parts[3], parts[4], parts[5]
    try:
        with session.aws_errors():
            sqs = session.client("sqs", region)
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.change_message_visibility(
                QueueUrl=url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=retry_delay(receive_count),
            )
    except AwsError as err:
        log.warning("work item left to the queue's visibility timeout: %s", err)


def work_queue_from_env(env: Mapping[str, str] = os.environ) -> SqsWorkQueues | None:
    """WORK_QUEUE_PREFIX set: fan-out through the work queues; unset: None (every stack
    changed in the pass itself, as the CLI does)."""
    prefix = env.get("WORK_QUEUE_PREFIX", "").strip()
    if not prefix:
        return None
    home = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or session.default_region()
    return SqsWorkQueues(prefix, home)
