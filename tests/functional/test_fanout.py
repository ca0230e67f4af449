"""Fan-out on moto (issue 18): a push's pass puts one work item per stack to change on
the SQS FIFO work queue of the stack's region, and the stack worker applies one stack
per item. The queues are real (moto's SQS, FIFO, made by each test); Lambda's event
source mapping is played by `Queue.deliver` (BatchSize 1, ReportBatchItemFailures).
The guarantees of a pass hold with items delivered twice, out of time, to a killed
worker, or to a throttled region."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import replace
from pathlib import Path

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse

from handlers import runtime, stack_worker
from localaws import extensions
from localaws.lambda_context import LambdaContext
from reconciler.audit import Kept
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.dynamodb import DEFAULT_TABLE, DynamoStatusStore
from reconciler.deadline import Deadline
from reconciler.fanout import WorkItem
from reconciler.notify import Collected, Kind
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from reconciler.triggers import on_stack_status, on_work_item, reconcile_head
from tests.functional.handler_repo import handler_repo
from tests.repo import STACK, commit

extensions.install_all()
EVENTS = Path(__file__).parent.parent / "events"
PREFIX = "gitops-reconciler-work"
HOME = "us-east-1"
OTHER = "eu-west-1"  # a region with its own work queue
NO_QUEUE = "ap-southeast-2"  # a region without one: its items go to the home queue


def stack_file(name: str, region: str = HOME, extra: str = "") -> str:
    """A stack file of tests/repo.py's template, named `name` (its SSM parameters too)."""
    text = STACK.replace("app-dev", name).replace(
        "EnvironmentSuffix: dev", f"EnvironmentSuffix: {name}"
    )
    return text.replace(f"region: {HOME}", f"region: {region}") + extra


def files(*stacks: tuple[str, str] | tuple[str, str, str]) -> dict[str, str]:
    return {f"desired-state/{s[0]}.yml": stack_file(*s) for s in stacks}


# --- Lambda's side: the queues and their event source mappings --------------------------


