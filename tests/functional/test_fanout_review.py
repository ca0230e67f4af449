"""The fan-out as a hostile reviewer tries it (issue 18): a queue that refuses part of a
pass's items, the CLI and a pass racing a stack worker, a dependency that fails or lives
in another region or account, items out of order, hostile records, a refusal against a
retry, and what a stack's end costs. On moto, with the queues, repositories and events
of tests/functional/test_fanout.py (AWS's own SQS samples: tests/unit/
test_stack_worker_events.py)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import boto3
import pytest

from handlers import stack_status, stack_worker
from localaws.lambda_context import LambdaContext
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.work_queue import work_queue_from_env
from reconciler.desired import load_desired_state
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.fanout import NotQueued, WorkItem
from reconciler.notify import Kind
from reconciler.reconcile import About, apply
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from tests.functional.test_fanout import (
    CHAIN,
    EVENTS,
    HOME,
    OTHER,
    Busy,
    calls,
    commit,
    completed,
    count,
    files,
    notified,
    push,
    queues,
    record_for,
    repo,
    services,
)

__all__ = ["calls", "queues", "repo", "services"]  # fixtures, imported for pytest


class _Answer:
    """The HTTP side of an answer a before-call hook gives botocore."""

    def __init__(self, status_code: int) -> None:
        self.status_code, self.headers, self.content = status_code, {}, b""


def greeted(name: str, region: str = HOME) -> dict[str, str]:
    """The stack file of `name` with another Greeting: an update of the deployed stack."""
    ((path, text),) = files((name, region)).items()
    return {path: text.replace("parameters:\n", "parameters:\n  Greeting: hi\n")}


class RefusedSends(list):
    """SQS in the home region (the client the work queues use) answers every
    SendMessageBatch to one queue with an error while `on`; the other queues take
    theirs. The list: the queue URLs refused."""

    def __init__(self, queue_name: str, code: str, status: int, message: str) -> None:
        super().__init__()
        self.on = True
        self.queue_name, self.error = queue_name, {"Code": code, "Message": message}
        self.status = status
        session.client("sqs", HOME).meta.events.register(
            "before-call.sqs.SendMessageBatch", self.answer
        )

    def answer(self, params, **_):
        body = params.get("body")
        url = json.loads(body).get("QueueUrl", "") if isinstance(body, (str, bytes)) else ""
        if not (self.on and url.endswith(self.queue_name)):
            return None
        self.append(url)
        meta = {"HTTPStatusCode": self.status}
        return _Answer(self.status), {"Error": self.error, "ResponseMetadata": meta}


def refuse_sends_to(queue_name: str) -> RefusedSends:
    """The queue refuses every SendMessageBatch as AWS does without sqs:SendMessage."""
    message = f"User is not authorized to perform: sqs:sendmessage on resource: {queue_name}"
    return RefusedSends(queue_name, "AccessDenied", 403, message)


# --- a queue that refuses part of a pass's items ----------------------------------------------


def test_a_queue_refusing_one_regions_items_fails_only_that_regions_stacks(
    repo, services, queues, calls
):
    """GIVEN a commit changing a home-region stack and a stack of another region whose
    queue refuses SendMessageBatch (AccessDenied) WHEN the push's pass fans out THEN only
    the refused stack is recorded Failed and notified; the home stack's item, put on its
    queue, is not recorded failed, and its worker applies it."""
    revision = commit(repo, files(("app-a-home", HOME), ("app-b-eu", OTHER)))
    refused = refuse_sends_to(queues[OTHER].name)

    outcomes = push(repo, services)

    assert refused
    assert outcomes["app-b-eu"] == "failed"
    assert outcomes["app-a-home"] == "queued"
    assert services.status.get("app-a-home") is None
    assert [(n.kind, n.stack_name) for n in notified(services)] == [(Kind.FAILED, "app-b-eu")]
    assert queues[HOME].drain() == [(WorkItem("app-a-home", revision, "", HOME), False)]
    assert count(calls, "ExecuteChangeSet", "app-a-home") == 1


def test_the_work_queues_put_every_item_another_queue_does_not_refuse_and_name_the_rest(
    repo, queues
):
    """GIVEN the other region's queue refusing SendMessageBatch (AccessDenied) and more
    than a batch of items WHEN the pass's items are sent THEN every home item is on the
    home queue, and the refusal names exactly the other region's items (not put)."""
    home = [WorkItem(f"app-{n:02}", "a" * 40, "", HOME) for n in range(12)]
    eu = [WorkItem("app-eu", "a" * 40, "", OTHER)]
    refuse_sends_to(queues[OTHER].name)

    with pytest.raises(NotQueued) as refused:
        work_queue_from_env().send([*eu, *home])

    assert refused.value.items == tuple(eu)
    assert "AccessDenied" in str(refused.value)
    assert queues[HOME].items() == home
    assert queues[OTHER].count() == 0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("ThrottlingException", 400, id="throttling"),
        pytest.param("RequestThrottled", 403, id="request-throttled"),
        pytest.param("InternalError", 500, id="internal-error"),
    ],
)
def test_a_queue_that_cannot_take_the_items_now_fails_the_push_for_its_retry_saying_nothing(
    repo, services, queues, code, status
):
    """GIVEN SQS answering SendMessageBatch with a transient error past botocore's
    retries WHEN the push's pass fans out THEN the error is raised (Lambda retries the
    push), nothing is recorded or notified; WHEN the push is retried after THEN the item
    is put once."""
    revision = commit(repo, files(("app-one", HOME)))
    refused = RefusedSends(queues[HOME].name, code, status, "Rate exceeded")

    with pytest.raises(AwsError) as raised:
        push(repo, services)

    assert refused and not isinstance(raised.value, PermanentAwsError)
    assert services.status.get("app-one") is None
    assert notified(services) == []
    refused.on = False
    assert push(repo, services) == {"app-one": "queued"}
    assert queues[HOME].items() == [WorkItem("app-one", revision, "", HOME)]


