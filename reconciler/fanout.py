"""Fan-out: a pass that finds stacks to change puts one work item per stack on a work
queue, and a stack worker applies each (docs/scale.md). AWS's engines do the rest: an
SQS FIFO queue orders the items of one stack (message group = the stack) and drops a
repeat of the same stack and commit (deduplication id); Lambda's event source mapping
runs at most MaximumConcurrency workers per queue, one queue per region.

Pure: the item and its wire form; reconciler/aws/work_queue.py sends them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from reconciler.accounts import ACCOUNT
from reconciler.errors import PermanentAwsError
from reconciler.identity import REGION, STACK_NAME

MAX_BODY = 1024  # far above any item; a bigger body is not ours


class WorkItemError(ValueError):
    """A message that is not a work item: said once, never retried."""


@dataclass(frozen=True)
class WorkItem:
    stack: str
    revision: str
    account: str = ""  # "" for the reconciler's own account
    region: str = ""

    @property
    def group_id(self) -> str:
        """SQS MessageGroupId: the items of one stack are handed out one at a time, in
        order (the stack's name is unique in the desired state, DS005)."""
        return self.stack

    @property
    def dedup_id(self) -> str:
        """SQS MessageDeduplicationId: the same stack at the same commit is put once (a
        push delivered twice, a pass run again within SQS's five minutes)."""
        return hashlib.sha256(f"{self.stack}@{self.revision}".encode()).hexdigest()

    def body(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, body: Any) -> WorkItem:
        """A message body back into an item; WorkItemError naming what is wrong."""
        if not isinstance(body, str) or len(body.encode()) > MAX_BODY:
            raise WorkItemError("a work item is a JSON object of at most 1 KiB")
        try:
            data = json.loads(body)
        except ValueError as err:
            raise WorkItemError(f"a work item is JSON: {err}") from None
        if not isinstance(data, dict) or set(data) != {"stack", "revision", "account", "region"}:
            raise WorkItemError("a work item has exactly: stack, revision, account, region")
        if not all(isinstance(v, str) for v in data.values()):
            raise WorkItemError("a work item's values are strings")
        if not STACK_NAME.fullmatch(data["stack"]):
            raise WorkItemError(f"{data['stack'][:140]!r} is not a stack name")
        if not data["revision"] or len(data["revision"]) > 64 or not data["revision"].isalnum():
            raise WorkItemError(f"{data['revision'][:70]!r} is not a commit")
        if not REGION.fullmatch(data["region"]):
            raise WorkItemError(f"{data['region'][:30]!r} is not a region")
        if data["account"] and not ACCOUNT.fullmatch(data["account"]):
            raise WorkItemError(f"{data['account'][:20]!r} is not an account id")
        return cls(**data)


class NotQueued(PermanentAwsError):
    """AWS refused some work items for good (a queue missing, or denied): `items` were
    not put, every other item was. Only the stacks of `items` fail: the others' items
    are on their queues, and their workers apply them."""

    def __init__(self, message: str, code: str, items: Iterable[WorkItem]) -> None:
        super().__init__(message, code)
        self.items = tuple(items)


class WorkQueue(Protocol):
    """Where work items go (SQS FIFO queues in production)."""

    description: str

    def send(self, items: list[WorkItem]) -> None:
        """Put every item, or raise: NotQueued naming the items AWS refused (the others
        put), or a transient AwsError (the caller's retry puts them all again, and the
        queue drops those it already has). A pass records a stack queued only once its
        item is on the queue."""
        ...


class Collected:
    """Items kept in memory (tests, and the CLI never fans out)."""

    description = "in memory"

    def __init__(self) -> None:
        self.items: list[WorkItem] = []

    def send(self, items: list[WorkItem]) -> None:
        self.items.extend(items)