class Queue:
    """One region's work queue (made in the home region, as bootstrap makes them) and
    Lambda's event source mapping on it, as far as these tests need it: one message per
    invocation; a message the worker reports failed is visible again at once (as once
    its visibility timeout has passed), a message it handled is deleted."""

    def __init__(self, region: str) -> None:
        self.sqs = boto3.client("sqs", region_name=HOME)
        self.name = f"{PREFIX}-{region}.fifo"
        attributes = {"FifoQueue": "true", "VisibilityTimeout": "1440"}
        self.url = self.sqs.create_queue(QueueName=self.name, Attributes=attributes)["QueueUrl"]

    def count(self) -> int:
        """Messages on the queue, in flight or not."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return sum(int(v) for v in found["Attributes"].values())

    def peek(self) -> list[dict]:
        """Every message (one per message group can be in flight), made visible again."""
        found = []
        while answer := self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages"):
            found += answer
        for message in found:
            self.back(message["ReceiptHandle"])
        return found

    def items(self) -> list[WorkItem]:
        return sorted((WorkItem.parse(m["Body"]) for m in self.peek()), key=lambda i: i.stack)

    def back(self, receipt: str) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=0
        )

    def receive(self) -> dict | None:
        """The next message as the record Lambda hands the worker (tests/events)."""
        answer = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=1, AttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        return sqs_record(messages[0], self.name) if messages else None

    def invoke(self, record: dict, context: LambdaContext | None = None) -> list[str]:
        """The worker invoked with `record`; the message ids it reported failed."""
        answer = stack_worker.handler({"Records": [record]}, context or LambdaContext())
        return [f["itemIdentifier"] for f in answer["batchItemFailures"]]

    def settle(self, record: dict, failed: list[str]) -> None:
        if record["messageId"] in failed:
            self.back(record["receiptHandle"])
        else:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])

    def deliver(self, context: LambdaContext | None = None) -> tuple[WorkItem, bool] | None:
        """One message handed to the worker: (its item, whether it is to be retried)."""
        record = self.receive()
        if record is None:
            return None
        failed = self.invoke(record, context)
        self.settle(record, failed)
        return WorkItem.parse(record["body"]), record["messageId"] in failed

    def drain(self) -> list[tuple[WorkItem, bool]]:
        """Every message delivered until the queue is empty (a few rounds at most)."""
        done = []
        for _ in range(20):
            delivered = self.deliver()
            if delivered is None:
                return done
            done.append(delivered)
        raise AssertionError(f"{self.name} never emptied: {done}")


def record_for(item: WorkItem, region: str = HOME) -> dict:
    """The record Lambda would hand the worker for `item`, made without a queue."""
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "not-received",
        "Body": item.body(),
        "MD5OfBody": hashlib.md5(item.body().encode()).hexdigest(),  # SQS's own digest
        "Attributes": {"MessageGroupId": item.group_id, "MessageDeduplicationId": item.dedup_id},
    }
    return sqs_record(message, f"{PREFIX}-{region}.fifo")


def sqs_record(message: dict, queue_name: str) -> dict:
    record = json.loads((EVENTS / "sqs_work_item.json").read_text())["Records"][0]
    kept = {k: v for k, v in message["Attributes"].items() if k in record["attributes"]}
    return record | {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "md5OfBody": message["MD5OfBody"],
        "attributes": record["attributes"] | kept,
        "eventSourceARN": f"arn:aws:sqs:{HOME}:123456789012:{queue_name}",
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    """(operation, stack name) of every AWS call the reconciler makes."""
    made: list[tuple[str, str]] = []

    def seen(model, params, **_):
        body = params.get("body") if isinstance(params, dict) else None
        made.append((model.name, body.get("StackName", "") if isinstance(body, dict) else ""))

    session.on_every_call(seen)
    return made


def count(calls: list[tuple[str, str]], operation: str, stack: str | None = None) -> int:
    return sum(1 for op, name in calls if op == operation and stack in (None, name))


@pytest.fixture
def repo(tmp_path, monkeypatch, aws):
    """An empty desired-state repository (templates/app.yml only) on branch main."""
    return handler_repo(tmp_path / "desired", monkeypatch, WORK_QUEUE_PREFIX=PREFIX)


@pytest.fixture
def queues(aws) -> dict[str, Queue]:
    return {HOME: Queue(HOME), OTHER: Queue(OTHER)}


@pytest.fixture
def services(repo, calls, queues):
    """The services every handler of this process uses (handlers.runtime): the push's
    pass and the stack worker share them, as their Lambdas share one configuration."""
    built = runtime.services()
    built.notifier = Collected()
    built.audit = Kept()
    built.change_set_wait_seconds = 0
    return built


def push(repo: Path, services) -> dict[str, str]:
    """The push's pass at the branch head: each stack's outcome."""
    outcome = reconcile_head(GitSource(str(repo)), services, "push")
    assert outcome.status == "reconciled", outcome
    return {s["stack_name"]: s["outcome"] for s in outcome.stacks}


def completed(repo: Path, services, name: str, region: str = HOME) -> dict[str, str]:
    """The stack's operation-ended event handled (moto ends every operation at once),
    with the stack id and client request token AWS's event carries (the token the
    reconciler gave the execution: moto's stack events do not keep it); the outcome of
    each stack a pass it started acted on."""
    live = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=name)
    stack = live["Stacks"][0]
    record = services.status.get(name)
    outcome = on_stack_status(
        name, region, stack["StackStatus"], GitSource(str(repo)), services, "event",
        stack_id=stack["StackId"], token=record.operation_token if record else None,
    )  # fmt: skip
    return {s["stack_name"]: s["outcome"] for s in outcome.stacks}


def dedup(stack: str, revision: str) -> str:
    return hashlib.sha256(f"{stack}@{revision}".encode()).hexdigest()


def notified(services, kind: Kind | None = None) -> list:
    return [n for n in services.notifier.sent if kind is None or n.kind is kind]


def executed(services, name: str) -> int:
    return services.audit.events(name).count("executed")


# --- the push's pass puts work items ------------------------------------------------------


def test_a_push_puts_one_item_per_changed_stack_on_its_regions_queue_and_changes_nothing(
    repo, services, queues, calls
):
    """GIVEN a deployed stack left alone and two new stacks, one in a region with its own
    work queue and one in a region without WHEN the push's pass runs THEN each new stack
    has one item (group = stack, deduplication = sha256(stack@commit)) on its region's
    queue, the other on the home queue; the unchanged stack has none; no change set."""
    commit(repo, files(("app-kept", HOME)))
    push(repo, services)
    queues[HOME].drain()
    completed(repo, services, "app-kept")
    revision = commit(repo, files(("app-eu", OTHER), ("app-ap", NO_QUEUE)))
    calls.clear()

    outcomes = push(repo, services)

    assert outcomes == {"app-kept": "unchanged", "app-eu": "queued", "app-ap": "queued"}
    assert not {"CreateChangeSet", "ExecuteChangeSet"} & {op for op, _ in calls}
    (eu,) = queues[OTHER].peek()
    (ap,) = queues[HOME].peek()
    assert json.loads(eu["Body"]) == {
        "stack": "app-eu", "revision": revision, "account": "", "region": OTHER,
    }  # fmt: skip
    assert WorkItem.parse(ap["Body"]) == WorkItem("app-ap", revision, "", NO_QUEUE)
    for message, stack in ((eu, "app-eu"), (ap, "app-ap")):
        assert message["Attributes"]["MessageGroupId"] == stack
        assert message["Attributes"]["MessageDeduplicationId"] == dedup(stack, revision)


def test_a_pass_records_nothing_for_a_queued_stack(repo, services, queues):
    """GIVEN a new stack WHEN the push's pass queues it THEN its status is the worker's
    to write: the pass wrote none (a worker may already be recording it)."""
    commit(repo, files(("app-new", HOME)))
    push(repo, services)
    assert services.status.get("app-new") is None


def test_the_same_pass_run_twice_puts_one_message_per_stack(repo, services, queues):
    """GIVEN a push's pass queued two stacks WHEN the same push is handled again (a
    retried event, within SQS's five-minute deduplication window) THEN the queues still
    hold one message per stack."""
    commit(repo, files(("app-one", HOME), ("app-two", OTHER)))
    assert push(repo, services) == {"app-one": "queued", "app-two": "queued"}
    assert push(repo, services) == {"app-one": "queued", "app-two": "queued"}
    assert (queues[HOME].count(), queues[OTHER].count()) == (1, 1)


# --- the stack worker applies them --------------------------------------------------------


def test_the_workers_run_each_stacks_change_set_once_and_stack_events_complete_them(
    repo, services, queues, calls
):
    """GIVEN a push queued two stacks in two regions WHEN each queue's mapping hands its
    item to the stack worker THEN each stack's change set is executed once and the
    messages are deleted; WHEN the stacks' events arrive THEN both are Synced at the
    commit, their outputs published."""
    revision = commit(repo, files(("app-one", HOME), ("app-two", OTHER)))
    push(repo, services)

    assert queues[HOME].drain() == [(WorkItem("app-one", revision, "", HOME), False)]
    assert queues[OTHER].drain() == [(WorkItem("app-two", revision, "", OTHER), False)]
    assert (
        count(calls, "ExecuteChangeSet", "app-one"),
        count(calls, "ExecuteChangeSet", "app-two"),
    ) == (1, 1)
    assert services.status.get("app-one").phase is Phase.APPLYING

    completed(repo, services, "app-one")
    completed(repo, services, "app-two", OTHER)
    for name, region in (("app-one", HOME), ("app-two", OTHER)):
        status = services.status.get(name)
        assert (status.sync, status.phase, status.applied_revision) == (
            Sync.SYNCED, Phase.IDLE, revision,
        )  # fmt: skip
        ssm = boto3.client("ssm", region_name=region)
        assert ssm.get_parameter(Name=f"/{name}/LogGroup")["Parameter"]["Value"] == (
            f"/test/{name}/logs"
        )
    assert (queues[HOME].count(), queues[OTHER].count()) == (0, 0)
    assert sorted(n.stack_name for n in notified(services, Kind.SUCCEEDED)) == [
        "app-one", "app-two",
    ]  # fmt: skip


def test_a_worker_applies_only_its_own_stack(repo, services, queues, calls):
    """GIVEN a push queued two stacks WHEN the worker handles one item THEN only that
    stack is changed; the other waits for its own item."""
    commit(repo, files(("app-one", HOME), ("app-two", OTHER)))
    push(repo, services)
    queues[HOME].deliver()
    assert count(calls, "CreateChangeSet", "app-one") == 1
    assert count(calls, "CreateChangeSet", "app-two") == 0
    assert services.status.get("app-two") is None


# --- depends-on ---------------------------------------------------------------------------


CHAIN = {
    **files(("app-a", HOME)),
    **files(("app-b", HOME, "depends-on: [app-a]\n")),
    **files(("app-c", HOME, "depends-on: [app-b]\n")),
    **files(("app-d", HOME)),
}


def test_the_first_pass_queues_the_stacks_without_dependencies_and_records_the_rest_waiting(
    repo, services, queues
):
    """GIVEN app-a <- app-b <- app-c and an independent app-d in one commit WHEN the
    push's pass runs THEN app-a and app-d are queued; app-b and app-c are WAITING, each
    recording what it waits for."""
    revision = commit(repo, CHAIN)
    outcomes = push(repo, services)
    assert outcomes == {
        "app-a": "queued",
        "app-b": "waiting",
        "app-c": "waiting",
        "app-d": "queued",
    }
    assert queues[HOME].items() == [
        WorkItem("app-a", revision, "", HOME),
        WorkItem("app-d", revision, "", HOME),
    ]
    b, c = services.status.get("app-b"), services.status.get("app-c")
    assert (b.phase, b.waits_for) == (Phase.WAITING, "app-a")
    assert (c.phase, c.waits_for) == (Phase.WAITING, "app-b")


def test_each_dependency_that_completes_releases_only_its_dependents_and_all_apply_in_order(
    repo, services, queues, calls
):
    """GIVEN the chain queued WHEN the items are handled and each stack's event arrives
    THEN app-d's end releases nothing, app-a's end queues app-b only, app-b's end queues
    app-c; every stack is applied once, app-a before app-b before app-c."""
    revision = commit(repo, CHAIN)
    push(repo, services)
    queues[HOME].drain()

    completed(repo, services, "app-d")
    assert queues[HOME].items() == []
    completed(repo, services, "app-a")
    assert queues[HOME].items() == [WorkItem("app-b", revision, "", HOME)]
    assert services.status.get("app-c").phase is Phase.WAITING
    queues[HOME].drain()
    completed(repo, services, "app-b")
    assert queues[HOME].items() == [WorkItem("app-c", revision, "", HOME)]
    queues[HOME].drain()
    assert notified(services, Kind.BLOCKED) == []  # the commit is valid: nothing blocked
    assert services.status.get("app-c").phase is Phase.APPLYING
    completed(repo, services, "app-c")

    order = [name for op, name in calls if op == "ExecuteChangeSet"]
    assert sorted(order) == ["app-a", "app-b", "app-c", "app-d"]
    assert order.index("app-a") < order.index("app-b") < order.index("app-c")
    for name in ("app-a", "app-b", "app-c", "app-d"):
        status = services.status.get(name)
        assert (name, status.sync, status.applied_revision) == (name, Sync.SYNCED, revision)


def test_a_dependents_item_handled_before_its_dependency_is_done_is_handed_back(
    repo, services, queues, calls
):
    """GIVEN app-b's item handed to a worker before app-a's change ran (an item for app-b
    delivered early, by a pass or by hand) WHEN the worker handles it THEN app-b is not
    changed, recorded WAITING for app-a, and the item is reported failed (handed out
    again later), not dropped."""
    revision = commit(repo, CHAIN)
    push(repo, services)
    record = record_for(WorkItem("app-b", revision, "", HOME))
    assert queues[HOME].invoke(record) == [record["messageId"]]
    assert count(calls, "CreateChangeSet", "app-b") == 0
    status = services.status.get("app-b")
    assert (status.phase, status.waits_for) == (Phase.WAITING, "app-a")


def test_an_item_whose_commit_is_no_longer_the_head_is_superseded_and_runs_nothing(
    repo, services, queues, calls
):
    """GIVEN a stack queued at one commit WHEN a newer commit lands before the item is
    handled THEN the item is superseded: no change set, the message dropped; the newer
    commit's own item applies the stack."""
    old = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    new = commit(repo, files(("app-one", HOME, "outputs-path: /moved\n")))
    item = WorkItem("app-one", old, "", HOME)

    outcome = on_work_item(item, GitSource(str(repo)), services, "worker")
    assert outcome.status == "superseded"
    assert outcome.revision == new
    assert queues[HOME].deliver() == (item, False)
    assert not {"CreateChangeSet", "ExecuteChangeSet"} & {op for op, _ in calls}

    push(repo, services)
    assert queues[HOME].drain() == [(WorkItem("app-one", new, "", HOME), False)]
    assert count(calls, "ExecuteChangeSet", "app-one") == 1


