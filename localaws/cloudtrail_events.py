"""Stand-in for the "AWS API Call via CloudTrail" events that AWS puts on the default
EventBridge bus, and a way to read them without a bus.

AWS behaviour:

- With a CloudTrail trail logging, every management API call made in an account and region
  goes, as an event with detail type "AWS API Call via CloudTrail", to that account's
  default bus in that region: "To record events with a detail-type value of AWS API Call
  via CloudTrail, a CloudTrail trail with logging enabled is required"
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/event-types.html). A trail logs
  the events of its own region, or of every region when it is multi-Region, and by default
  "all read and write management events, and no data events"; its event selectors can
  narrow that to read-only or write-only events or exclude event sources
  (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html,
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html).
  Events of global services such as IAM are logged in us-east-1
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-global-service-events).
- Rules match read-only management events (Describe*, Get*, List*, and a few others such as
  EventBridge's TestEventPattern) only in the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-management-event-list.html).
  Among the read-only events are STS's AssumeRole family and AWS KMS's cryptographic
  operations (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, GenerateRandom, GenerateMac,
  Sign, Verify, VerifyMac, DeriveSharedSecret).
- Data events are not management events and are logged only when a trail selects them
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html):
  S3 object calls, Lambda Invoke, DynamoDB item calls (GetItem, PutItem, UpdateItem,
  DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem, TransactGetItems,
  TransactWriteItems and the PartiQL calls), SNS Publish and PublishBatch, SQS message calls
  (SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility and their batches:
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-logging-using-cloudtrail.html),
  EventBridge PutEvents, Kinesis PutRecord(s). CloudWatch Logs' PutLogEvents is not a
  management event either
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/logging_cw_api_calls_cwl.html).
- The event: `source` "aws.<service>", `account`, `region`, `time`, `resources` [], and as
  `detail` the CloudTrail record
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html,
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html):
  eventVersion, userIdentity (an IAM user: type IAMUser, principalId, arn, accountId,
  accessKeyId, userName; a role session: type AssumedRole, principalId `AROA...:<session>`,
  the `assumed-role` ARN, accountId, accessKeyId and a sessionContext with the role as
  sessionIssuer and the session's creationDate), eventTime (to the second), eventSource
  ("ec2.amazonaws.com"), eventName (the API operation), awsRegion, sourceIPAddress,
  userAgent, requestParameters (the request's parameters, member names in lower camel case,
  EC2's lists as `{"items": [...]}` under EC2's own names, such as `ipPermissions` or
  `resourcesSet`), responseElements, requestID, eventID, readOnly, eventType "AwsApiCall",
  managementEvent, recipientAccountId, eventCategory "Management". Secret parameters
  (passwords, secret strings, tokens) are written as "HIDDEN_DUE_TO_SECURITY_REASONS".

moto 5.2.5 records no CloudTrail events and sends none to EventBridge.

`install()` makes every request moto serves (through the server or in-process) that ends
with a 2xx answer send the CloudTrail-shaped event when it is a write management call and
a logging trail of the request's account covers its region and selects management write
events: the event goes on the default bus of moto's EventBridge in the account and region
moto served the request in (the key's account, or the `x-moto-account-id` header's), where
rules route it, and to `CloudTrailEvents` pollers. The caller is who GetCallerIdentity says
it is (`localaws.sts_trust.identify`): the IAM user whose key signed the request, the role
session whose temporary key did, or moto's default user `moto`, shown as an IAM user. The
request is read with the operation's botocore model, so numbers and booleans are typed and
EC2's `IpPermissions.1.IpRanges.1.CidrIp` comes out nested. The work is done only for write
calls of an account with a trail; a failure to send is logged as a warning and never fails
the request. `ENABLED = False` turns it off.

Reading them without a bus: `CloudTrailEvents().poll()` returns the events sent since the
previous poll (the first poll: since the poller was made), oldest first, each once per
poller, with the id the bus gave them. The record lives in the process that runs the local
AWS and is not cleared by a reset.

Not modelled:
- Calls that fail: AWS records them with errorCode and errorMessage; here no event.
- Calls the local AWS makes itself (its CloudFormation creating or updating a stack's
  resources, drift reverts) are not requests to it and send nothing; on AWS they appear
  with `invokedBy: cloudformation.amazonaws.com`. No `invokedBy` at all, no root user,
  federated users or Identity Center sessions; `mfaAuthenticated` is always "false".
- S3 is served by moto outside the dispatch this hooks: no S3 call sends an event.
- responseElements is always null; `resources`, `tlsDetails`, `sessionCredentialFromConsole`
  and `additionalEventData` are absent. Lambda's eventName is the bare operation name (AWS
  appends the API version, such as CreateFunction20150331). EC2's list names follow EC2's
  pattern but a few differ from AWS's (TerminateInstances' `instanceIdsSet` is AWS's
  `instancesSet`). Parameters are hidden by the shape's `sensitive` trait or by their name.
- No STS call sends an event, GetSessionToken and GetFederationToken included (an earlier
  version of the EventBridge page above calls those two change events).
- Rules in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS get no read-only events; data
  event selectors send nothing; Insights, organization trails and CloudTrail Lake event
  data stores are not modelled; the trail's S3 bucket receives no log files; events are
  sent at once (AWS: best effort, minutes late) and in order.

This module imports moto only when a request is served, so a client-side poller pays nothing.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from localaws.sent_events import Poller, Sent, iso8601

logger = logging.getLogger(__name__)

ENABLED = True
DETAIL_TYPE = "AWS API Call via CloudTrail"
EVENT_VERSION = "1.09"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

_INSTALLED_MARK = "_localaws_cloudtrail_events"
_sent = Sent()  # every event sent, oldest first

# Operations whose name makes them read-only (CloudTrail `readOnly: true`), KMS's
# cryptographic operations among them.
READ_ONLY_PREFIXES = (
    "Describe",
    "Get",
    "List",
    "Head",
    "BatchGet",
    "Lookup",
    "Search",
    "Select",
    "Scan",
    "Query",
    "Test",
    "Validate",
    "Estimate",
    "Simulate",
    "Filter",
    "Download",
    "Receive",
    "Verify",
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateRandom",
    "GenerateMac",
    "Sign",
    "DeriveSharedSecret",
)
# Services none of whose calls is sent: STS's calls are read-only management events.
NOT_SENT_SERVICES = frozenset({"sts"})
# Data events by endpoint prefix (the service part of eventSource).
DATA_EVENTS: dict[str, frozenset[str]] = {
    "dynamodb": frozenset(
        {
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "TransactGetItems",
            "TransactWriteItems",
            "ExecuteStatement",
            "BatchExecuteStatement",
            "ExecuteTransaction",
        }
    ),
    "lambda": frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"}),
    "sqs": frozenset(
        {
            "SendMessage",
            "SendMessageBatch",
            "ReceiveMessage",
            "DeleteMessage",
            "DeleteMessageBatch",
            "ChangeMessageVisibility",
            "ChangeMessageVisibilityBatch",
        }
    ),
    "sns": frozenset({"Publish", "PublishBatch"}),
    "events": frozenset({"PutEvents", "PutPartnerEvents"}),
    "logs": frozenset({"PutLogEvents"}),
    "kinesis": frozenset({"PutRecord", "PutRecords"}),
}
GLOBAL_SERVICES = frozenset({"iam", "cloudfront", "route53", "organizations"})
_SOURCE_NAMES = {"monitoring": "cloudwatch", "email": "ses"}  # endpoint prefix -> aws.<name>
# Names of string parameters whose value CloudTrail hides (besides shapes marked `sensitive`):
# MasterUserPassword, SecretString, AuthToken, but not ManageMasterUserPassword (a boolean)
# nor AuthTokenUpdateStrategy.
_SECRET_NAME = re.compile(
    r"(password|secretstring|secretbinary|authtoken|sessiontoken|secretaccesskey|privatekey)$",
    re.IGNORECASE,
)


def is_sent(endpoint_prefix: str, operation: str) -> bool:
    """Whether a call is a write management event, which a trail sends to EventBridge."""
    if endpoint_prefix in NOT_SENT_SERVICES:
        return False
    if operation in DATA_EVENTS.get(endpoint_prefix, ()):
        return False
    return not operation.startswith(READ_ONLY_PREFIXES)


def record(event: dict[str, Any]) -> None:
    """Keep an event that was sent, for the pollers."""
    _sent.record(event)


class CloudTrailEvents(Poller):
    """The "AWS API Call via CloudTrail" events the local AWS sent since the previous poll."""

    def __init__(self) -> None:
        super().__init__(_sent)


# --- the trail ------------------------------------------------------------------------------


def trail_logs(account: str, region: str, event_source: str) -> bool:
    """Whether a trail of `account` is logging write management events of `event_source` made
    in `region`."""
    from moto.cloudtrail.models import cloudtrail_backends

    regions = dict.get(cloudtrail_backends, account)  # a plain lookup creates nothing
    if not regions:
        return False
    for backend in list(dict.values(regions)):
        for trail in list(backend.trails.values()):
            if (
                trail.status.is_logging
                and (trail.is_multi_region or trail.region_name == region)
                and _selects(trail, event_source)
            ):
                return True
    return False


def _selects(trail: Any, event_source: str) -> bool:
    if trail.advanced_event_selectors:
        return any(_advanced_selects(s, event_source) for s in trail.advanced_event_selectors)
    if not trail.event_selectors:
        return True  # the default: all management events
    return any(
        selector.get("IncludeManagementEvents", True)
        and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and event_source not in (selector.get("ExcludeManagementEventSources") or [])
        for selector in trail.event_selectors
    )


def _advanced_selects(selector: dict[str, Any], event_source: str) -> bool:
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
    if "Management" not in (fields.get("eventCategory") or {}).get("Equals", []):
        return False
    read_only = [str(v).lower() for v in (fields.get("readOnly") or {}).get("Equals", [])]
    if read_only and "false" not in read_only:
        return False
    source = fields.get("eventSource") or {}
    if source.get("Equals") and event_source not in source["Equals"]:
        return False
    return event_source not in (source.get("NotEquals") or [])


# --- the record -----------------------------------------------------------------------------


def user_identity(identity: Any) -> dict[str, Any]:
    """CloudTrail's userIdentity for a `localaws.sts_trust.Identity`."""
    if identity.is_role_session:
        role_arn = identity.role_arn
        created = getattr(getattr(identity.session, "access_key", None), "create_date", None)
        return {
            "type": "AssumedRole",
            "principalId": identity.user_id,
            "arn": identity.arn,
            "accountId": identity.account,
            "accessKeyId": identity.access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": identity.user_id.split(":", 1)[0],
                    "arn": role_arn,
                    "accountId": role_arn.split(":")[4],
                    "userName": role_arn.rsplit("/", 1)[-1],
                },
                "attributes": {
                    "creationDate": iso8601(created) if created else None,
                    "mfaAuthenticated": "false",
                },
            },
        }
    return {
        "type": "IAMUser",
        "principalId": identity.user_id,
        "arn": identity.arn,
        "accountId": identity.account,
        "accessKeyId": identity.access_key,
        "userName": identity.arn.rsplit("/", 1)[-1],
    }