# --- the CLI racing a stack worker ------------------------------------------------------------


class CliMidChangeSet(Busy):
    """The real adapter (stacks seen in progress once executed, as on AWS); while the
    worker makes its change set, `reconciler apply` runs once in another process: the
    worker holds the stack's lease, so the CLI defers its work to the holder."""

    def __init__(self, cli) -> None:
        super().__init__()
        self.cli = cli
        self.said: list[dict[str, str]] = []

    def create_change_set(self, **kwargs):
        made = super().create_change_set(**kwargs)
        if self.cli is not None:
            cli, self.cli = self.cli, None
            self.said.append({s.stack_name: s.outcome for s in cli().stacks})
        return made


def test_a_worker_whose_stack_a_cli_deferred_to_it_reports_its_item_done_not_again(
    repo, services, queues, calls
):
    """GIVEN a deployed stack changed by a commit WHEN `reconciler apply` runs while the
    stack worker, holding the lease, makes the stack's change set THEN the CLI defers to
    it; the worker executes the change set once and reports its item done (it is not
    handed out again because its re-run found the stack in progress); the stack's end is
    recorded and its success notified once."""
    commit(repo, files(("app-one", HOME)))
    push(repo, services)
    queues[HOME].drain()
    completed(repo, services, "app-one")
    revision = commit(repo, greeted("app-one"))
    assert push(repo, services) == {"app-one": "queued"}

    def cli():
        state = load_desired_state(repo)
        mine = replace(services, queue=None, cfn=CloudFormation())  # its own process
        return apply(state, revision, mine, "cli:host:1", about=About(GitSource(str(repo))))

    services.cfn = CliMidChangeSet(cli)
    services.notifier.sent.clear()

    assert queues[HOME].drain() == [(WorkItem("app-one", revision, "", HOME), False)]
    assert services.cfn.said == [{"app-one": "deferred"}]
    assert count(calls, "ExecuteChangeSet", "app-one") == 2  # the first commit's, this one's
    services.cfn.busy.clear()
    completed(repo, services, "app-one")
    status = services.status.get("app-one")
    assert (status.sync, status.phase, status.applied_revision) == (
        Sync.SYNCED, Phase.IDLE, revision,
    )  # fmt: skip
    assert [n.kind for n in notified(services)] == [Kind.SUCCEEDED]


# --- what a stack's end costs ------------------------------------------------------------------