# --- a duplicate item ---------------------------------------------------------------------


class Busy(CloudFormation):
    """The real adapter, except that a stack the test names is seen mid-operation (moto
    ends every operation inside the API call; AWS takes a while)."""

    def __init__(self) -> None:
        super().__init__()
        self.busy: set[str] = set()

    def _seen(self, stack):
        if stack is not None and stack.name in self.busy:
            return replace(stack, status=stack.status.replace("COMPLETE", "IN_PROGRESS"))
        return stack

    def list_stacks(self, regions):
        return {k: self._seen(v) for k, v in super().list_stacks(regions).items()}

    def describe_stack(self, name, region):
        return self._seen(super().describe_stack(name, region))

    def execute_change_set(self, change_set, token):
        super().execute_change_set(change_set, token)
        self.busy.add(change_set.stack_name)


def test_an_item_delivered_twice_runs_one_change_set_and_says_everything_once(
    repo, services, queues, calls
):
    """GIVEN a stack's item handled by the worker WHEN SQS delivers the same message
    again (at-least-once) THEN no second change set and nothing said twice; once the
    stack completes, its success is notified once and recorded once."""
    commit(repo, files(("app-one", HOME)))
    push(repo, services)
    record = queues[HOME].receive()
    assert queues[HOME].invoke(record) == []
    assert queues[HOME].invoke(record) == []  # the same record, the same or another worker
    queues[HOME].settle(record, [])

    completed(repo, services, "app-one")
    assert count(calls, "ExecuteChangeSet", "app-one") == 1
    assert executed(services, "app-one") == 1
    assert [n.kind for n in notified(services)] == [Kind.SUCCEEDED]


