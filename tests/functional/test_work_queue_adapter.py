"""The work queue adapter (reconciler/aws/work_queue.py) on moto's SQS, and with
botocore's Stubber where SQS's partial answers are needed: routing by region, batches of
ten, entries SQS did not take, and what a pass does when the queue refuses."""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest
from botocore.stub import ANY, Stubber

from localaws import extensions
from reconciler.audit import Kept
from reconciler.aws import session
from reconciler.aws.services import services_from_env
from reconciler.aws.work_queue import SqsWorkQueues, work_queue_from_env
from reconciler.errors import AwsError, PermanentAwsError
from reconciler.fanout import WorkItem
from reconciler.notify import Kind
from reconciler.source import GitSource
from reconciler.status import Phase, Sync
from reconciler.triggers import reconcile_head
from tests.repo import STACK, make_repo

extensions.install_all()
PREFIX = "gitops-reconciler-work"
HOME = "us-east-1"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def make_queue(region: str) -> str:
    sqs = boto3.client("sqs", region_name=HOME)
    name = f"{PREFIX}-{region}.fifo"
    return sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


def bodies(url: str) -> list[str]:
    """The bodies of every message on the queue (all groups), left on it."""
    sqs = boto3.client("sqs", region_name=HOME)
    found = []
    while answer := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30
    ).get("Messages"):
        found += answer
    return sorted(m["Body"] for m in found)


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


def items(n: int, region: str = HOME) -> list[WorkItem]:
    return [WorkItem(f"app-{i:03d}", REVISION, "", region) for i in range(n)]


# --- routing --------------------------------------------------------------------------------


def test_each_item_goes_to_its_regions_queue_and_a_region_without_one_to_the_home_queue(aws):
    home, eu = make_queue(HOME), make_queue("eu-west-1")
    queue = SqsWorkQueues(PREFIX, HOME)
    here, there, elsewhere = (
        WorkItem("app-here", REVISION, "", HOME),
        WorkItem("app-there", REVISION, "222222222222", "eu-west-1"),
        WorkItem("app-elsewhere", REVISION, "", "ap-southeast-2"),
    )
    queue.send([here, there, elsewhere])
    assert bodies(home) == sorted([here.body(), elsewhere.body()])
    assert bodies(eu) == [there.body()]


def test_each_regions_queue_is_looked_up_once_per_process(aws, calls):
    make_queue(HOME)
    make_queue("eu-west-1")
    queue = SqsWorkQueues(PREFIX, HOME)
    queue.send(items(2) + items(1, "eu-west-1") + items(1, "ap-southeast-2"))
    queue.send(items(2) + items(1, "eu-west-1") + items(1, "ap-southeast-2"))
    # us-east-1, eu-west-1, and ap-southeast-2 (missing: asked once, then the home queue's)
    assert calls.count("GetQueueUrl") == 3


def test_more_than_ten_items_are_sent_in_batches_of_ten(aws, calls):
    url = make_queue(HOME)
    SqsWorkQueues(PREFIX, HOME).send(items(23))
    assert calls.count("SendMessageBatch") == 3
    assert len(bodies(url)) == 23


def test_without_a_home_queue_sending_is_refused_naming_the_queue(aws):
    with pytest.raises(PermanentAwsError) as refused:
        SqsWorkQueues(PREFIX, HOME).send(items(1, "eu-west-1"))
    assert f"{PREFIX}-{HOME}.fifo" in str(refused.value)


# --- what SQS answers entry by entry ----------------------------------------------------------


def stubbed() -> tuple[SqsWorkQueues, Stubber]:
    client = boto3.client("sqs", region_name=HOME)
    stub = Stubber(client)
    stub.add_response(
        "get_queue_url", {"QueueUrl": "https://sqs/q.fifo"}, {"QueueName": f"{PREFIX}-{HOME}.fifo"}
    )
    return SqsWorkQueues(PREFIX, HOME, client=client), stub


def entries(*which: WorkItem) -> list[dict]:
    return [
        {
            "Id": ANY,
            "MessageBody": item.body(),
            "MessageGroupId": item.group_id,
            "MessageDeduplicationId": item.dedup_id,
        }
        for item in which
    ]


def test_entries_sqs_did_not_take_for_its_own_reasons_are_sent_again_alone(aws):
    queue, stub = stubbed()
    one, two = items(2)
    failed = {"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"}
    stub.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
            "Failed": [failed],
        },
        {"QueueUrl": "https://sqs/q.fifo", "Entries": entries(one, two)},
    )
    stub.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "1", "MessageId": "m1", "MD5OfMessageBody": "x"}], "Failed": []},
        {"QueueUrl": "https://sqs/q.fifo", "Entries": entries(two)},
    )
    with stub:
        queue.send([one, two])
    stub.assert_no_pending_responses()


def test_an_entry_sqs_keeps_failing_is_a_transient_error_for_the_event_to_retry(aws):
    queue, stub = stubbed()
    (one,) = items(1)
    failed = {"Id": "0", "SenderFault": False, "Code": "InternalError", "Message": "busy"}
    for _ in range(3):
        stub.add_response(
            "send_message_batch",
            {"Successful": [], "Failed": [failed]},
            {"QueueUrl": "https://sqs/q.fifo", "Entries": entries(one)},
        )
    with stub, pytest.raises(AwsError) as raised:
        queue.send([one])
    assert not isinstance(raised.value, PermanentAwsError)
    assert "1 work item(s) not put" in str(raised.value)


