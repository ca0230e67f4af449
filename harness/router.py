"""The local event path: EventBridge rules on the local AWS deliver events to the handlers.

AWS behaviour: the rules of `handlers.routes` sit on the default bus of each region; an
event that matches a rule's pattern invokes the rule's Lambda function asynchronously, with
the event as EventBridge delivers it (its id included). A function that raises is tried
again, three attempts in all, and then the event goes to the function's dead-letter queue.
A scheduled rule invokes its function with a "Scheduled Event" at each tick.

Here: `EventRouter` creates those rules on the local AWS's buses, each with an SQS queue as
its target, so moto's own pattern matching decides what is routed, not code of ours. It
then pumps: the local AWS's stack status events go on the buses (`localaws.bus_emitter`),
drift events are already put there by `localaws.drift`, and each message in a queue is
handed to its handler in this process, deleted when the handler returns and left for
another attempt when it raises; after three attempts it is dead-lettered. Every delivery
is logged in `deliveries`.

Stand-in details: an event without `account` (moto's SQS target dropped it before
`localaws.event_bus_targets`) gets the queue's account; a scheduled rule never fires, and a
target on it would receive every event on the bus (moto matches an empty pattern to
everything), so the schedule rule has no target and `fire_schedule()` sends the tick to its
queue. Retries come at once, not after Lambda's minutes of back-off.

Other accounts and regions: CloudFormation in a member account puts its events on that
account's bus in the stack's region, and a rule there forwards the managed stacks' events
to the home region's default bus of the central account (infra/member-account.yml; for
another region of the home account, what `reconciler bootstrap --regions` sets up). The
event keeps its `account` and `region` (`localaws.event_bus_targets`). `follow(account,
region)` emits the stack events of such a place, as CloudFormation there would, and with
`forward=True` makes the forwarding rules there too; `EventRouter(..., forward=True)` does
the same for the other regions of the home account instead of routing them in place.

Work queues: with a work queue prefix (`WORK_QUEUE_PREFIX`), the router makes the FIFO
queue `<prefix>-<region>.fifo` in the home region for each region it routes (with a
dead-letter queue, as bootstrap would), and pumps every queue of that name as Lambda's SQS
event source mapping does, into `handlers.stack_worker.handler` with up to `max_concurrency`
invocations at once per queue (`harness.work_queues`). `run_until_idle` waits for those
queues to be empty too.

The pumping (`EventPump`) is shared with `harness.deployed.DeployedRouter`, which routes by
the rules and functions a deployed infra/bootstrap.yml stack made instead of this table.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from handlers.routes import (
    API_CALL,
    CODECOMMIT_CHANGE,
    DEFAULT_SCHEDULE,
    DRIFT_STATUS_CHANGE,
    GIT_PUSH,
    HANDLERS,
    STACK_STATUS_CHANGE,
    Rule,
    Watched,
    rules,
)
from harness.work_queues import DEFAULT_MAX_CONCURRENCY, Invocation, SqsMapping, WorkQueuePump
from localaws.accounts import in_account
from localaws.bus_emitter import StackEventEmitter
from localaws.lambda_context import LambdaContext
from reconciler.errors import ReconcilerError

Handler = Callable[[dict[str, Any], Any], Any]

MAX_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
DEFAULT_TIMEOUT_S = 60.0
_POLL_INTERVAL_S = 0.05
_QUEUE_PREFIX = "harness-router-"
_SQS_BATCH = 10
# Long enough that a handler finishes before its message could be received again.
_VISIBILITY_TIMEOUT_S = 900
# The keys of an EventBridge event, in the order AWS writes them.
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region")
_EVENT_KEYS += ("resources", "detail")
STACK_WORKER = "stack_worker"
WORK_QUEUE_PREFIX = "WORK_QUEUE_PREFIX"
# As infra/bootstrap.yml's WorkQueue: five receives, then the dead-letter queue; visibility
# six times the stack worker's 240 s timeout.
DEFAULT_MAX_RECEIVE_COUNT = 5
_WORK_VISIBILITY_TIMEOUT_S = 1440
_FORWARD_SUFFIX = "-to-home"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"

logger = logging.getLogger(__name__)


class RouterError(ReconcilerError):
    """The event router cannot be set up as asked."""


class RouterTimeoutError(ReconcilerError):
    """Events were still in flight when `run_until_idle` ran out of time."""


@dataclass(frozen=True)
class Delivery:
    """One handler invocation by a rule, and how it ended.

    `status` is the handler's own ("reconciled", "recorded", ...), "error" for an attempt
    that raised and will be retried, or "dead-lettered" for the last attempt of such.
    """

    rule: str
    handler: str
    region: str
    event_id: str
    detail_type: str
    subject: str  # what the event is about, for people: "pci-db-dev UPDATE_COMPLETE"
    attempt: int
    status: str
    reason: str
    result: Mapping[str, Any] = field(default_factory=dict)  # the handler's return value

    def line(self) -> str:
        end = f"{self.status}: {self.reason}" if self.reason else self.status
        return f"{self.rule} => {self.handler}: {self.subject} -> {end}"


@dataclass(frozen=True)
class DeadLetter:
    """An event whose handler raised on every attempt, as Lambda's dead-letter queue keeps it."""

    rule: str
    handler: str
    region: str
    event: Mapping[str, Any]
    error: str
    attempts: int


