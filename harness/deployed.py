"""The local event path through a deployed infra/bootstrap.yml stack: its rules, its
functions, their environments, and its function URL.

AWS behaviour: the bootstrap stack's EventBridge rules invoke its Lambda functions
asynchronously with the events their deployed patterns match; each function runs its
Handler with the Environment the template gave it, is retried as its EventInvokeConfig
says (MaximumRetryAttempts, 2 by default) and then sends the event to its DeadLetterConfig
target; the schedule rule invokes its function at each tick; a request to the webhook's
function URL invokes the webhook function with a version 2.0 HTTP event, and the function's
answer becomes the HTTP response. An SQS event source mapping's pollers invoke its function
with batches of the queue's messages, at most ScalingConfig.MaximumConcurrency at once.

moto deploys the stack (with localaws's `cfn_*` extensions) but runs no function without
Docker, and serves no function URL. `DeployedRouter` reads what was deployed instead of
`handlers/routes.py`: the stack's AWS::Events::Rule resources and their Lambda targets, each
target function's configuration (GetFunctionConfiguration: Handler, Environment,
DeadLetterConfig; GetFunctionEventInvokeConfig) and the stack's AWS::Lambda::Url. It adds an
SQS queue target (a tap) to each pattern rule, so moto's matching of the deployed pattern
decides what is delivered, and pumps as `harness.router.EventPump` does. Each SQS event
source mapping of the stack (GetEventSourceMapping: queue, function, BatchSize,
ScalingConfig.MaximumConcurrency, which moto keeps, else the function's reserved
concurrency; FunctionResponseTypes) is pumped by `harness.work_queues`. Each handler runs
in this process with its function's environment: the variables any deployed function sets
come from the function alone (a value the test process happens to hold never leaks in),
AWS_REGION is the function's region, and `environment` adds what the template cannot say
(say GITHUB_API_URL for a fake GitHub). The process environment is put back after every
call, and the handlers' cached clients and services are dropped before and after, so each
call builds them from its own function's environment. A work queue's function runs in
threads, so its environment is applied once for as long as any of its invocations runs,
and no rule's event is delivered meanwhile.

Differences that remain: the variables the template does not set (AWS_ENDPOINT_URL and the
credentials for the local AWS) come from the process, not from Lambda; objects the handler
modules build at import (Powertools' logger, metrics, tracer) keep the process's settings;
rule inputs (Input, InputPath, InputTransformer) are refused, not applied; the bootstrap
stack's rules are in one region, so stack events of other regions are not routed, as on
AWS; retries come at once; MaximumEventAgeInSeconds is not applied; a function URL with
AuthType AWS_IAM answers 403, since the request is not signed.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions

from harness.router import (
    MAX_ATTEMPTS,
    Clients,
    EventPump,
    Handler,
    Route,
    RouterError,
    tap_queue,
)
from harness.work_queues import (
    DEFAULT_MAX_CONCURRENCY,
    REPORT_BATCH_ITEM_FAILURES,
    SqsMapping,
    WorkQueuePump,
)
from localaws.lambda_context import LambdaContext

_TAP_ID = "harness-tap"
# Statuses in which the stack's resources are those of its last good template.
_DEPLOYED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


@dataclass(frozen=True)
class Function:
    """A deployed Lambda function, as its configuration says."""

    name: str
    arn: str
    region: str
    handler: str  # as configured, e.g. "handlers.push.handler"
    environment: Mapping[str, str]
    max_attempts: int = MAX_ATTEMPTS
    dead_letter_arn: str | None = None

    @property
    def handler_name(self) -> str:
        """The handler module's name under handlers/ ("push"), or the whole Handler."""
        module = self.handler.rpartition(".")[0]
        return module.removeprefix("handlers.") if module.startswith("handlers.") else module