def test_an_item_sent_again_after_the_deduplication_window_runs_no_second_change_set(
    repo, services, queues, calls
):
    """GIVEN a stack's item handled WHEN the same item is put again with another
    deduplication id (a pass repeated after SQS's five minutes) and delivered while the
    stack's operation runs THEN, whenever SQS hands it out, no second change set is made;
    the operation's end is recorded and its success notified once."""
    services.cfn = Busy()
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    assert queues[HOME].drain() == [(WorkItem("app-one", revision, "", HOME), False)]
    item = WorkItem("app-one", revision, "", HOME)
    queues[HOME].sqs.send_message(
        QueueUrl=queues[HOME].url, MessageBody=item.body(),
        MessageGroupId=item.group_id, MessageDeduplicationId=item.dedup_id + "-later",
    )  # fmt: skip
    assert queues[HOME].deliver()[0] == item  # while the stack is mid-operation

    services.cfn.busy.clear()  # the operation ends; its event arrives
    completed(repo, services, "app-one")
    queues[HOME].drain()  # the item again, if it was handed back

    assert count(calls, "ExecuteChangeSet", "app-one") == 1
    assert executed(services, "app-one") == 1
    status = services.status.get("app-one")
    assert (status.sync, status.phase, status.applied_revision) == (
        Sync.SYNCED, Phase.IDLE, revision,
    )  # fmt: skip
    assert [n.kind for n in notified(services)] == [Kind.SUCCEEDED]