class Pending(CloudFormation):
    """The real adapter, except that the change sets of the stacks named stay being
    computed (CREATE_PENDING) past the worker's wait, as a slow change set does on AWS."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.names = set(names)

    def create_change_set(self, **kwargs):
        made = super().create_change_set(**kwargs)
        if kwargs["stack_name"] in self.names:
            return replace(made, status="CREATE_PENDING", execution_status="UNAVAILABLE")
        return made


def passes(calls: list[tuple[str, str]]) -> int:
    """Whole passes run: each reads every stack of a region with one DescribeStacks
    without a stack name (a worker and a stack's end name theirs)."""
    return count(calls, "DescribeStacks", "")


def test_a_stacks_end_runs_no_pass_for_another_stack_whose_worker_retries_its_own_item(
    repo, services, queues, calls
):
    """GIVEN two independent stacks queued, one whose change set is still being computed
    (its worker recorded it WAITING and handed its item back to SQS) WHEN the other
    stack's operation ends THEN the end is recorded and no whole pass is run for the
    waiting stack (its own item brings it back): with hundreds of stacks, each end
    would otherwise read and plan every stack again."""
    commit(repo, files(("app-one", HOME), ("app-two", HOME)))
    push(repo, services)
    services.cfn = Pending("app-two")
    delivered = [queues[HOME].deliver(), queues[HOME].deliver()]
    assert sorted((item.stack, again) for item, again in delivered) == [
        ("app-one", False), ("app-two", True),
    ]  # fmt: skip
    assert services.status.get("app-two").phase is Phase.WAITING
    calls.clear()

    outcome = completed(repo, services, "app-one")

    assert services.status.get("app-one").sync is Sync.SYNCED
    assert (passes(calls), count(calls, "SendMessageBatch")) == (0, 0), outcome


# --- a dependency that fails -------------------------------------------------------------------


class Fails(CloudFormation):
    """The real adapter, except that the stacks named are seen as their create failed
    and was rolled back (moto's resources never fail)."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.names = set(names)

    def _seen(self, stack):
        if stack is not None and stack.name in self.names:
            return replace(stack, status="ROLLBACK_COMPLETE", status_reason="Bucket exists")
        return stack

    def list_stacks(self, regions):
        return {k: self._seen(v) for k, v in super().list_stacks(regions).items()}

    def describe_stack(self, name, region):
        return self._seen(super().describe_stack(name, region))


def test_a_dependency_that_fails_runs_none_of_its_dependents_and_only_it_is_notified(
    repo, services, queues, calls
):
    """GIVEN app-a <- app-b <- app-c and app-d queued WHEN app-a's create fails THEN
    app-a is recorded Failed and notified once; app-b and app-c are never queued nor
    changed, and stay WAITING for their dependency; nothing is notified for them; the
    stack's end, handled again, says nothing again."""
    commit(repo, CHAIN)
    push(repo, services)
    queues[HOME].drain()
    services.cfn = Fails("app-a")

    completed(repo, services, "app-a")
    completed(repo, services, "app-a")  # the event delivered twice

    assert queues[HOME].items() == []
    assert count(calls, "CreateChangeSet", "app-b") + count(calls, "CreateChangeSet", "app-c") == 0
    a, b, c = (services.status.get(n) for n in ("app-a", "app-b", "app-c"))
    assert (a.sync, a.phase) == (Sync.FAILED, Phase.FAILED)
    assert (b.phase, b.waits_for, c.phase, c.waits_for) == (
        Phase.WAITING, "app-a", Phase.WAITING, "app-b",
    )  # fmt: skip
    assert [(n.kind, n.stack_name) for n in notified(services)] == [(Kind.FAILED, "app-a")]


# --- hostile records ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received",
    [
        pytest.param("\u00b2", id="superscript-two"),  # str.isdigit() says yes; int() says no
        pytest.param("9" * 5000, id="5000-digits"),  # past int()'s digit limit
        pytest.param("-1", id="negative"),
        pytest.param("", id="empty"),
    ],
)
def test_a_handed_back_item_whose_receive_count_is_not_a_number_raises_nothing(
    repo, services, queues, calls, received
):
    """GIVEN app-b's item handled before its dependency is done (it is to be handed back)
    and a record whose ApproximateReceiveCount is not a plain number (a direct invoke can
    say anything) WHEN the worker handles it THEN it reports the item failed, to be
    handed out again, and raises nothing."""
    revision = commit(repo, CHAIN)
    push(repo, services)
    record = record_for(WorkItem("app-b", revision, "", HOME))
    record["attributes"]["ApproximateReceiveCount"] = received

    assert queues[HOME].invoke(record) == [record["messageId"]]
    assert count(calls, "CreateChangeSet", "app-b") == 0


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:sqs:not a region:123456789012:q.fifo", id="region-with-spaces"),
        pytest.param("arn:aws:sqs:us-east-1:12:q.fifo", id="short-account"),
        pytest.param("arn:aws:sqs:us-east-1:123456789012:no-such-queue.fifo", id="no-queue"),
        pytest.param("arn:aws:sqs:us-east-1:123456789012", id="too-few-parts"),
        pytest.param("", id="empty"),
    ],
)
def test_a_handed_back_item_whose_source_arn_is_not_a_queue_raises_nothing(
    repo, services, queues, calls, arn
):
    """GIVEN app-b's item to be handed back and a record whose eventSourceARN names no
    queue the worker can reach WHEN the worker handles it THEN the item is reported
    failed (the queue's visibility timeout brings it back) and nothing is raised."""
    revision = commit(repo, CHAIN)
    push(repo, services)
    record = record_for(WorkItem("app-b", revision, "", HOME)) | {"eventSourceARN": arn}

    assert queues[HOME].invoke(record) == [record["messageId"]]


