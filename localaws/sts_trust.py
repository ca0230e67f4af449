"""Stand-in for the trust policy check of sts:AssumeRole.

AWS behaviour: AssumeRole succeeds only when the role exists and its trust policy (the
role's AssumeRolePolicyDocument) allows the caller: a statement with `"Effect": "Allow"`,
an action matching `sts:AssumeRole`, a `Principal` naming the caller (its account, as a
12-digit id or `arn:aws:iam::<account>:root`; its IAM user or role ARN; or `*`), and
every `Condition` met, such as `StringEquals` on `sts:ExternalId` (the ExternalId the
caller passed) or `ArnLike` on `aws:PrincipalArn` (for a role session, the role's ARN);
an explicit `Deny` that matches wins. Otherwise AssumeRole answers HTTP 403
`AccessDenied`, "User: <caller ARN> is not authorized to perform: sts:AssumeRole on
resource: <role ARN>", the same for a role that does not exist (AWS does not say which).
A DurationSeconds above the role's MaxSessionDuration is a `ValidationError`.
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html,
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)

moto 5.2.5 checks none of it: any role ARN, existing or not, in any account, with any
external id or none, gives credentials, and the credentials act in the ARN's account.

`install()` makes the local AWS's server check the trust policy before moto's AssumeRole
runs. The caller is who GetCallerIdentity says it is: the IAM user whose access key signed
the request, the role session whose temporary key did, or, for a key moto does not know
(the `testing` keys), moto's default `arn:aws:sts::123456789012:user/moto`, a principal
of account 123456789012. Condition keys known: `sts:ExternalId`, `sts:RoleSessionName`,
`sts:SourceIdentity`, `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:RequestedRegion`;
operators: the `String*`, `Arn*` and `Null` families, with `...IfExists`. A key not known
is absent (`aws:PrincipalOrgID` among them: there is no organisation), and an operator not
known never matches, so such a statement allows nothing: refused, never wrongly allowed.

Not modelled: the caller's own IAM policies (IAM is not enforced here, so a caller the
trust policy admits by account may assume the role), service and federated principals
(no request to the local AWS is made by a service), session policies and tags, and role
chaining's one-hour limit. Only requests to the server are checked; moto used in-process
(`mock_aws`) keeps its own behaviour, and `ENFORCED = False` turns the check off.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENFORCED = True

_INSTALLED_MARK = "_localaws_sts_trust"
_ACTION = "sts:assumerole"
# arn:<partition>:iam::<account>:role/<path/><name>
_ROLE_ARN = re.compile(r"arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?P<path>.*)")
# arn:<partition>:sts::<account>:assumed-role/<role name>/<session>
_SESSION_ARN = re.compile(
    r"arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)"
)


@dataclass(frozen=True)
class Caller:
    """Who makes the AssumeRole request, as IAM sees the principal."""

    arn: str  # as GetCallerIdentity answers
    account: str
    principal_arn: str  # aws:PrincipalArn: a session's role ARN, else `arn`


@dataclass(frozen=True)
class Request:
    """What an AssumeRole request asks for, as condition keys read it."""

    role_arn: str
    session_name: str
    external_id: str | None
    source_identity: str | None
    region: str

    def context(self, caller: Caller) -> dict[str, str]:
        keys = {
            "aws:principalarn": caller.principal_arn,
            "aws:principalaccount": caller.account,
            "aws:requestedregion": self.region,
            "sts:rolesessionname": self.session_name,
        }
        if self.external_id is not None:
            keys["sts:externalid"] = self.external_id
        if self.source_identity is not None:
            keys["sts:sourceidentity"] = self.source_identity
        return keys


def allows(policy: Mapping[str, Any], caller: Caller, request: Request) -> bool:
    """Whether a trust policy lets `caller` make `request`: an Allow matches and no Deny."""
    context = request.context(caller)
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, Mapping) or not _applies(statement, caller, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _applies(statement: Mapping[str, Any], caller: Caller, context: Mapping[str, str]) -> bool:
    if "Action" in statement:
        if not any(_glob(_ACTION, str(a).lower()) for a in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_glob(_ACTION, str(a).lower()) for a in _as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Principal" in statement:
        if not _names(statement["Principal"], caller):
            return False
    elif "NotPrincipal" in statement:
        if _names(statement["NotPrincipal"], caller):
            return False
    else:
        return False  # a trust policy statement names its principal
    return _conditions_met(statement.get("Condition") or {}, context)


def _names(principal: Any, caller: Caller) -> bool:
    """Whether a Principal element names the caller (AWS principals only)."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return any(_names_one(str(p), caller) for p in _as_list(principal.get("AWS")))


def _names_one(principal: str, caller: Caller) -> bool:
    if principal == "*":
        return True
    if principal == caller.account or principal.endswith(f":iam::{caller.account}:root"):
        return True  # the account: any of its principals (their IAM policies not checked)
    return principal in (caller.arn, caller.principal_arn)


# --- conditions -----------------------------------------------------------------------------