# --- a worker killed mid-stack ------------------------------------------------------------


class Killed(BaseException):
    """The worker's process ends (Lambda's timeout, out of memory): no except clause of
    the reconciler's catches it."""


class DiesBeforeExecuting(CloudFormation):
    """The real adapter; the first execution is never sent: the process dies first."""

    def __init__(self) -> None:
        super().__init__()
        self.deaths = 1

    def execute_change_set(self, change_set, token):
        if self.deaths:
            self.deaths -= 1
            raise Killed
        super().execute_change_set(change_set, token)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class DeadHolder(DynamoStatusStore):
    """The real status store, on a clock the test moves; while `dead`, releasing a lease
    does nothing (a killed process releases nothing: its lease stays until it expires)."""

    dead = False

    def release(self, stack_name: str, owner: str) -> bool:
        return False if self.dead else super().release(stack_name, owner)


def test_an_item_whose_worker_was_killed_mid_stack_is_applied_once_after_the_lease_expires(
    repo, services, queues, calls
):
    """GIVEN the worker dies after making the stack's change set and before executing it
    (its lease left held, its message in flight) WHEN SQS hands the message out again
    THEN while the dead worker's lease lasts the item is handed back, nothing run; once
    the lease (the dead invocation's remaining time + margin) has expired, the change
    set made before is executed, once, and the stack completes."""
    clock = Clock()
    services.status = DeadHolder(DEFAULT_TABLE, HOME, clock=clock)
    services.cfn = DiesBeforeExecuting()
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)

    record = queues[HOME].receive()
    services.status.dead = True
    with pytest.raises(Killed):
        queues[HOME].invoke(record, LambdaContext(timeout_seconds=120))
    services.status.dead = False
    assert count(calls, "CreateChangeSet", "app-one") == 1
    queues[HOME].back(record["receiptHandle"])  # its visibility timeout passes

    assert queues[HOME].deliver() == (WorkItem("app-one", revision, "", HOME), True)
    assert count(calls, "ExecuteChangeSet") == 0

    clock.now += 120 + 30 + 1  # the dead invocation's end, and the lease's margin
    assert queues[HOME].deliver() == (WorkItem("app-one", revision, "", HOME), False)
    assert count(calls, "ExecuteChangeSet", "app-one") == 1
    completed(repo, services, "app-one")
    status = services.status.get("app-one")
    assert (status.sync, status.applied_revision) == (Sync.SYNCED, revision)
    assert queues[HOME].count() == 0