def test_after_a_record_that_is_not_a_work_item_the_next_record_of_the_batch_is_applied(
    repo, services, queues, calls
):
    """GIVEN a batch whose first record is AWS's sample message ("Test message.") and
    whose second is a stack's work item WHEN the worker handles it THEN the first is
    dropped (said once, never retried) and the second applied: nothing is handed back."""
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    sample = record_for(WorkItem("app-one", revision, "", HOME)) | {"body": "Test message."}
    item = queues[HOME].receive()

    answer = stack_worker.handler({"Records": [sample, item]}, LambdaContext())

    assert answer == {"batchItemFailures": []}
    assert count(calls, "ExecuteChangeSet", "app-one") == 1


# --- a refusal in the worker --------------------------------------------------------------------


def refuse_change_sets(code: str, status: int, message: str) -> list[str]:
    """CloudFormation in the home region answers CreateChangeSet with `code`."""
    refused: list[str] = []

    def answer(params, **_):
        refused.append(params["body"].get("StackName", ""))
        error = {"Code": code, "Message": message, "Type": "Sender"}
        return _Answer(status), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}

    client = session.client("cloudformation", HOME)
    client.meta.events.register("before-call.cloudformation.CreateChangeSet", answer)
    return refused


def test_a_change_set_aws_refuses_is_recorded_failed_and_notified_once_and_never_retried(
    repo, services, queues, calls, capsys
):
    """GIVEN CloudFormation refusing the stack's change set for good (AccessDenied) WHEN
    the worker handles the item, and SQS delivers it again THEN the stack is recorded
    Failed with AWS's message and notified once; the item is not handed back (it would
    fail the same way); no traceback is written."""
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    refused = refuse_change_sets(
        "AccessDenied", 403, "User is not authorized to perform: cloudformation:CreateChangeSet"
    )
    record = queues[HOME].receive()

    assert queues[HOME].invoke(record) == []
    assert queues[HOME].invoke(record) == []  # delivered again

    assert refused == ["app-one"]  # the second delivery asked AWS nothing
    status = services.status.get("app-one")
    assert (status.sync, status.phase, status.attempted_revision) == (
        Sync.FAILED, Phase.FAILED, revision,
    )  # fmt: skip
    assert "AccessDenied" in status.message
    assert [(n.kind, n.stack_name) for n in notified(services)] == [(Kind.FAILED, "app-one")]
    logged = capsys.readouterr()
    assert "Traceback" not in logged.out + logged.err


# --- a push's pass racing a stack worker -------------------------------------------------------


