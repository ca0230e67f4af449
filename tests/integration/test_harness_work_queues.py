"""The work-queue pump (`harness.work_queues`, driven by `EventRouter.run_until_idle` and
`DeployedRouter`) on a local AWS server, with a stub stack worker: the SQS event Lambda
builds, FIFO group order, the concurrency cap, retries of failed items, the dead-letter
queue, and the cap read from a deployed event source mapping."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from handlers.routes import HANDLERS
from harness.deployed import DeployedRouter
from harness.router import EventRouter, RouterTimeoutError
from localaws.server import LocalAws

HOME = "us-east-1"
PREFIX = "gitops-work"
QUEUE = f"{PREFIX}-{HOME}.fifo"
WORK_TIME_S = 0.05


class StubWorker:
    """A stack worker that records what it gets and when, and fails as told: `fail(stack,
    times)` reports the stack's item failed that many times; `raise_for(stack)` raises."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.spans: list[tuple[str, int, float, float]] = []  # stack, n, start, end
        self.running = 0
        self.most_running = 0
        self.environment: list[str | None] = []
        self._failures: dict[str, int] = {}
        self._raising: set[str] = set()
        self._lock = threading.Lock()

    def fail(self, stack: str, times: int) -> None:
        self._failures[stack] = times

    def raise_for(self, stack: str) -> None:
        self._raising.add(stack)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        (record,) = event["Records"]
        item = json.loads(record["body"])
        with self._lock:
            self.records.append(record)
            self.environment.append(os.environ.get("WORKER_GREETING"))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        start = time.monotonic()
        time.sleep(WORK_TIME_S)
        with self._lock:
            self.running -= 1
            self.spans.append((item["stack"], item["n"], start, time.monotonic()))
            failing = self._failures.get(item["stack"], 0)
            if failing:
                self._failures[item["stack"]] = failing - 1
        if item["stack"] in self._raising:
            raise RuntimeError("CloudFormation is throttling")
        if failing:
            return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        return {"batchItemFailures": []}

    def order(self) -> dict[str, list[int]]:
        """Stack -> item numbers, in the order their invocations started."""
        found: dict[str, list[int]] = {}
        for stack, n, _, _ in sorted(self.spans, key=lambda span: span[2]):
            found.setdefault(stack, []).append(n)
        return found


def _ignore(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"status": "handled"}


RULE_HANDLERS = dict.fromkeys(HANDLERS, _ignore)


@pytest.fixture
def worker() -> StubWorker:
    return StubWorker()


@pytest.fixture
def sqs(fresh_local_aws: LocalAws) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=fresh_local_aws.endpoint_url,
        region_name=HOME,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def make_router(fresh_local_aws: LocalAws, worker: StubWorker) -> Callable[..., EventRouter]:
    def make(**settings: Any) -> EventRouter:
        settings.setdefault("work_handler", worker)
        settings.setdefault("max_receive_count", 3)
        settings.setdefault("retry_at_once", True)  # the stub sets no visibility of its own
        return EventRouter(
            fresh_local_aws.endpoint_url,
            settings.pop("regions", (HOME,)),
            stack_prefix="app-",
            handlers=RULE_HANDLERS,
            work_queue_prefix=PREFIX,
            **settings,
        )

    return make


def _send(sqs: Any, queue: str, stack: str, n: int, revision: str = "0123456789abcdef") -> str:
    """A work item as the reconciler puts it: group per stack, deduplication per stack and
    revision (here per item number too, so that one stack can have several)."""
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    body = {"stack": stack, "revision": revision, "account": "", "region": HOME, "n": n}
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(body),
        MessageGroupId=stack,
        MessageDeduplicationId=hashlib.sha256(f"{stack}@{revision}#{n}".encode()).hexdigest(),
    )["MessageId"]