def _conditions_met(block: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    if not isinstance(block, Mapping):
        return False
    for operator, tests in block.items():
        if not isinstance(tests, Mapping):
            return False
        for key, wanted in tests.items():
            if not _condition(str(operator), context.get(str(key).lower()), _as_list(wanted)):
                return False
    return True


def _arn_like(value: str, pattern: str) -> bool:
    """ARN matching: each of the six colon-separated parts matched on its own."""
    found, parts = value.split(":", 5), pattern.split(":", 5)
    return len(parts) == len(found) == 6 and all(map(_glob, found, parts))


_MATCHERS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    # operator -> (value matches one wanted value, negated)
    "StringEquals": (lambda value, wanted: value == wanted, False),
    "StringNotEquals": (lambda value, wanted: value == wanted, True),
    "StringEqualsIgnoreCase": (lambda value, wanted: value.lower() == wanted.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda value, wanted: value.lower() == wanted.lower(), True),
    "StringLike": (lambda value, wanted: _glob(value, wanted), False),
    "StringNotLike": (lambda value, wanted: _glob(value, wanted), True),
    "ArnEquals": (lambda value, wanted: value == wanted, False),
    "ArnNotEquals": (lambda value, wanted: value == wanted, True),
    "ArnLike": (_arn_like, False),
    "ArnNotLike": (_arn_like, True),
}


def _condition(operator: str, value: str | None, wanted: list[Any]) -> bool:
    """One key's test. A key absent from the request fails a positive operator and passes a
    negated one; `...IfExists` passes it either way."""
    if operator == "Null":
        return any(str(w).lower() == ("true" if value is None else "false") for w in wanted)
    base = operator.removesuffix("IfExists")
    if base not in _MATCHERS:
        return False
    if value is None:
        return operator.endswith("IfExists") or _MATCHERS[base][1]
    matches, negated = _MATCHERS[base]
    hit = any(matches(value, str(w)) for w in wanted)
    return not hit if negated else hit


def _glob(value: str, pattern: str) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one; case-sensitive."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- moto -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who signed a request to the local AWS, as GetCallerIdentity answers for its access key.

    `session` is moto's record of the role session for a temporary key (None for an IAM
    user's key and for a key moto does not know), `role_arn` that session's role ARN."""

    user_id: str
    arn: str
    account: str
    access_key: str
    session: Any | None = None
    role_arn: str | None = None

    @property
    def is_role_session(self) -> bool:
        return self.role_arn is not None


def identify(access_key: str, account: str, region: str) -> Identity:
    """The caller behind `access_key` for a request moto serves in `account` and `region`:
    the IAM user whose key it is, the role session whose temporary key it is, or moto's
    default `arn:<partition>:sts::<account>:user/moto` (GetCallerIdentity's answer)."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    backend = sts_backends[account][get_partition(region)]
    user_id, arn, caller_account = backend.get_caller_identity(access_key, region)
    session_arn = _SESSION_ARN.fullmatch(arn)
    if session_arn is None:
        return Identity(user_id, arn, caller_account, access_key)
    session = backend.get_assumed_role_from_access_key(access_key)
    role_arn = session.role_arn if session is not None else None
    if role_arn is None:
        role_arn = (
            f"arn:{session_arn['partition']}:iam::{caller_account}:role/{session_arn['role']}"
        )
    return Identity(user_id, arn, caller_account, access_key, session, role_arn)


def _caller(response: Any) -> Caller:
    identity = identify(response.get_access_key(), response.current_account, response.region)
    return Caller(
        arn=identity.arn,
        account=identity.account,
        principal_arn=identity.role_arn or identity.arn,
    )


def _role(role_arn: str) -> Any | None:
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.fullmatch(role_arn or "")
    if match is None:
        return None
    backend = iam_backends[match["account"]][match["partition"]]
    name = match["path"].rsplit("/", 1)[-1]
    try:
        role = backend.get_role(name)
    except Exception:  # moto's NotFoundException
        return None
    return role if role.arn == role_arn else None


def _policy(role: Any) -> dict[str, Any]:
    document = role.assume_role_policy_document
    if isinstance(document, Mapping):
        return dict(document)
    for text in (str(document), urllib.parse.unquote(str(document))):
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        return parsed if isinstance(parsed, dict) else {}
    return {}


def check(response: Any) -> None:
    """Refuse the AssumeRole request `response` is answering, as AWS would; return when
    the trust policy allows it."""
    from moto.core.exceptions import AccessDeniedError
    from moto.sts.exceptions import STSValidationError

    request = Request(
        role_arn=response._get_param("RoleArn") or "",
        session_name=response._get_param("RoleSessionName") or "",
        external_id=response._get_param("ExternalId"),
        source_identity=response._get_param("SourceIdentity"),
        region=response.region,
    )
    caller = _caller(response)
    role = _role(request.role_arn)
    if role is None or not allows(_policy(role), caller, request):
        raise AccessDeniedError(caller.arn, f"sts:AssumeRole on resource: {request.role_arn}")
    duration = response._get_int_param("DurationSeconds", 3600)
    maximum = int(role.max_session_duration or 3600)
    if duration > maximum:
        raise STSValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )


def install() -> None:
    """Check trust policies on the server's AssumeRole. Safe to call again."""
    from moto.sts.responses import TokenResponse

    if TokenResponse.__dict__.get(_INSTALLED_MARK):
        return
    moto_assume_role = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        if ENFORCED and self.is_werkzeug_request:
            check(self)
        return moto_assume_role(self)

    TokenResponse.assume_role = assume_role
    setattr(TokenResponse, _INSTALLED_MARK, True)
