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

Stand-in details: moto's SQS target drops the event's `account`, which the router puts back
(from the queue's ARN); a scheduled rule never fires, and a target on it would receive
every event on the bus (moto matches an empty pattern to everything), so the schedule rule
has no target and `fire_schedule()` sends the tick to its queue. Retries come at once, not
after Lambda's minutes of back-off.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from handlers.routes import (
    CODECOMMIT_CHANGE,
    DEFAULT_SCHEDULE,
    DRIFT_STATUS_CHANGE,
    GIT_PUSH,
    HANDLERS,
    STACK_STATUS_CHANGE,
    Rule,
    rules,
)
from localaws.bus_emitter import StackEventEmitter
from localaws.lambda_context import LambdaContext
from reconciler.errors import ReconcilerError

Handler = Callable[[dict[str, Any], Any], Any]

MAX_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
DEFAULT_TIMEOUT_S = 60.0
_POLL_INTERVAL_S = 0.05
_QUEUE_PREFIX = "localaws-router-"
_SQS_BATCH = 10
# Long enough that a handler finishes before its message could be received again.
_VISIBILITY_TIMEOUT_S = 900
# The keys of an EventBridge event, in the order AWS writes them.
_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region")
_EVENT_KEYS += ("resources", "detail")

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
class _Route:
    """A rule as created in one region, with the queue its events land in."""

    rule: Rule
    region: str
    queue_url: str
    account: str
    rule_arn: str


def real_handlers() -> dict[str, Handler]:
    """The handler functions of `handlers/`, by the name the rules target."""
    return {name: importlib.import_module(f"handlers.{name}").handler for name in HANDLERS}