@dataclass(frozen=True)
class Route:
    """A rule as found or created in one region, with the queue its events land in (a
    target of the rule, or for a schedule the queue `fire_schedule` sends ticks to) and the
    function its events go to."""

    rule_name: str
    handler: str  # the handler module: its name under handlers/ ("push"), else its path
    function: Handler
    function_name: str
    region: str
    queue_url: str
    account: str
    rule_arn: str
    scheduled: bool = False
    max_attempts: int = MAX_ATTEMPTS
    dead_letter_arn: str | None = None  # the function's DeadLetterConfig target, if any


def real_handlers() -> dict[str, Handler]:
    """The handler functions of `handlers/`, by the name the rules target."""
    return {name: importlib.import_module(f"handlers.{name}").handler for name in HANDLERS}


class EventPump:
    """Moves events from the rules' queues to their functions, as EventBridge and Lambda's
    asynchronous invocation would, puts the local AWS's stack status events on the buses,
    and runs the work queues' function as their event source mappings would. `routes` say
    which queue feeds which function; `regions[0]` is the home region. With
    `exclusive_work`, no rule's event is delivered while a work queue invocation runs (the
    deployed-wiring router applies one function's environment to the whole process)."""

    def __init__(
        self,
        clients: Clients,
        regions: tuple[str, ...],
        routes: Sequence[Route],
        *,
        work: WorkQueuePump | None = None,
        exclusive_work: bool = False,
    ) -> None:
        self.regions = regions
        self.deliveries: list[Delivery] = []
        self.dead_letters: list[DeadLetter] = []
        self.work = work or WorkQueuePump(lambda region: clients.get("sqs", region))
        self._clients = clients
        self._sqs = {region: clients.get("sqs", region) for region in regions}
        self._routes = list(routes)
        self._exclusive_work = exclusive_work
        self._emitters: dict[tuple[str, str], StackEventEmitter] = {}
        for region in regions:
            self._follow_place("", region)

    def rule_names(self, region: str) -> list[str]:
        """The rules the router routes from in the region."""
        return [route.rule_name for route in self._routes if route.region == region]

    def follow(self, account: str, region: str) -> None:
        """Emit the stack status events of `account` (12 digits; "" for the home account) in
        `region` on that account's default bus there, as CloudFormation does, from now on;
        and count its stacks in progress as in flight."""
        self._follow_place(account, region)

    def _follow_place(self, account: str, region: str) -> None:
        if (account, region) not in self._emitters:
            self._emitters[account, region] = StackEventEmitter(
                self._clients.get("cloudformation", region, account),
                self._clients.get("events", region, account),
            )

    # --- driving ---------------------------------------------------------------------------

    def run_until_idle(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Delivery]:
        """Pump until no stack operation is running, no new event came, every queue is empty
        and no work queue holds a message; returns the deliveries made. Raises
        RouterTimeoutError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        first = len(self.deliveries)
        self.work.refresh()
        while True:
            emitted = sum(len(emitter.emit()) for emitter in self._emitters.values())
            held = self._exclusive_work and self.work.holds_process()
            delivered = [] if held else self._deliver_queued()
            worked = self._pump_work()
            progressed = bool(emitted or delivered or worked)
            # A round whose deliveries were held is not the last: the queues were not read.
            moving = progressed or held
            busy = {} if moving else self._stacks_in_progress()
            waiting = {} if moving or busy else self._work_waiting()
            if not (moving or busy or waiting):
                if self.work.has_ended():  # ended after this round collected: one more
                    continue
                self.work.rest()
                return self.deliveries[first:]
            if time.monotonic() >= deadline:
                self.work.rest()  # a function's environment stays only under running work
                raise RouterTimeoutError(
                    f"events still in flight after {timeout_s:g} s: "
                    f"{self._in_flight(busy, waiting)}"
                )
            if not progressed:  # a stack is settling, or a work item is being worked on
                self.work.wait(_POLL_INTERVAL_S)

    def _pump_work(self) -> bool:
        """Collect the ended work queue invocations and start new ones; whether anything
        happened."""
        ended, started = self.work.step()
        for invocation in ended:
            self.deliveries.append(_work_delivery(invocation))
            if invocation.dead_lettered:
                self.dead_letters.append(
                    DeadLetter(
                        rule=invocation.queue,
                        handler=invocation.handler,
                        region=invocation.region,
                        event={"Records": list(invocation.dead_lettered)},
                        error=invocation.reason,
                        attempts=invocation.attempt,
                    )
                )
        return bool(ended or started)

    def _work_waiting(self) -> dict[str, int]:
        self.work.refresh()  # a queue made since the pump started (bootstrap, the reconciler)
        return self.work.waiting()

    def fire_schedule(self) -> dict[str, Any]:
        """A tick of the schedule rule: its "Scheduled Event" goes to the rule's target, to be
        delivered by the next pump. Returns the event."""
        route = next((r for r in self._routes if r.scheduled), None)
        if route is None:
            raise RouterError("no schedule rule to fire")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": route.account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": route.region,
            "resources": [route.rule_arn],
            "detail": {},
        }
        self._sqs[route.region].send_message(
            QueueUrl=route.queue_url, MessageBody=json.dumps(event)
        )
        return event

    # --- delivering ------------------------------------------------------------------------

    def _deliver_queued(self) -> list[Delivery]:
        made: list[Delivery] = []
        for route in self._routes:
            received = self._sqs[route.region].receive_message(
                QueueUrl=route.queue_url,
                MaxNumberOfMessages=_SQS_BATCH,
                VisibilityTimeout=_VISIBILITY_TIMEOUT_S,
                AttributeNames=["ApproximateReceiveCount"],
            )
            for message in received.get("Messages", []):
                made.append(self._deliver(route, message))
        self.deliveries.extend(made)
        return made

    def _deliver(self, route: Route, message: dict[str, Any]) -> Delivery:
        sqs = self._sqs[route.region]
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event = _as_delivered(message["Body"], route.account)
        if event is None:  # nothing EventBridge could have sent: no handler would take it
            error = "the message is not an EventBridge event"
            return self._dead_letter(route, message, {"body": message["Body"]}, error, attempt)
        context = LambdaContext(
            function_name=route.function_name, region=route.region, account=route.account
        )
        try:
            result = route.function(copy.deepcopy(event), context)
        except Exception as exc:  # Lambda catches everything a handler raises
            logger.info("%s raised on event %s", route.handler, event["id"], exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= route.max_attempts:
                return self._dead_letter(route, message, event, error, attempt)
            sqs.change_message_visibility(
                QueueUrl=route.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
            reason = f"{error} (attempt {attempt} of {route.max_attempts}; tried again)"
            return _delivery(route, event, attempt, "error", reason)
        sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
        outcome = result if isinstance(result, Mapping) else {}
        return _delivery(
            route,
            event,
            attempt,
            str(outcome.get("status", "done")),
            str(outcome.get("reason", "")),
            outcome,
        )

    def _dead_letter(
        self,
        route: Route,
        message: dict[str, Any],
        event: dict[str, Any],
        error: str,
        attempt: int,
    ) -> Delivery:
        self._sqs[route.region].delete_message(
            QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        self.dead_letters.append(
            DeadLetter(route.rule_name, route.handler, route.region, event, error, attempt)
        )
        if route.dead_letter_arn is not None:
            self._send_to_dead_letter_queue(route, event, error)
        reason = f"{error} (attempt {attempt} of {route.max_attempts})"
        return _delivery(route, event, attempt, "dead-lettered", reason)

    def _send_to_dead_letter_queue(self, route: Route, event: dict[str, Any], error: str) -> None:
        """What Lambda sends to a function's dead-letter queue: the event, with the error
        as message attributes."""
        arn = str(route.dead_letter_arn).split(":")  # arn:aws:sqs:<region>:<account>:<name>
        if len(arn) != 6 or arn[2] != "sqs":
            logger.warning("dead-letter target %s is not an SQS queue", route.dead_letter_arn)
            return
        sqs = self._clients.get("sqs", arn[3])
        queue_url = sqs.get_queue_url(QueueName=arn[5], QueueOwnerAWSAccountId=arn[4])["QueueUrl"]
        error_code, _, error_message = error.partition(": ")
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                "ErrorCode": {"DataType": "String", "StringValue": error_code or "Error"},
                "ErrorMessage": {"DataType": "String", "StringValue": error_message or error},
            },
        )

    # --- what is still going on ------------------------------------------------------------

    def _stacks_in_progress(self) -> dict[str, dict[str, str]]:
        busy = {
            _place(account, region): emitter.stacks_in_progress()
            for (account, region), emitter in self._emitters.items()
        }
        return {place: stacks for place, stacks in busy.items() if stacks}

    def _in_flight(self, busy: dict[str, dict[str, str]], waiting: dict[str, int]) -> str:
        found = [
            f"stack {name} {status} in {place}"
            for place, stacks in (busy or self._stacks_in_progress()).items()
            for name, status in sorted(stacks.items())
        ]
        for route in self._routes:
            attributes = self._sqs[route.region].get_queue_attributes(
                QueueUrl=route.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            count = int(attributes.get("ApproximateNumberOfMessages", "0"))
            if count:
                found.append(f"{count} event(s) for rule {route.rule_name} in {route.region}")
        for queue, count in (waiting or self.work.waiting()).items():
            found.append(f"{count} work item(s) in {queue}")
        return "; ".join(found) or "handlers kept producing new events"


class EventRouter(EventPump):
    """Routes the local AWS's bus events to the handlers by `handlers.routes`' rules.

    `regions[0]` is the home region (pushes, the schedule); stack and drift events are
    followed in every region listed: routed in place, or with `forward` sent on to the home
    region's default bus by forwarding rules, as `reconciler bootstrap --regions` sets up.
    Stack events from before the router was made are not sent. `handlers` maps each handler
    name to a function (default: the real ones). `watched` (reconciler.change_rules.watched
    of a desired state) adds the change rules, which route CloudTrail's "AWS API Call via
    CloudTrail" events (the local AWS sends them while a trail is logging) to the change
    handler.

    Work queues: `work_queue_prefix` (default: the WORK_QUEUE_PREFIX variable; none when
    empty) makes `<prefix>-<region>.fifo` in the home region for each region, with a
    dead-letter queue after `max_receive_count` receives, and pumps every queue so named
    into `work_handler` (default: `handlers.stack_worker.handler`, imported at its first
    call) with up to `max_concurrency` invocations at once per queue. A failed item comes
    back as the worker or the queue's visibility timeout says; with `retry_at_once`, at once.
    """

    def __init__(
        self,
        endpoint_url: str,
        regions: Sequence[str] = ("us-east-1",),
        *,
        stack_prefix: str,
        repository: str | None = None,
        schedule: str = DEFAULT_SCHEDULE,
        handlers: Mapping[str, Handler] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        forward: bool = False,
        work_queue_prefix: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        work_handler: Handler | None = None,
        max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
        retry_at_once: bool = False,
        watched: tuple[Watched, ...] = (),
    ) -> None:
        regions = (regions,) if isinstance(regions, str) else tuple(regions)
        if not regions:
            raise RouterError("the event router needs at least one region")
        if max_concurrency < 1:
            raise RouterError(f"max_concurrency must be at least 1, not {max_concurrency}")
        functions = dict(handlers) if handlers is not None else real_handlers()
        self.rules = tuple(rules(stack_prefix, repository, schedule, watched))
        missing = sorted({r.handler for r in self.rules} - set(functions))
        if missing:
            raise RouterError(f"no handler function for: {', '.join(missing)}")
        clients = Clients(endpoint_url)
        routed = regions[:1] if forward else regions
        routes = [
            _create_route(rule, region, clients, functions[rule.handler], max_attempts)
            for region in routed
            for rule in self.rules
            if rule.in_every_region or region == regions[0]
        ]
        self.account = routes[0].account  # the home (central) account
        prefix = (
            os.environ.get(WORK_QUEUE_PREFIX, "")
            if work_queue_prefix is None
            else work_queue_prefix
        )
        self.work_queue_prefix = prefix
        self._max_concurrency = max_concurrency
        self._work_handler = work_handler or _stack_worker
        if prefix:
            for region in regions:
                _create_work_queue(clients, regions[0], f"{prefix}-{region}", max_receive_count)
        work = WorkQueuePump(
            lambda region: clients.get("sqs", region),
            discover=(lambda: self._work_queues(clients, regions[0])) if prefix else None,
            retry_at_once=retry_at_once,
        )
        super().__init__(clients, regions, routes, work=work)
        if forward:
            for region in regions[1:]:
                self._forward_to_home("", region)

    def follow(self, account: str, region: str, *, forward: bool = False) -> None:
        """Emit the stack status events of `account` ("" for the home account) in `region`
        on that account's default bus there, as CloudFormation does; with `forward`, also
        make the rules that send the managed stacks' events on to the home region's default
        bus, as infra/member-account.yml does (skip it when that stack is deployed)."""
        super().follow(account, region)
        if forward:
            self._forward_to_home(account, region)

    def _forward_to_home(self, account: str, region: str) -> None:
        """A forwarding rule per CloudFormation rule, with its pattern, on the default bus of
        `account` in `region`, targeting the home region's default bus."""
        events = self._clients.get("events", region, account)
        home_bus = f"arn:aws:events:{self.regions[0]}:{self.account}:event-bus/default"
        for rule in self.rules:
            if not rule.in_every_region or rule.event_pattern is None:
                continue
            name = rule.name + _FORWARD_SUFFIX
            events.put_rule(Name=name, EventPattern=json.dumps(rule.event_pattern))
            events.put_targets(Rule=name, Targets=[{"Id": "home-bus", "Arn": home_bus}])

    def _work_queues(self, clients: Clients, home: str) -> list[SqsMapping]:
        """The mappings of the work queues in the home region now: `<prefix>-<region>.fifo`."""
        sqs = clients.get("sqs", home)
        named = re.compile(re.escape(self.work_queue_prefix) + rf"-({_REGION})\.fifo")
        found = []
        for queue_url in sqs.list_queues(QueueNamePrefix=self.work_queue_prefix).get(
            "QueueUrls", []
        ):
            if not named.fullmatch(queue_url.rsplit("/", 1)[-1]):
                continue
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
            found.append(
                SqsMapping(
                    queue_url=queue_url,
                    queue_arn=arn["Attributes"]["QueueArn"],
                    function=self._work_handler,
                    function_name="gitops-stack-worker",
                    handler=STACK_WORKER,
                    max_concurrency=self._max_concurrency,
                )
            )
        return found