# --- a throttled region -------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


class Throttled:
    """CloudFormation of one region answering Throttling to every request while `on`,
    at botocore's before-send: its retry handler sees each answer and retries."""

    def __init__(self, region: str) -> None:
        self.on = False
        self.answered = 0
        client = session.client("cloudformation", region)
        client.meta.events.register("before-send.cloudformation", self.answer)

    def answer(self, request, **_):
        if not self.on:
            return None
        self.answered += 1
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            "<Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        return AWSResponse(request.url, 400, {}, _Raw(xml.encode()))


@pytest.fixture
def no_sleeping(monkeypatch):
    """botocore's backoffs are not slept."""
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _: None)


def test_a_throttled_regions_item_is_handed_back_while_other_regions_go_on(
    repo, services, queues, calls, no_sleeping
):
    """GIVEN items in two regions WHEN CloudFormation in one answers Throttling past
    botocore's retries THEN that item is reported failed (SQS hands it out again) and
    nothing is recorded Failed or notified, while the other region's item is executed;
    WHEN the throttling stops THEN the item handed back is executed, once."""
    revision = commit(repo, files(("app-home", HOME), ("app-eu", OTHER)))
    push(repo, services)
    throttled = Throttled(OTHER)
    throttled.on = True

    assert queues[OTHER].deliver() == (WorkItem("app-eu", revision, "", OTHER), True)
    assert throttled.answered >= 2  # botocore retried before giving up
    assert queues[HOME].deliver() == (WorkItem("app-home", revision, "", HOME), False)
    assert count(calls, "ExecuteChangeSet", "app-home") == 1
    assert services.status.get("app-eu") is None
    assert notified(services) == []

    throttled.on = False
    assert queues[OTHER].deliver() == (WorkItem("app-eu", revision, "", OTHER), False)
    assert count(calls, "ExecuteChangeSet", "app-eu") == 1
    assert services.status.get("app-eu").phase is Phase.APPLYING