def test_a_router_with_a_prefix_makes_a_fifo_work_queue_per_region_with_a_dead_letter_queue(
    fresh_local_aws: LocalAws, sqs: Any
) -> None:
    """GIVEN the prefix gitops-work and the regions us-east-1 and eu-west-1
    WHEN a router is made
    THEN the home region has gitops-work-us-east-1.fifo and gitops-work-eu-west-1.fifo, FIFO
    queues that dead-letter to a FIFO queue after 5 receives, as bootstrap's"""
    EventRouter(
        fresh_local_aws.endpoint_url,
        (HOME, "eu-west-1"),
        stack_prefix="app-",
        handlers=RULE_HANDLERS,
        work_queue_prefix=PREFIX,
    )

    for region in (HOME, "eu-west-1"):
        url = sqs.get_queue_url(QueueName=f"{PREFIX}-{region}.fifo")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert attributes["FifoQueue"] == "true"
        assert redrive["maxReceiveCount"] == 5
        assert redrive["deadLetterTargetArn"].endswith(f":{PREFIX}-{region}-dlq.fifo")


def test_the_worker_gets_the_sqs_event_lambda_builds(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN a work item on the home region's work queue
    WHEN the router runs until idle
    THEN the worker gets one record shaped as Lambda's SQS event source mapping makes it, and
    the item is deleted"""
    router = make_router()
    message_id = _send(sqs, QUEUE, "app-one", 1)

    router.run_until_idle(timeout_s=20)

    (record,) = worker.records
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == message_id
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", HOME)
    assert record["eventSourceARN"] == f"arn:aws:sqs:{HOME}:123456789012:{QUEUE}"
    attributes = record["attributes"]
    assert attributes["MessageGroupId"] == "app-one"
    assert attributes["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SequenceNumber", "MessageDeduplicationId"} <= attributes.keys()
    assert json.loads(record["body"])["stack"] == "app-one"
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_the_items_of_one_stack_are_worked_in_order_one_at_a_time(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN four items for each of three stacks, interleaved, and room for ten at once
    WHEN the router runs until idle
    THEN each stack's items are worked in the order sent, none while another of its items is
    being worked, while different stacks are worked at once"""
    router = make_router()
    for n in range(12):
        _send(sqs, QUEUE, f"app-{n % 3}", n)

    router.run_until_idle(timeout_s=20)

    assert worker.order() == {"app-0": [0, 3, 6, 9], "app-1": [1, 4, 7, 10], "app-2": [2, 5, 8, 11]}
    for stack in ("app-0", "app-1", "app-2"):
        spans = sorted((start, end) for s, _, start, end in worker.spans if s == stack)
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert worker.most_running == 3


def test_no_more_than_max_concurrency_items_are_worked_at_once(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN twenty items of twenty stacks and a cap of 4
    WHEN the router runs until idle
    THEN every item is worked, with 4 at once at most (and at some point 4)"""
    router = make_router(max_concurrency=4)
    for n in range(20):
        _send(sqs, QUEUE, f"app-{n}", n)

    router.run_until_idle(timeout_s=20)

    assert len(worker.spans) == 20
    assert worker.most_running == 4
    assert router.work.max_in_flight[QUEUE] == 4


def test_a_failed_item_is_delivered_again_and_then_deleted(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN an item whose first attempt reports it failed (batchItemFailures)
    WHEN the router runs until idle
    THEN the same message is delivered again with receive count 2, and the stack's next item
    waits until it is done"""
    router = make_router()
    worker.fail("app-one", times=1)
    first = _send(sqs, QUEUE, "app-one", 1)
    _send(sqs, QUEUE, "app-one", 2)

    deliveries = router.run_until_idle(timeout_s=20)

    seen = [(r["messageId"], r["attributes"]["ApproximateReceiveCount"]) for r in worker.records]
    assert seen[:2] == [(first, "1"), (first, "2")]
    assert worker.order() == {"app-one": [1, 1, 2]}
    assert [d.status for d in deliveries] == ["retry", "done", "done"]
    assert router.dead_letters == []


def test_an_item_whose_worker_raises_is_delivered_again(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN a worker that raises for a stack, and a queue dead-lettering after 3 receives
    WHEN the router runs until idle
    THEN the item is tried three times; the deliveries say error, then dead-lettered"""
    router = make_router()
    worker.raise_for("app-one")
    _send(sqs, QUEUE, "app-one", 1)

    deliveries = router.run_until_idle(timeout_s=20)

    assert [(d.status, d.attempt) for d in deliveries] == [
        ("error", 1),
        ("error", 2),
        ("dead-lettered", 3),
    ]
    assert "RuntimeError: CloudFormation is throttling" in deliveries[0].reason


def test_a_poison_item_goes_to_the_dead_letter_queue_and_the_stack_goes_on(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN an item reported failed on every attempt, followed by another of its stack
    WHEN the router runs until idle
    THEN after 3 attempts it is in the dead-letter queue and in router.dead_letters, and the
    stack's next item is worked"""
    router = make_router()
    worker.fail("app-one", times=99)
    poison = _send(sqs, QUEUE, "app-one", 1)
    _send(sqs, QUEUE, "app-two", 2)

    router.run_until_idle(timeout_s=20)

    (dead,) = router.dead_letters
    assert (dead.rule, dead.handler, dead.attempts) == (QUEUE, "stack_worker", 3)
    assert [r["messageId"] for r in dead.event["Records"]] == [poison]
    dlq = sqs.get_queue_url(QueueName=f"{PREFIX}-{HOME}-dlq.fifo")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert message["MessageId"] == poison
    assert worker.order()["app-two"] == [2]


def test_a_failed_item_comes_back_after_the_queue_visibility_timeout(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN a work queue with a 1 s visibility timeout, and an item reported failed once
    WHEN the router, leaving failed items as Lambda does, runs until idle
    THEN the item comes back only once its visibility timeout has passed"""
    router = make_router(retry_at_once=False)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    worker.fail("app-one", times=1)
    _send(sqs, QUEUE, "app-one", 1)

    router.run_until_idle(timeout_s=20)

    (_, _, first, _), (_, _, second, _) = sorted(worker.spans, key=lambda s: s[2])
    assert second - first >= 1.0
    assert worker.order() == {"app-one": [1, 1]}


def test_an_answer_naming_an_item_not_in_the_batch_fails_the_whole_batch(
    make_router: Callable[..., EventRouter], sqs: Any
) -> None:
    """GIVEN a worker answering with an itemIdentifier that is not in its batch, once
    WHEN the router runs until idle
    THEN the batch is delivered again, as Lambda treats such an answer as a failure"""
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}])
    got: list[str] = []

    def answering(event: dict[str, Any], context: Any) -> Any:
        got.append(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
        return next(answers, None)

    router = make_router(work_handler=answering)
    _send(sqs, QUEUE, "app-one", 1)

    router.run_until_idle(timeout_s=20)

    assert got == ["1", "2"]


def test_work_sent_by_the_worker_itself_is_waited_for(
    make_router: Callable[..., EventRouter], sqs: Any
) -> None:
    """GIVEN a worker that, for the first stack, sends the item of a dependent stack (as a
    completed dependency releases its dependents)
    WHEN the router runs until idle
    THEN it returns only after the dependent's item is worked too"""
    worked: list[str] = []

    def releasing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        item = json.loads(event["Records"][0]["body"])
        worked.append(item["stack"])
        if item["stack"] == "app-network":
            _send(sqs, QUEUE, "app-database", 2)
        return {"batchItemFailures": []}

    router = make_router(work_handler=releasing)
    _send(sqs, QUEUE, "app-network", 1)

    router.run_until_idle(timeout_s=20)

    assert worked == ["app-network", "app-database"]


def test_an_item_still_in_flight_elsewhere_times_the_router_out_naming_the_queue(
    make_router: Callable[..., EventRouter], sqs: Any
) -> None:
    """GIVEN an item received by another consumer and not deleted (a worker killed mid-stack)
    WHEN the router runs until idle for a short time
    THEN it times out naming the work item in the queue"""
    router = make_router()
    _send(sqs, QUEUE, "app-one", 1)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)

    with pytest.raises(RouterTimeoutError, match=rf"1 work item\(s\) in {QUEUE}"):
        router.run_until_idle(timeout_s=0.5)


def test_a_queue_made_after_the_router_is_pumped(
    make_router: Callable[..., EventRouter], worker: StubWorker, sqs: Any
) -> None:
    """GIVEN a router for us-east-1, and then a work queue for eu-west-1 made in the home region
    WHEN an item is put there and the router runs until idle
    THEN the item is worked, with the queue's ARN as event source"""
    router = make_router()
    sqs.create_queue(QueueName=f"{PREFIX}-eu-west-1.fifo", Attributes={"FifoQueue": "true"})
    _send(sqs, f"{PREFIX}-eu-west-1.fifo", "app-one", 1)

    router.run_until_idle(timeout_s=20)

    (record,) = worker.records
    assert record["eventSourceARN"].endswith(f":{PREFIX}-eu-west-1.fifo")


# --- the deployed event source mapping -------------------------------------------------------

DEPLOYED = StubWorker()
CODE = {"S3Bucket": "work-code", "S3Key": "code.zip"}


def deployed_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The deployed function's handler (its Handler names this module)."""
    return DEPLOYED(event, context)


def _template(scaling: dict[str, int] | None) -> str:
    mapping: dict[str, Any] = {
        "FunctionName": {"Ref": "Worker"},
        "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    if scaling is not None:
        mapping["ScalingConfig"] = scaling
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return json.dumps(
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"AssumeRolePolicyDocument": trust},
                },
                "Queue": {
                    "Type": "AWS::SQS::Queue",
                    "Properties": {
                        "QueueName": {"Fn::Sub": "${AWS::StackName}-work.fifo"},
                        "FifoQueue": True,
                    },
                },
                "Worker": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "python3.13",
                        "Handler": f"{__name__}.deployed_worker",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": CODE,
                        "Environment": {"Variables": {"WORKER_GREETING": "from the function"}},
                    },
                },
                "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping},
            }
        }
    )