def _stack_worker(event: dict[str, Any], context: Any) -> Any:
    """`handlers.stack_worker.handler`, imported when first called."""
    return importlib.import_module(f"handlers.{STACK_WORKER}").handler(event, context)


def _create_work_queue(clients: Clients, home: str, name: str, max_receive_count: int) -> None:
    """A FIFO work queue and its dead-letter queue in the home region, unless it exists."""
    sqs = clients.get("sqs", home)
    try:
        sqs.get_queue_url(QueueName=f"{name}.fifo")
        return
    except sqs.exceptions.QueueDoesNotExist:
        pass
    fifo = {"FifoQueue": "true"}
    dead = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes=fifo)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": max_receive_count,
    }
    sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes=fifo
        | {
            "VisibilityTimeout": str(_WORK_VISIBILITY_TIMEOUT_S),
            "RedrivePolicy": json.dumps(redrive),
        },
    )


class Clients:
    """boto3 clients for the local AWS, one per service, region and account: the home
    account's with the `testing` keys, another account's acting there as an AWS service
    does (`localaws.accounts.in_account`)."""

    def __init__(self, endpoint_url: str) -> None:
        self._endpoint_url = endpoint_url
        self._made: dict[tuple[str, str, str], Any] = {}

    def get(self, service: str, region: str, account: str = "") -> Any:
        if (service, region, account) not in self._made:
            client = boto3.client(
                service,
                endpoint_url=self._endpoint_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            )
            self._made[service, region, account] = (
                in_account(client, account) if account else client
            )
        return self._made[service, region, account]