def request_parameters(shape: Any, params: dict[str, Any], ec2: bool) -> dict[str, Any] | None:
    """`params` (member name -> value, as the operation's input `shape` reads the request)
    as CloudTrail writes them; None when there are none."""
    if shape is None or not params:
        return None
    return _render(params, shape, ec2) or None


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _secret(name: str, shape: Any) -> bool:
    if shape.metadata.get("sensitive"):
        return True
    return shape.type_name in ("string", "blob") and bool(_SECRET_NAME.search(name))


def _render(value: Any, shape: Any, ec2: bool) -> Any:
    if shape.metadata.get("sensitive"):
        return HIDDEN
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        rendered: dict[str, Any] = {}
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                rendered[_lower_camel(name)] = _plain(item)
                continue
            key = _lower_camel((member.serialization.get("name") if ec2 else None) or name)
            if _secret(name, member):
                rendered[key] = HIDDEN
            elif member.type_name == "blob":
                continue  # binary payloads are not written
            elif ec2 and member.type_name == "list" and isinstance(item, list):
                key, items = _ec2_list(name, member, item)
                rendered[key] = items
            else:
                rendered[key] = _render(item, member, ec2)
        return rendered
    if kind == "list" and isinstance(value, list):
        return [_render(item, shape.member, ec2) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(k): _render(v, shape.value, ec2) for k, v in value.items()}
    return _plain(value)