def test_a_pass_while_a_workers_operation_runs_queues_nothing_and_its_success_is_said_once(
    repo, services, queues, calls
):
    """GIVEN a stack worker has executed the stack's change set (recorded APPLYING, the
    stack in progress) WHEN the same push is handled again (a retried event) THEN the
    pass queues nothing for the stack; WHEN the operation's end arrives THEN the stack is
    Synced and idle at the commit, its success notified once, its change set run once."""
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    services.cfn = Busy()
    assert queues[HOME].drain() == [(WorkItem("app-one", revision, "", HOME), False)]
    assert services.status.get("app-one").phase is Phase.APPLYING

    assert push(repo, services) == {"app-one": "waiting"}
    assert queues[HOME].count() == 0

    services.cfn.busy.clear()
    completed(repo, services, "app-one")
    queues[HOME].drain()
    status = services.status.get("app-one")
    assert (status.sync, status.phase, status.applied_revision) == (
        Sync.SYNCED, Phase.IDLE, revision,
    )  # fmt: skip
    assert [n.kind for n in notified(services)] == [Kind.SUCCEEDED]
    assert count(calls, "ExecuteChangeSet", "app-one") == 1


# --- depends-on across regions, through the stack status handler -----------------------------


def stack_event(name: str, region: str, services) -> dict:
    """AWS's CREATE_COMPLETE event (tests/events) for the stack `name` as deployed in
    `region`, with the client request token the reconciler gave its execution."""
    event = json.loads((EVENTS / "stack_status_create_complete.json").read_text())
    live = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=name)
    stack_id = live["Stacks"][0]["StackId"]
    event.update(id=str(uuid.uuid4()), region=region, resources=[stack_id])
    token = services.status.get(name).operation_token
    event["detail"] |= {"stack-id": stack_id, "client-request-token": token}
    return event


def test_a_dependency_in_another_region_ending_queues_its_dependent_in_one_pass(
    repo, services, queues, calls
):
    """GIVEN app-b (home region) depending on app-a (another region), both in one commit
    WHEN app-a's worker applies it and the stack status handler gets AWS's event for its
    end THEN one pass runs and app-b's item is put on the home queue; its worker applies
    it; app-b's own end runs no pass."""
    revision = commit(
        repo, {**files(("app-a", OTHER)), **files(("app-b", HOME, "depends-on: [app-a]\n"))}
    )
    assert push(repo, services) == {"app-a": "queued", "app-b": "waiting"}
    queues[OTHER].drain()
    calls.clear()

    answer = stack_status.handler(stack_event("app-a", OTHER, services), LambdaContext())

    assert answer["status"] == "reconciled", answer
    assert passes(calls) == 2  # one pass: a DescribeStacks in each region
    assert queues[HOME].items() == [WorkItem("app-b", revision, "", HOME)]
    assert queues[HOME].drain() == [(WorkItem("app-b", revision, "", HOME), False)]
    calls.clear()
    answer = stack_status.handler(stack_event("app-b", HOME, services), LambdaContext())
    assert answer["status"] == "recorded", answer
    assert passes(calls) == 0
    assert services.status.get("app-b").sync is Sync.SYNCED


class WorkerMidChangeSet(Busy):
    """The CLI's adapter (stacks seen in progress once executed): while the CLI, holding
    the stack's lease, makes the change set, SQS hands the stack's item to a worker."""

    def __init__(self, deliver) -> None:
        super().__init__()
        self.deliver = deliver
        self.delivered: list = []

    def create_change_set(self, **kwargs):
        made = super().create_change_set(**kwargs)
        if self.deliver is not None:
            deliver, self.deliver = self.deliver, None
            self.delivered.append(deliver())
        return made