@dataclass(frozen=True)
class HttpResponse:
    """What the function URL answers: the function's result as Lambda turns it into HTTP."""

    status_code: int
    headers: Mapping[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class DeployedRouter(EventPump):
    """Routes the local AWS's bus events through the functions of the deployed stack
    `stack_name` in `region`. `environment` is added to every function's environment;
    `retry_at_once` makes a work queue's failed item visible again at once."""

    def __init__(
        self,
        endpoint_url: str,
        stack_name: str,
        region: str = "us-east-1",
        *,
        environment: Mapping[str, str] | None = None,
        retry_at_once: bool = False,
    ) -> None:
        clients = Clients(endpoint_url)
        self.stack_name = stack_name
        resources = _stack_resources(clients.get("cloudformation", region), stack_name)
        functions = _Functions(clients.get("lambda", region), region)
        for name in resources.get("AWS::Lambda::Function", []):
            functions.get(name)
        urls = resources.get("AWS::Lambda::Url", [])  # physical id: the function's ARN
        self.webhook = functions.get(urls[0]) if urls else None
        self.webhook_url = _url_of(clients.get("lambda", region), urls[0]) if urls else None
        mappings = [
            mapping
            for uuid_ in resources.get("AWS::Lambda::EventSourceMapping", [])
            if (mapping := _event_source_mapping(clients, region, uuid_, functions)) is not None
        ]
        self._variables = _Variables(functions.seen(), environment or {})
        routes = [
            route
            for physical_id in resources.get("AWS::Events::Rule", [])
            for route in _tap_rule(clients, region, physical_id, functions, self._variables)
        ]
        work = WorkQueuePump(
            lambda where: clients.get("sqs", where),
            [mapping.as_pumped(self._variables) for mapping in mappings],
            retry_at_once=retry_at_once,
        )
        super().__init__(clients, (region,), routes, work=work, exclusive_work=True)

    def post_webhook(self, body: bytes | str, headers: Mapping[str, str]) -> HttpResponse:
        """POST `body` with `headers` to the stack's function URL: the webhook function runs
        with the event Lambda would give it, and its answer comes back as HTTP."""
        if self.webhook is None or self.webhook_url is None:
            raise RouterError(f"stack {self.stack_name} has no function URL")
        url, auth_type = self.webhook_url
        if auth_type != "NONE":
            return HttpResponse(
                403, {"content-type": "application/json"}, '{"Message":"Forbidden"}'
            )
        raw = body.encode() if isinstance(body, str) else body
        function = _run_as(self.webhook, self._variables)
        result = function(_url_event(url, raw, headers), LambdaContext(self.webhook.name))
        return _http_response(result)


# --- reading what was deployed --------------------------------------------------------------


def _stack_resources(cloudformation: Any, stack_name: str) -> dict[str, list[str]]:
    """Resource type -> physical ids, of a stack whose last operation succeeded."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.ClientError as err:
        message = err.response.get("Error", {}).get("Message") or str(err)
        raise RouterError(f"cannot read stack {stack_name}: {message}") from None
    if stack["StackStatus"] not in _DEPLOYED:
        raise RouterError(f"stack {stack_name} is {stack['StackStatus']}, not deployed")
    found: dict[str, list[str]] = {}
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
    for page in pages:
        for resource in page["StackResourceSummaries"]:
            if resource.get("PhysicalResourceId"):
                found.setdefault(resource["ResourceType"], []).append(
                    resource["PhysicalResourceId"]
                )
    return found


class _Functions:
    """The deployed functions' configurations, read once each."""

    def __init__(self, lambda_client: Any, region: str) -> None:
        self._lambda = lambda_client
        self._region = region
        self._read: dict[str, Function] = {}

    def get(self, name_or_arn: str) -> Function:
        # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        name = name_or_arn.split(":")[6] if name_or_arn.startswith("arn:") else name_or_arn
        if name not in self._read:
            self._read[name] = self._configuration(name)
        return self._read[name]

    def seen(self) -> list[Function]:
        return list(self._read.values())

    def _configuration(self, name_or_arn: str) -> Function:
        config = self._lambda.get_function_configuration(FunctionName=name_or_arn)
        try:
            invoke = self._lambda.get_function_event_invoke_config(FunctionName=name_or_arn)
            retries = int(invoke.get("MaximumRetryAttempts", MAX_ATTEMPTS - 1))
        except self._lambda.exceptions.ResourceNotFoundException:
            retries = MAX_ATTEMPTS - 1  # Lambda's default for asynchronous invocations
        return Function(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            region=self._region,
            handler=config.get("Handler") or "",
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            max_attempts=1 + retries,
            dead_letter_arn=config.get("DeadLetterConfig", {}).get("TargetArn"),
        )


def _tap_rule(
    clients: Clients,
    region: str,
    physical_id: str,
    functions: _Functions,
    variables: _Variables,
) -> Iterator[Route]:
    """A route per Lambda function the rule targets, each with a queue of its own; a pattern
    rule gets the queue as a target too, so that moto's matching decides what reaches it."""
    bus, _, name = physical_id.rpartition("|")  # a rule on a named bus: "<bus>|<rule>"
    on_bus = {"EventBusName": bus} if bus else {}
    events = clients.get("events", region)
    rule = events.describe_rule(Name=name, **on_bus)
    if rule.get("State", "ENABLED") != "ENABLED":
        return
    targets = events.list_targets_by_rule(Rule=name, **on_bus)["Targets"]
    scheduled = "ScheduleExpression" in rule
    for target in targets:
        if ":lambda:" not in target["Arn"] or ":function:" not in target["Arn"]:
            continue
        if {"Input", "InputPath", "InputTransformer"} & target.keys():
            raise RouterError(f"rule {name}: target {target['Id']} rewrites the event")
        function = functions.get(target["Arn"])
        queue_url, queue_arn = tap_queue(clients, region, f"{name}-{target['Id']}")
        if not scheduled:  # moto would send every event on the bus to a schedule's target
            tap = {"Id": f"{_TAP_ID}-{target['Id']}"[:64], "Arn": queue_arn}
            events.put_targets(Rule=name, Targets=[tap], **on_bus)
        yield Route(
            rule_name=name,
            handler=function.handler_name,
            function=_run_as(function, variables),
            function_name=function.name,
            region=region,
            queue_url=queue_url,
            account=queue_arn.split(":")[4],
            rule_arn=rule["Arn"],
            scheduled=scheduled,
            max_attempts=function.max_attempts,
            dead_letter_arn=function.dead_letter_arn,
        )


@dataclass(frozen=True)
class _Mapping:
    """A deployed SQS event source mapping, as GetEventSourceMapping says."""

    queue_url: str
    queue_arn: str
    function: Function
    batch_size: int
    max_concurrency: int
    report_batch_item_failures: bool

    def as_pumped(self, variables: _Variables) -> SqsMapping:
        """The mapping for the work-queue pump: the function's handler, run under the
        function's environment (applied once for all the threads running it)."""
        return SqsMapping(
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            function=_import(self.function.handler),
            function_name=self.function.name,
            handler=self.function.handler_name,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            report_batch_item_failures=self.report_batch_item_failures,
            phase=functools.partial(variables.applied, self.function),
        )


def _event_source_mapping(
    clients: Clients, region: str, uuid_: str, functions: _Functions
) -> _Mapping | None:
    """An enabled mapping from an SQS queue; None for any other. Its concurrency is its
    ScalingConfig's MaximumConcurrency, else the function's reserved concurrency, else the
    pump's default."""
    lambda_client = clients.get("lambda", region)
    mapping = lambda_client.get_event_source_mapping(UUID=uuid_)
    arn = str(mapping.get("EventSourceArn", "")).split(":")  # arn:aws:sqs:<region>:<acct>:<name>
    if len(arn) != 6 or arn[2] != "sqs" or mapping.get("State", "Enabled") != "Enabled":
        return None
    function = functions.get(mapping["FunctionArn"])
    concurrency = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
    if concurrency is None:
        reserved = lambda_client.get_function_concurrency(FunctionName=function.name)
        concurrency = reserved.get("ReservedConcurrentExecutions", DEFAULT_MAX_CONCURRENCY)
    sqs = clients.get("sqs", arn[3])
    queue_url = sqs.get_queue_url(QueueName=arn[5], QueueOwnerAWSAccountId=arn[4])["QueueUrl"]
    return _Mapping(
        queue_url=queue_url,
        queue_arn=mapping["EventSourceArn"],
        function=function,
        batch_size=int(mapping.get("BatchSize", 10)),
        max_concurrency=int(concurrency),
        report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES
        in mapping.get("FunctionResponseTypes", []),
    )


def _url_of(lambda_client: Any, function_arn: str) -> tuple[str, str]:
    """(URL, AuthType) of a function URL."""
    config = lambda_client.get_function_url_config(FunctionName=function_arn)
    return config["FunctionUrl"], config["AuthType"]


def _import(handler: str) -> Handler:
    """The function a Handler setting names ("handlers.push.handler")."""
    module, _, attribute = handler.rpartition(".")
    if not module:
        raise RouterError(f"handler {handler!r} is not MODULE.FUNCTION")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as err:
        raise RouterError(f"handler {handler!r} cannot be imported: {err}") from None


# --- running a handler as its function ------------------------------------------------------


class _Variables:
    """Applies one function's environment to this process for the length of a call."""

    def __init__(self, functions: list[Function], extra: Mapping[str, str]) -> None:
        # Any variable a deployed function sets is the function's to say.
        self._owned = {name for function in functions for name in function.environment}
        self._extra = dict(extra)

    @contextmanager
    def applied(self, function: Function) -> Iterator[None]:
        saved = dict(os.environ)
        for name in self._owned:
            os.environ.pop(name, None)
        os.environ.update(function.environment)
        os.environ.update({"AWS_REGION": function.region, "AWS_DEFAULT_REGION": function.region})
        os.environ.update(self._extra)
        _forget_cached_clients()
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _forget_cached_clients()


def _forget_cached_clients() -> None:
    """The handlers build their services, source, idempotency store, secrets and boto3
    clients once per container, from the environment: a call as another function must build
    its own."""
    from handlers import idempotency, runtime
    from reconciler.aws import session
    from reconciler.aws.secrets import forget_secrets

    runtime.services.cache_clear()
    runtime.source.cache_clear()
    idempotency.reset()
    forget_secrets()
    session.reset_clients()


def _run_as(function: Function, variables: _Variables) -> Handler:
    """The function's handler, run with the function's environment."""
    handler = _import(function.handler)

    def call(event: dict[str, Any], context: Any) -> Any:
        with variables.applied(function):
            return handler(event, context)

    return call


# --- the function URL ------------------------------------------------------------------------


def _url_event(url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The version 2.0 event Lambda gives a function for a POST to its URL's root."""
    host = urlsplit(url).netloc
    lowered = {name.lower(): str(value) for name, value in headers.items()}
    lowered.setdefault("content-length", str(len(body)))
    lowered.update({"host": host, "x-forwarded-proto": "https", "x-forwarded-port": "443"})
    lowered.setdefault("x-forwarded-for", "127.0.0.1")
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": lowered,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": host.split(".")[0],
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": lowered["x-forwarded-for"],
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _http_response(result: Any) -> HttpResponse:
    """Lambda's reading of a function URL's result: a dict with statusCode is the response;
    anything else is a 200 whose body is the result as JSON."""
    if isinstance(result, Mapping) and "statusCode" in result:
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        return HttpResponse(int(result["statusCode"]), headers, str(body))
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result))