def tap_queue(clients: Clients, region: str, rule_name: str) -> tuple[str, str]:
    """(URL, ARN) of the queue a rule's events are collected in, made if missing."""
    sqs = clients.get("sqs", region)
    queue_url = sqs.create_queue(QueueName=(_QUEUE_PREFIX + rule_name)[:80])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return queue_url, attributes["Attributes"]["QueueArn"]


def _create_route(
    rule: Rule, region: str, clients: Clients, function: Handler, max_attempts: int
) -> Route:
    """The rule on the region's default bus, targeting a queue of its own."""
    events = clients.get("events", region)
    queue_url, queue_arn = tap_queue(clients, region, rule.name)
    if rule.event_pattern is not None:
        rule_arn = events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.event_pattern))
        events.put_targets(Rule=rule.name, Targets=[{"Id": "router-queue", "Arn": queue_arn}])
    else:
        # No target: moto would send it every event on the bus (see the module docstring).
        rule_arn = events.put_rule(Name=rule.name, ScheduleExpression=rule.schedule_expression)
    return Route(
        rule_name=rule.name,
        handler=rule.handler,
        function=function,
        function_name=f"gitops-{rule.handler}",
        region=region,
        queue_url=queue_url,
        account=queue_arn.split(":")[4],  # arn:aws:sqs:<region>:<account>:<name>
        rule_arn=rule_arn["RuleArn"],
        scheduled=rule.schedule_expression is not None,
        max_attempts=max_attempts,
    )