def _ec2_list(name: str, shape: Any, value: list[Any]) -> tuple[str, dict[str, Any]]:
    """An EC2 list as CloudTrail writes it: `{"items": [...]}` under EC2's name for it."""
    location = shape.serialization.get("name")
    item = shape.member
    if item.type_name == "structure":
        items = [_render(v, item, True) for v in value]
        # A query name such as `Tag` or `Filter` is EC2's `tagSet`, `filterSet`.
        if location and location[:1].isupper():
            return _lower_camel(location) + "Set", {"items": items}
        return _lower_camel(location or name), {"items": items}
    item_key = _lower_camel(item.serialization.get("name") or location or name)
    items = [{item_key: _render(v, item, True)} for v in value]
    return _lower_camel(name) + "Set", {"items": items}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso8601(value)
    if isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def api_call_event(
    *,
    account: str,
    region: str,
    endpoint_prefix: str,
    operation: str,
    identity: dict[str, Any],
    parameters: dict[str, Any] | None,
    time: datetime,
    source_ip: str,
    user_agent: str,
    request_id: str,
) -> dict[str, Any]:
    """The EventBridge event of one write management call."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": f"aws.{_SOURCE_NAMES.get(endpoint_prefix, endpoint_prefix)}",
        "account": account,
        "time": iso8601(time),
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": iso8601(time),
            "eventSource": f"{endpoint_prefix}.amazonaws.com",
            "eventName": operation,
            "awsRegion": region,
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
            "requestParameters": parameters,
            "responseElements": None,
            "requestID": request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }


# --- moto -----------------------------------------------------------------------------------


@cache
def _service_model(boto3_name: str) -> Any | None:
    from moto.core.utils import get_service_model

    try:
        return get_service_model(boto3_name)
    except Exception:  # not an AWS service (moto's own API)
        return None


def _operation(service: Any, action: str) -> Any | None:
    try:
        return service.operation_model(action)
    except Exception:  # an action the model does not know
        return None


def _parameters(response: Any, service: Any, operation: Any) -> dict[str, Any]:
    """The request's parameters read with the operation's model (member name -> typed value)."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol

    request = response.normalized_request
    protocol = determine_request_protocol(service, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
    parsed = parser.parse(
        {
            "method": request.method,
            "values": request.values,
            "headers": request.headers,
            "body": request.data,
            "url_path": request.path,
            "url_params": getattr(response, "uri_match", None) or {},
        }
    )
    return dict(parsed or {})


def _request_id(headers: Any) -> str:
    if isinstance(headers, dict):
        for name in ("x-amzn-requestid", "x-amzn-RequestId", "x-amz-request-id"):
            if headers.get(name):
                return str(headers[name])
    return str(uuid.uuid4())


def send(response: Any, result: Any) -> dict[str, Any] | None:
    """After moto answered `response`'s request with `result` (status, headers, body): the
    event, put on the bus and recorded, when the call is one a trail sends; else None."""
    status, headers = result[0], result[1]
    if not 200 <= int(status) < 300:
        return None
    action = response._get_action()
    service = _service_model(response.boto3_service_name) if action else None
    if service is None:
        return None
    prefix = service.endpoint_prefix
    if not is_sent(prefix, action):
        return None
    operation = _operation(service, action)
    if operation is None:
        return None
    account = response.current_account
    region = "us-east-1" if prefix in GLOBAL_SERVICES else response.region
    if not trail_logs(account, region, f"{prefix}.amazonaws.com"):
        return None
    from moto.core.utils import utcnow

    from localaws.sts_trust import identify

    now = utcnow().replace(microsecond=0)
    event = api_call_event(
        account=account,
        region=region,
        endpoint_prefix=prefix,
        operation=operation.name,
        identity=user_identity(identify(response.get_access_key(), account, response.region)),
        parameters=request_parameters(
            operation.input_shape, _parameters(response, service, operation), prefix == "ec2"
        ),
        time=now,
        source_ip=getattr(response.normalized_request, "remote_addr", None) or "127.0.0.1",
        user_agent=str(response.headers.get("User-Agent", "")),
        request_id=_request_id(headers),
    )
    _put_on_bus(event, now)
    record(event)
    return event


def _put_on_bus(event: dict[str, Any], time: datetime) -> None:
    """The event on the default bus of its account and region, as `localaws.drift` does;
    the bus's event id is written back into it."""
    from moto.events.models import events_backends

    entries = events_backends[event["account"]][event["region"]].put_events(
        [
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"], default=str),
                "Resources": event["resources"],
                # moto's bus wants a Unix time: a string breaks its default input template.
                "Time": time.replace(tzinfo=UTC).timestamp(),
                "EventBusName": "default",
            }
        ]
    )
    if entries and entries[0].get("EventId"):
        event["id"] = entries[0]["EventId"]
    elif entries and entries[0].get("ErrorCode"):
        logger.warning(
            "localaws: CloudTrail event refused by the bus: %s", entries[0].get("ErrorMessage")
        )


def install() -> None:
    """Send CloudTrail events for the write management calls moto serves. Safe to call again."""
    from moto.core.responses import BaseResponse

    if BaseResponse.__dict__.get(_INSTALLED_MARK):
        return
    moto_call_action = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        result = moto_call_action(self)
        if ENABLED:
            try:
                send(self, result)
            except Exception as error:  # the call stands even when its event cannot be sent
                logger.warning("localaws: CloudTrail event not sent: %s", error)
        return result

    BaseResponse.call_action = call_action
    setattr(BaseResponse, _INSTALLED_MARK, True)
