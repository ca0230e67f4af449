"""An out-of-band API call, as CloudTrail reports it on EventBridge ("AWS API Call via
CloudTrail"): who made it, on what, and whether the reconciler should look at it. Pure.

What is left out, so that a repair never triggers another:
- calls CloudFormation made (`userIdentity.invokedBy` or `sourceIPAddress`
  `cloudformation.amazonaws.com`, which AWS writes; not `userAgent`, which the caller's
  client chooses): a stack operation, a drift repair among them;
- calls made in one of the reconciler's own roles (its functions' roles, the managed
  stacks' service role, the member roles), named by `RECONCILER_ROLES`: the role session's
  issuer (`userIdentity.sessionContext.sessionIssuer`) by role name, in an account the
  reconciler knows (its own, or one a managed stack lives in): a role of the same name
  elsewhere is anyone's;
- calls that failed (`errorCode`): nothing changed.

Which resources the call acted on: the values of identifier-like top-level members of
`requestParameters` and `responseElements` (`groupId`, `dBInstanceIdentifier`,
`logGroupName`, `keyId`...), and of the members of a top-level list's items (EC2's
`resourcesSet.items[].resourceId`); not deeper, where a request names what it refers to
(a rule's source group) rather than what it changes. The event's `resources` ARNs too. An
ARN's trailing id is taken beside it (a KMS key ARN names the key id CloudFormation
reports as the physical id), and a Lambda function's partial ARN its name. At most
MAX_IDENTIFIERS: a hostile event cannot make the handler look up thousands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CLOUDFORMATION = "cloudformation.amazonaws.com"
MAX_IDENTIFIERS = 1000  # EC2's CreateTags takes up to 1,000 resource ids
# Members that name a resource: groupId, dBInstanceIdentifier, logGroupName, keyId,
# secretId, functionName, roleName, replicationGroupId, topicArn, resourceId...
_IDENTIFIER_KEY = re.compile(r"(id|ids|identifier|name|arn|arns)$", re.IGNORECASE)
# Identifier-like members that never name the resource acted on.
_NOT_RESOURCES = frozenset({"requestid", "ownerid", "accountid", "clientrequestid"})
# A value that could be a physical id: no spaces, not too long, not a CIDR or a number;
# a log group's name starts with "/" and may hold "#".
_PLAUSIBLE = re.compile(r"[A-Za-z0-9/][\w.:/+=@,#-]{0,511}", re.ASCII)
_CIDR = re.compile(r"[0-9a-fA-F:.]+/\d{1,3}")
# Services whose identifiers are not case-sensitive, kept lower-case by the service.
_LOWER_CASE_IDS = frozenset({"rds.amazonaws.com", "elasticache.amazonaws.com"})


@dataclass(frozen=True)
class ApiCall:
    """The parts of one CloudTrail record the change handler reads."""

    account: str
    region: str
    event_source: str  # ec2.amazonaws.com
    event_name: str  # AuthorizeSecurityGroupIngress
    event_time: str  # 2026-12-07T10:00:00Z, CloudTrail's seconds
    event_id: str
    caller: str  # the userIdentity's ARN, or its type for a service
    caller_type: str  # IAMUser, AssumedRole, Root, AWSService...
    caller_account: str  # the caller's account (userIdentity.accountId)
    role_name: str  # for a role session: the issuing role's name
    invoked_by: str  # userIdentity.invokedBy: the AWS service that made the call
    source_ip: str
    user_agent: str
    error_code: str
    identifiers: tuple[str, ...]

    @property
    def action(self) -> str:
        """ec2:AuthorizeSecurityGroupIngress"""
        return f"{self.event_source.split('.', 1)[0]}:{self.event_name}"

    @property
    def who(self) -> str:
        return self.caller or self.caller_type or "unknown caller"


def parse(event: Mapping[str, Any]) -> ApiCall:
    """An ApiCall from an EventBridge event whose detail is a CloudTrail record (the
    handler's schema checked the fields it needs are strings)."""
    detail = _object(event.get("detail"))
    identity = _object(detail.get("userIdentity"))
    issuer = _object(_object(identity.get("sessionContext")).get("sessionIssuer"))
    role_name = str(issuer.get("userName") or "") if issuer.get("type") == "Role" else ""
    if not role_name and identity.get("type") == "AssumedRole":
        role_name = _role_of_session(str(identity.get("arn") or ""))
    source = str(detail.get("eventSource") or "")
    found = identifiers(
        (detail.get("requestParameters"), detail.get("responseElements")),
        event.get("resources") if isinstance(event.get("resources"), list) else (),
        lower=source in _LOWER_CASE_IDS,
    )
    return ApiCall(
        account=str(event.get("account") or detail.get("recipientAccountId") or ""),
        region=str(event.get("region") or detail.get("awsRegion") or ""),
        event_source=source,
        event_name=str(detail.get("eventName") or ""),
        event_time=str(detail.get("eventTime") or event.get("time") or ""),
        event_id=str(detail.get("eventID") or event.get("id") or ""),
        caller=str(identity.get("arn") or ""),
        caller_type=str(identity.get("type") or ""),
        caller_account=str(identity.get("accountId") or issuer.get("accountId") or ""),
        role_name=role_name,
        invoked_by=str(identity.get("invokedBy") or ""),
        source_ip=str(detail.get("sourceIPAddress") or ""),
        user_agent=str(detail.get("userAgent") or ""),
        error_code=str(detail.get("errorCode") or ""),
        identifiers=found,
    )


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _role_of_session(arn: str) -> str:
    """arn:aws:sts::111122223333:assumed-role/ROLE/SESSION -> ROLE"""
    _, _, resource = arn.partition(":assumed-role/")
    return resource.split("/", 1)[0] if resource else ""


def excluded(call: ApiCall, own_roles: Iterable[str] = (), accounts: Iterable[str] = ()) -> str:
    """Why the reconciler does not look at this call ("" when it does). A call in one of
    `own_roles` is its own when made in one of `accounts` (its own and its managed
    stacks'; none given: any account)."""
    if CLOUDFORMATION in (call.invoked_by, call.source_ip):
        return f"{call.action} was made by CloudFormation (a stack operation)"
    if call.role_name and call.role_name in set(own_roles):
        known = {a for a in accounts if a}
        if not known or call.caller_account in known:
            return f"{call.action} was made by the reconciler's own role {call.role_name}"
    if call.error_code:
        return f"{call.action} failed ({call.error_code}): nothing changed"
    if not call.identifiers:
        return f"{call.action} names no resource"
    return ""


def identifiers(
    parameters: Iterable[Any], resources: Iterable[Any] = (), *, lower: bool = False
) -> tuple[str, ...]:
    """The values that may be physical ids, in the order met, each once, at most
    MAX_IDENTIFIERS."""
    found: dict[str, None] = {}

    def add(value: str) -> None:
        for candidate in _forms(value, lower):
            if len(found) < MAX_IDENTIFIERS:
                found.setdefault(candidate, None)

    for resource in list(resources)[:MAX_IDENTIFIERS]:
        arn = resource.get("ARN") if isinstance(resource, Mapping) else resource
        if isinstance(arn, str):
            add(arn)
    for node in parameters:
        for value in _acted_on(node):
            add(value)
    return tuple(found)


def _acted_on(node: Any) -> Iterator[str]:
    """Identifier members at the top, and in the items of a top-level list (plain, or
    EC2's {"items": [...]})."""
    if not isinstance(node, Mapping):
        return
    for key, value in list(node.items())[:MAX_IDENTIFIERS]:
        if _names_resource(key):
            yield from _strings(value)
        items = value.get("items") if isinstance(value, Mapping) else value
        if isinstance(items, list):
            for item in items[:MAX_IDENTIFIERS]:
                if isinstance(item, Mapping):
                    for inner, named in list(item.items())[:MAX_IDENTIFIERS]:
                        if _names_resource(inner):
                            yield from _strings(named)


def _names_resource(key: Any) -> bool:
    return (
        isinstance(key, str)
        and bool(_IDENTIFIER_KEY.search(key))
        and key.lower() not in _NOT_RESOURCES
    )


def _strings(value: Any) -> Iterator[str]:
    """A string, or the strings of a list of them (groupIds, resourceArns)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value[:MAX_IDENTIFIERS] if isinstance(v, str))


def _forms(value: str, lower: bool) -> list[str]:
    """The value as a physical id may be written: itself, an ARN's trailing id, a Lambda
    partial ARN's function name, and the lower-case form where the service keeps ids
    lower-case."""
    forms = [value]
    if value.startswith("arn:"):
        value = value.removesuffix(":*")  # a log group's ARN: log-group:NAME:*
        resource = value.split(":", 5)[-1]
        if resource.startswith("log-group:"):  # log group names hold "/"
            tail = resource.removeprefix("log-group:")
        elif resource.startswith("function:"):  # function:NAME[:QUALIFIER]
            tail = resource.split(":")[1]
        else:
            tail = re.split(r"[:/]", resource)[-1]
        forms = [value, tail] if tail and tail != value else [value]
    elif ":function:" in value:  # ACCOUNT:function:NAME[:QUALIFIER], Lambda's partial ARN
        forms = [value, value.split(":function:", 1)[1].split(":")[0]]
    forms = [f for f in forms if _plausible(f)]
    if lower:
        forms += [f.lower() for f in forms if f.lower() != f]
    return forms


def _plausible(value: str) -> bool:
    return (
        bool(_PLAUSIBLE.fullmatch(value))
        and not _CIDR.fullmatch(value)
        and not value.isdigit()
        and value.strip("/") != ""
    )