def test_an_entry_sqs_refuses_as_the_senders_fault_is_permanent_naming_the_code(aws):
    queue, stub = stubbed()
    (one,) = items(1)
    failed = {"Id": "0", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "bad"}
    stub.add_response(
        "send_message_batch",
        {"Successful": [], "Failed": [failed]},
        {"QueueUrl": "https://sqs/q.fifo", "Entries": entries(one)},
    )
    with stub, pytest.raises(PermanentAwsError, match="InvalidParameterValue"):
        queue.send([one])


# --- from the environment ---------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"WORK_QUEUE_PREFIX": ""}, {"WORK_QUEUE_PREFIX": "   "}])
def test_without_a_work_queue_prefix_there_is_no_fan_out(env):
    assert work_queue_from_env(env) is None


def test_the_prefix_names_the_queues_in_the_home_region():
    env = {"WORK_QUEUE_PREFIX": PREFIX, "AWS_REGION": "eu-central-1"}
    queue = work_queue_from_env(env)
    assert (queue.prefix, queue.home_region) == (PREFIX, "eu-central-1")
    assert queue.queue_name("ap-south-1") == f"{PREFIX}-ap-south-1.fifo"


def test_the_cli_never_fans_out(monkeypatch):
    monkeypatch.setenv("WORK_QUEUE_PREFIX", PREFIX)
    assert services_from_env(fan_out=False).queue is None


# --- a pass whose items cannot be put -----------------------------------------------------------


@pytest.fixture
def repo(tmp_path):
    root = make_repo(tmp_path / "desired")
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*run, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*run, "add", "-A"], cwd=root, check=True)
    subprocess.run([*run, "commit", "-qm", "first"], cwd=root, check=True)
    return root


def test_a_pass_whose_items_sqs_refuses_records_the_stacks_failed_and_notifies_once(
    aws, repo, monkeypatch
):
    """GIVEN no work queue exists (bootstrap not run with the queues) WHEN a push's pass
    fans out THEN the stack to change is recorded Failed, saying why, and notified once;
    the same pass again says nothing new."""
    monkeypatch.setenv("WORK_QUEUE_PREFIX", PREFIX)
    services = services_from_env(change_set_wait_seconds=0)
    services.audit = Kept()

    first = reconcile_head(GitSource(str(repo)), services, "push")
    reconcile_head(GitSource(str(repo)), services, "push")

    assert [s["outcome"] for s in first.stacks] == ["failed"]
    status = services.status.get("app-dev")
    assert (status.sync, status.phase) == (Sync.FAILED, Phase.FAILED)
    assert "queue" in status.message.lower()
    assert [(n.kind, n.stack_name) for n in services.notifier.sent] == [(Kind.FAILED, "app-dev")]


def test_a_pass_whose_items_sqs_cannot_take_now_is_raised_and_records_nothing(
    aws, repo, monkeypatch
):
    """GIVEN SQS failing the entries on its side WHEN a push's pass fans out THEN the
    transient error is raised (the event is retried; the queue drops what it already
    has) and no stack is recorded queued or failed."""
    monkeypatch.setenv("WORK_QUEUE_PREFIX", PREFIX)
    make_queue(HOME)
    services = services_from_env(change_set_wait_seconds=0)
    client = boto3.client("sqs", region_name=HOME)

    def none_taken(params, **_):
        sent = json.loads(params["body"])["Entries"]
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            for e in sent
        ]
        answer = {"Successful": [], "Failed": failed}
        return _Answer(200), answer | {"ResponseMetadata": {"HTTPStatusCode": 200}}

    client.meta.events.register("before-call.sqs.SendMessageBatch", none_taken)
    services.queue = SqsWorkQueues(PREFIX, HOME, client=client)

    with pytest.raises(AwsError, match="not put"):
        reconcile_head(GitSource(str(repo)), services, "push")
    assert services.status.get("app-dev") is None
    assert services.notifier.sent == []


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code, self.headers, self.content = status_code, {}, b""


def test_stack_files_reach_the_adapter_with_their_own_region(aws, tmp_path, monkeypatch):
    """GIVEN a stack file in eu-west-1 WHEN a pass fans out THEN its item is on the
    eu-west-1 queue, not the home one."""
    root = make_repo(
        tmp_path / "eu", {"desired-state/app-dev.yml": STACK.replace(HOME, "eu-west-1")}
    )
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*run, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*run, "add", "-A"], cwd=root, check=True)
    subprocess.run([*run, "commit", "-qm", "first"], cwd=root, check=True)
    monkeypatch.setenv("WORK_QUEUE_PREFIX", PREFIX)
    home, eu = make_queue(HOME), make_queue("eu-west-1")
    services = services_from_env(change_set_wait_seconds=0)
    reconcile_head(GitSource(str(root)), services, "push")
    assert bodies(home) == []
    assert len(bodies(eu)) == 1