def test_a_worker_finding_the_cli_holding_the_stack_hands_its_item_back_and_runs_nothing(
    repo, services, queues, calls
):
    """GIVEN a push queued a stack WHEN `reconciler apply` (one process, the stack's lease
    held) makes the stack's change set and meanwhile the worker gets the item THEN the
    worker defers to the CLI and hands its item back; the CLI executes the change set;
    once the stack's end is recorded, the item handed out again changes nothing: one
    change set run, its success notified once."""
    revision = commit(repo, files(("app-one", HOME)))
    push(repo, services)
    cli_cfn = WorkerMidChangeSet(queues[HOME].deliver)
    mine = replace(services, queue=None, cfn=cli_cfn)
    state = load_desired_state(repo)

    done = apply(state, revision, mine, "cli:host:1", about=About(GitSource(str(repo))))

    assert {s.stack_name: s.outcome for s in done.stacks} == {"app-one": "executed"}
    assert cli_cfn.delivered == [(WorkItem("app-one", revision, "", HOME), True)]
    cli_cfn.busy.clear()
    completed(repo, services, "app-one")
    queues[HOME].drain()
    status = services.status.get("app-one")
    assert (status.sync, status.phase, status.applied_revision) == (
        Sync.SYNCED, Phase.IDLE, revision,
    )  # fmt: skip
    assert count(calls, "ExecuteChangeSet", "app-one") == 1
    assert [n.kind for n in notified(services)] == [Kind.SUCCEEDED]


MEMBER = "222222222222"


def member_stack_id(name: str, region: str) -> str:
    """The stack's id in the member account (moto: any role there can be assumed)."""
    sts = boto3.client("sts", region_name=HOME)
    role = f"arn:aws:iam::{MEMBER}:role/gitops-reconciler-member"
    answer = sts.assume_role(RoleArn=role, RoleSessionName="test-reader")["Credentials"]
    cfn = boto3.client(
        "cloudformation",
        region_name=region,
        aws_access_key_id=answer["AccessKeyId"],
        aws_secret_access_key=answer["SecretAccessKey"],
        aws_session_token=answer["SessionToken"],
    )
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def test_a_dependency_in_another_account_ending_queues_its_dependent_which_checks_it_there(
    repo, services, queues, calls
):
    """GIVEN app-b (home account) depending on app-a (account 222222222222, another
    region) WHEN app-a's worker applies it there and its forwarded end event arrives THEN
    app-b's item is put; app-b's worker finds app-a complete in its own account and
    applies app-b, once."""
    revision = commit(
        repo,
        {
            **files(("app-a", OTHER, f'account: "{MEMBER}"\n')),
            **files(("app-b", HOME, "depends-on: [app-a]\n")),
        },
    )
    assert push(repo, services) == {"app-a": "queued", "app-b": "waiting"}
    assert queues[OTHER].drain() == [(WorkItem("app-a", revision, MEMBER, OTHER), False)]
    event = json.loads((EVENTS / "stack_status_create_complete.json").read_text())
    stack_id = member_stack_id("app-a", OTHER)
    event.update(id=str(uuid.uuid4()), account=MEMBER, region=OTHER, resources=[stack_id])
    token = services.status.get("app-a").operation_token
    event["detail"] |= {"stack-id": stack_id, "client-request-token": token}

    answer = stack_status.handler(event, LambdaContext())

    assert answer["status"] == "reconciled", answer
    assert services.status.get("app-a").sync is Sync.SYNCED
    assert queues[HOME].drain() == [(WorkItem("app-b", revision, "", HOME), False)]
    assert count(calls, "ExecuteChangeSet", "app-b") == 1


# --- items out of order -----------------------------------------------------------------------


def test_an_older_commits_item_arriving_after_the_newer_ones_changes_nothing(
    repo, services, queues, calls
):
    """GIVEN a stack applied at the head by its item WHEN an item for the stack at an
    older commit arrives after it (that pass's event retried late) THEN the older item is
    superseded: no change set, the record still at the head, nothing notified."""
    old = commit(repo, files(("app-one", HOME)))
    new = commit(repo, greeted("app-one"))
    push(repo, services)
    assert queues[HOME].drain() == [(WorkItem("app-one", new, "", HOME), False)]
    completed(repo, services, "app-one")
    services.notifier.sent.clear()
    late = WorkItem("app-one", old, "", HOME)
    queues[HOME].sqs.send_message(
        QueueUrl=queues[HOME].url, MessageBody=late.body(),
        MessageGroupId=late.group_id, MessageDeduplicationId=late.dedup_id,
    )  # fmt: skip

    assert queues[HOME].drain() == [(late, False)]

    assert count(calls, "CreateChangeSet", "app-one") == 1
    status = services.status.get("app-one")
    assert (status.sync, status.applied_revision, status.attempted_revision) == (
        Sync.SYNCED, new, new,
    )  # fmt: skip
    assert notified(services) == []