class EventRouter:
    """Routes the local AWS's bus events to the handlers by `handlers.routes`' rules.

    `regions[0]` is the home region (pushes, the schedule); stack and drift events are
    followed in every region listed. Stack events from before the router was made are not
    sent. `handlers` maps each handler name to a function (default: the real ones).
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
    ) -> None:
        regions = (regions,) if isinstance(regions, str) else tuple(regions)
        if not regions:
            raise RouterError("the event router needs at least one region")
        self._handlers = dict(handlers) if handlers is not None else real_handlers()
        missing = sorted(set(HANDLERS) - set(self._handlers))
        if missing:
            raise RouterError(f"no handler function for: {', '.join(missing)}")
        self._max_attempts = max_attempts
        self.regions = regions
        self.rules = tuple(rules(stack_prefix, repository, schedule))
        self.deliveries: list[Delivery] = []
        self.dead_letters: list[DeadLetter] = []
        clients = _Clients(endpoint_url)
        self._sqs = {region: clients.get("sqs", region) for region in self.regions}
        self._routes = [
            _create_route(rule, region, clients)
            for region in self.regions
            for rule in self.rules
            if rule.in_every_region or region == self.regions[0]
        ]
        self._emitters = {
            region: StackEventEmitter(
                clients.get("cloudformation", region), clients.get("events", region)
            )
            for region in self.regions
        }

    def rule_names(self, region: str) -> list[str]:
        """The rules the router made on the region's default bus."""
        return [route.rule.name for route in self._routes if route.region == region]

    # --- driving ---------------------------------------------------------------------------

    def run_until_idle(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Delivery]:
        """Pump until no stack operation is running, no new event came and every queue is
        empty; returns the deliveries made. Raises RouterTimeoutError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        first = len(self.deliveries)
        while True:
            emitted = sum(len(emitter.emit()) for emitter in self._emitters.values())
            delivered = self._deliver_queued()
            busy = {} if emitted or delivered else self._stacks_in_progress()
            if not (emitted or delivered or busy):
                return self.deliveries[first:]
            if time.monotonic() >= deadline:
                raise RouterTimeoutError(
                    f"events still in flight after {timeout_s:g} s: {self._in_flight(busy)}"
                )
            if not (emitted or delivered):
                time.sleep(_POLL_INTERVAL_S)  # a stack is still settling

    def fire_schedule(self) -> dict[str, Any]:
        """A tick of the schedule rule: its "Scheduled Event" goes to the rule's target, to be
        delivered by the next pump. Returns the event."""
        route = next(r for r in self._routes if r.rule.schedule_expression is not None)
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

    def _deliver(self, route: _Route, message: dict[str, Any]) -> Delivery:
        sqs = self._sqs[route.region]
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        event = _as_delivered(message["Body"], route.account)
        if event is None:  # nothing EventBridge could have sent: no handler would take it
            error = "the message is not an EventBridge event"
            return self._dead_letter(route, message, {"body": message["Body"]}, error, attempt)
        try:
            result = self._handlers[route.rule.handler](
                copy.deepcopy(event), LambdaContext(function_name=f"gitops-{route.rule.handler}")
            )
        except Exception as exc:  # Lambda catches everything a handler raises
            logger.info("%s raised on event %s", route.rule.handler, event["id"], exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= self._max_attempts:
                return self._dead_letter(route, message, event, error, attempt)
            sqs.change_message_visibility(
                QueueUrl=route.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
            reason = f"{error} (attempt {attempt} of {self._max_attempts}; tried again)"
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
        route: _Route,
        message: dict[str, Any],
        event: dict[str, Any],
        error: str,
        attempt: int,
    ) -> Delivery:
        self._sqs[route.region].delete_message(
            QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        self.dead_letters.append(
            DeadLetter(route.rule.name, route.rule.handler, route.region, event, error, attempt)
        )
        reason = f"{error} (attempt {attempt} of {self._max_attempts})"
        return _delivery(route, event, attempt, "dead-lettered", reason)

    # --- what is still going on ------------------------------------------------------------

    def _stacks_in_progress(self) -> dict[str, dict[str, str]]:
        busy = {region: emitter.stacks_in_progress() for region, emitter in self._emitters.items()}
        return {region: stacks for region, stacks in busy.items() if stacks}

    def _in_flight(self, busy: dict[str, dict[str, str]]) -> str:
        found = [
            f"stack {name} {status} in {region}"
            for region, stacks in (busy or self._stacks_in_progress()).items()
            for name, status in sorted(stacks.items())
        ]
        for route in self._routes:
            attributes = self._sqs[route.region].get_queue_attributes(
                QueueUrl=route.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            waiting = int(attributes.get("ApproximateNumberOfMessages", "0"))
            if waiting:
                found.append(f"{waiting} event(s) for rule {route.rule.name} in {route.region}")
        return "; ".join(found) or "handlers kept producing new events"


class _Clients:
    """boto3 clients for the local AWS, one per service and region."""

    def __init__(self, endpoint_url: str) -> None:
        self._endpoint_url = endpoint_url
        self._made: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str) -> Any:
        if (service, region) not in self._made:
            self._made[service, region] = boto3.client(
                service,
                endpoint_url=self._endpoint_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token="testing",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            )
        return self._made[service, region]


def _create_route(rule: Rule, region: str, clients: _Clients) -> _Route:
    """The rule on the region's default bus, targeting a queue of its own."""
    sqs, events = clients.get("sqs", region), clients.get("events", region)
    queue_url = sqs.create_queue(QueueName=_QUEUE_PREFIX + rule.name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    if rule.event_pattern is not None:
        rule_arn = events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.event_pattern))
        events.put_targets(Rule=rule.name, Targets=[{"Id": "router-queue", "Arn": queue_arn}])
    else:
        # No target: moto would send it every event on the bus (see the module docstring).
        rule_arn = events.put_rule(Name=rule.name, ScheduleExpression=rule.schedule_expression)
    account = queue_arn.split(":")[4]  # arn:aws:sqs:<region>:<account>:<name>
    return _Route(rule, region, queue_url, account, rule_arn["RuleArn"])


def _as_delivered(body: str, account: str) -> dict[str, Any] | None:
    """The event as EventBridge hands it to a target, from the body moto's SQS target wrote
    (which lacks `account`); None when the body is no EventBridge event."""
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
    route: _Route,
    event: Mapping[str, Any],
    attempt: int,
    status: str,
    reason: str,
    result: Mapping[str, Any] | None = None,
) -> Delivery:
    return Delivery(
        rule=route.rule.name,
        handler=route.rule.handler,
        region=route.region,
        event_id=str(event.get("id", "")),
        detail_type=str(event.get("detail-type", "")),
        subject=_subject(event),
        attempt=attempt,
        status=status,
        reason=reason,
        result=dict(result or {}),
    )


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
    if detail_type == CODECOMMIT_CHANGE:
        reference = f"{detail.get('repositoryName', '?')} {detail.get('referenceName', '?')}"
        return f"CodeCommit {detail.get('event', '?')} {reference}"
    return detail_type