def _as_delivered(body: str, account: str) -> dict[str, Any] | None:
    """The event as EventBridge hands it to a target, from the body moto's SQS target wrote
    (`account` filled in if missing); None when the body is no EventBridge event."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or not {"id", "detail-type", "source"} <= event.keys():
        return None
    event.setdefault("account", account)
    ordered = {key: event[key] for key in _EVENT_KEYS if key in event}
    return ordered | {key: value for key, value in event.items() if key not in ordered}


def _delivery(
    route: Route,
    event: Mapping[str, Any],
    attempt: int,
    status: str,
    reason: str,
    result: Mapping[str, Any] | None = None,
) -> Delivery:
    subject = _subject(event)
    account, region = str(event.get("account", "")), str(event.get("region", ""))
    if account and region and (account, region) != (route.account, route.region):
        subject += f" in {account}/{region}"  # forwarded from another account or region
    return Delivery(
        rule=route.rule_name,
        handler=route.handler,
        region=route.region,
        event_id=str(event.get("id", "")),
        detail_type=str(event.get("detail-type", "")),
        subject=subject,
        attempt=attempt,
        status=status,
        reason=reason,
        result=dict(result or {}),
    )


def _work_delivery(invocation: Invocation) -> Delivery:
    """A work queue invocation, as the deliveries list shows it."""
    return Delivery(
        rule=invocation.queue,
        handler=invocation.handler,
        region=invocation.region,
        event_id=",".join(invocation.message_ids),
        detail_type="SQS Message",
        subject=invocation.subject,
        attempt=invocation.attempt,
        status=invocation.status,
        reason=invocation.reason,
        result=invocation.result,
    )


def _place(account: str, region: str) -> str:
    return f"{account}/{region}" if account else region


def _subject(event: Mapping[str, Any]) -> str:
    """What an event is about, in a few words."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, Mapping) else {}
    detail_type = str(event.get("detail-type", "?"))
    stack_id = str(detail.get("stack-id", ""))
    stack = stack_id.split(":", 5)[-1].split("/")[1] if stack_id.count("/") >= 2 else stack_id
    status = detail.get("status-details")
    status = status if isinstance(status, Mapping) else {}
    if detail_type == STACK_STATUS_CHANGE:
        return f"{stack} {status.get('status', '?')}"
    if detail_type == DRIFT_STATUS_CHANGE:
        return f"{stack} {status.get('stack-drift-status', '?')}"
    if detail_type == GIT_PUSH:
        return f"{GIT_PUSH} {detail.get('ref', '?')} {str(detail.get('after', ''))[:12]}".strip()
    if detail_type == API_CALL:
        service = str(detail.get("eventSource", "?")).split(".", 1)[0]
        return f"{service}:{detail.get('eventName', '?')} (CloudTrail)"
    if detail_type == CODECOMMIT_CHANGE:
        reference = f"{detail.get('repositoryName', '?')} {detail.get('referenceName', '?')}"
        return f"CodeCommit {detail.get('event', '?')} {reference}"
    return detail_type