def test_after_a_failed_item_the_rest_of_the_batch_is_handed_back_in_order(
    repo, services, queues, calls, no_sleeping
):
    """GIVEN a batch of two records, the first for a throttled region WHEN the worker
    handles it THEN both are reported failed (FIFO: AWS asks that the items after a
    failed one be handed back too) and the second is not started."""
    revision = commit(repo, files(("app-eu", OTHER), ("app-home", HOME)))
    push(repo, services)
    Throttled(OTHER).on = True
    first = record_for(WorkItem("app-eu", revision, "", OTHER), OTHER)
    second = record_for(WorkItem("app-home", revision, "", HOME))

    answer = stack_worker.handler({"Records": [first, second]}, LambdaContext())

    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": first["messageId"]}, {"itemIdentifier": second["messageId"]},
        ]
    }  # fmt: skip
    assert count(calls, "CreateChangeSet") == 0


# --- time --------------------------------------------------------------------------------


def test_a_worker_without_the_time_to_finish_a_stack_hands_the_item_back(
    repo, services, queues, calls
):
    """GIVEN an invocation with less time left than a stack step takes WHEN the worker
    receives an item THEN it starts nothing and reports the item failed, so SQS hands it
    out again (to an invocation with its full time), rather than dropping it."""
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    record = queues[HOME].receive()
    assert queues[HOME].invoke(record, LambdaContext(timeout_seconds=5)) == [record["messageId"]]
    assert count(calls, "CreateChangeSet") == 0
    queues[HOME].back(record["receiptHandle"])
    assert queues[HOME].deliver() == (WorkItem("app-one", revision, "", HOME), False)
    assert count(calls, "ExecuteChangeSet", "app-one") == 1


def test_a_push_with_a_work_queue_does_not_hand_on_for_lack_of_time(repo, services, queues):
    """GIVEN a push's invocation near its end WHEN its pass fans out THEN every stack is
    still queued: putting items takes no stack step's time."""
    commit(repo, files(("app-one", HOME), ("app-two", OTHER)))
    outcome = reconcile_head(GitSource(str(repo)), services, "push", deadline=Deadline(lambda: 5.0))
    assert {s["stack_name"]: s["outcome"] for s in outcome.stacks} == {
        "app-one": "queued", "app-two": "queued",
    }  # fmt: skip