@pytest.fixture
def deploy(fresh_local_aws: LocalAws, local_aws_client: Callable[[str], Any]) -> Iterator[Callable]:
    DEPLOYED.__init__()  # type: ignore[misc]
    s3 = local_aws_client("s3")
    s3.create_bucket(Bucket=CODE["S3Bucket"])
    s3.put_object(Bucket=CODE["S3Bucket"], Key=CODE["S3Key"], Body=b"PK\x05\x06" + b"\0" * 18)

    def create(scaling: dict[str, int] | None) -> str:
        name = f"work-{uuid.uuid4().hex[:8]}"
        local_aws_client("cloudformation").create_stack(
            StackName=name, TemplateBody=_template(scaling)
        )
        return name

    yield create


def test_the_deployed_router_caps_a_mapping_at_its_maximum_concurrency(
    deploy: Callable[..., str], fresh_local_aws: LocalAws, sqs: Any
) -> None:
    """GIVEN a deployed stack whose FIFO queue is mapped to its function with
    MaximumConcurrency 3, and twelve items of twelve stacks on the queue
    WHEN the deployed-wiring router runs until idle
    THEN every item is worked by the function's handler, in the function's environment, with
    3 at once at most"""
    stack = deploy({"MaximumConcurrency": 3})
    router = DeployedRouter(fresh_local_aws.endpoint_url, stack)
    for n in range(12):
        _send(sqs, f"{stack}-work.fifo", f"app-{n}", n)

    router.run_until_idle(timeout_s=20)

    assert len(DEPLOYED.spans) == 12
    assert DEPLOYED.most_running == 3
    assert set(DEPLOYED.environment) == {"from the function"}
    assert os.environ.get("WORKER_GREETING") is None


def test_the_deployed_router_falls_back_to_the_function_reserved_concurrency(
    deploy: Callable[..., str], fresh_local_aws: LocalAws, local_aws_client: Callable, sqs: Any
) -> None:
    """GIVEN a deployed mapping without ScalingConfig, whose function has 2 reserved
    concurrent executions
    WHEN the deployed-wiring router runs six items of six stacks
    THEN 2 run at once at most"""
    stack = deploy(None)
    resources = local_aws_client("cloudformation").describe_stack_resources(StackName=stack)
    function = next(
        r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["LogicalResourceId"] == "Worker"
    )
    local_aws_client("lambda").put_function_concurrency(
        FunctionName=function, ReservedConcurrentExecutions=2
    )
    router = DeployedRouter(fresh_local_aws.endpoint_url, stack)
    for n in range(6):
        _send(sqs, f"{stack}-work.fifo", f"app-{n}", n)

    router.run_until_idle(timeout_s=20)

    assert len(DEPLOYED.spans) == 6
    assert DEPLOYED.most_running == 2
