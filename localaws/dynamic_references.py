"""Stand-in for CloudFormation's dynamic references: `{{resolve:service:reference}}`.

AWS behaviour: when a stack or change-set operation creates or updates a resource, every
`{{resolve:...}}` in the resource's properties (after intrinsic functions such as Fn::Sub
ran, so a reference may name a secret created earlier in the same stack) is replaced by
the value it names:

- `{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`:
  secret-id is a name or ARN (an ARN may name another account); the other segments are
  optional; without json-key the whole SecretString; without stage or id, AWSCURRENT.
- `{{resolve:ssm:name}}` or `{{resolve:ssm:name:version}}`: a String or StringList
  parameter, latest version by default.
- `{{resolve:ssm-secure:name}}` (`:version` optional): a SecureString parameter.

The template keeps the literal text: GetTemplate, DescribeStacks, change sets and events
never show a resolved value. A reference that does not resolve fails the resource, and
the stack rolls back. References are not allowed in Outputs or resource Metadata (the
operation is refused), and secure references (`secretsmanager`, `ssm-secure`) are not
passed to custom resources. A changed secret reaches a resource only when a stack update
touches that resource.

moto 5.2.5 resolves none of them: the literal `{{resolve:...}}` string becomes the
property value (a database's master password, a cache's AUTH token).

`install()` resolves references where moto turns a resource's template JSON into
properties (`moto.cloudformation.parsing.parse_resource`, on create and update alike),
reading moto's Secrets Manager and SSM backends of the stack's account and region; a
failure raises `localaws.rollback.ResourceFailed`, whose reason names the reference and
never a value. It also refuses, with a ValidationError, templates whose Outputs or
Metadata hold a reference.

Not modelled: the list of properties AWS accepts `ssm-secure` in (accepted anywhere
here), the limit of 60 references per template, references in parameter defaults, and
resolution when a change set is created (here at execution only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError, ServiceException

from localaws import rollback
from localaws.rollback import ResourceFailed

_REFERENCE = re.compile(r"\{\{resolve:(?P<service>[^:}]*):(?P<body>.*?)\}\}")
_MARKER = "{{resolve:"
_SECURE_SERVICES = frozenset({"secretsmanager", "ssm-secure"})
_INSTALLED_MARK = "_localaws_dynamic_references"
# The errors moto's services raise: both carry an AWS error code and message.
_SERVICE_ERRORS = (JsonRESTError, ServiceException)


class DynamicReferenceError(ResourceFailed):
    """A dynamic reference that does not resolve; the reason names it, never a value."""

    def __init__(self, reference: str, problem: str) -> None:
        super().__init__(f"Unable to resolve dynamic reference {reference}: {problem}")
        self.reference = reference


@dataclass(frozen=True)
class _Where:
    """The account and region whose backends a reference is read from."""

    account_id: str
    region_name: str


def install() -> None:
    """Resolve dynamic references in resource properties. Safe to call again."""
    from moto.cloudformation import models, parsing

    rollback.install()
    if getattr(parsing, _INSTALLED_MARK, False):
        return
    _patch_parse_resource(parsing)
    _patch_template_checks(models)
    setattr(parsing, _INSTALLED_MARK, True)


def resolve_properties(
    properties: Any, resource_type: str, account_id: str, region_name: str
) -> Any:
    """`properties` with every dynamic reference replaced by its value (a new structure)."""
    where = _Where(account_id, region_name)
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        for reference in _references(properties):
            match = _REFERENCE.fullmatch(reference)
            if match and match["service"] in _SECURE_SERVICES:
                raise DynamicReferenceError(
                    reference, "secure dynamic references are not supported in custom resources"
                )
    return _resolve(properties, where)


def _patch_parse_resource(parsing: Any) -> None:
    moto_parse_resource = parsing.parse_resource

    def parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
        parsed = moto_parse_resource(resource_json, resources_map)
        if not parsed:
            return parsed
        resource_class, cleaned, resource_type = parsed
        if next(_references(cleaned.get("Properties")), None) is not None:
            cleaned = dict(cleaned)  # moto's copy, never the stored template
            cleaned["Properties"] = resolve_properties(
                cleaned["Properties"],
                resource_type,
                resources_map._account_id,
                resources_map._region_name,
            )
        return resource_class, cleaned, resource_type

    parsing.parse_resource = parse_resource


def _patch_template_checks(models: Any) -> None:
    backend_class = models.CloudFormationBackend
    moto_create_stack = backend_class.create_stack
    moto_update_stack = backend_class.update_stack
    moto_create_change_set = backend_class.create_change_set

    def create_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        check_template(template)
        return moto_create_stack(self, name, template, *args, **kwargs)

    def update_stack(self: Any, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
        check_template(template)
        return moto_update_stack(self, name, template, *args, **kwargs)

    def create_change_set(
        self: Any, stack_name: str, change_set_name: str, template: str, *args: Any, **kwargs: Any
    ) -> Any:
        check_template(template)
        return moto_create_change_set(self, stack_name, change_set_name, template, *args, **kwargs)

    backend_class.create_stack = create_stack
    backend_class.update_stack = update_stack
    backend_class.create_change_set = create_change_set


def check_template(template: str | dict[str, Any] | None) -> None:
    """Refuse references where CloudFormation does not resolve them: Outputs and Metadata."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Stack

    if not template or _MARKER not in (
        template if isinstance(template, str) else json.dumps(template)
    ):
        return
    try:
        parsed = Stack.parse_template(template) if isinstance(template, str) else template
    except Exception:
        return  # moto reports unreadable templates itself
    if not isinstance(parsed, dict):
        return
    for name, output in (parsed.get("Outputs") or {}).items():
        if any(True for _ in _references(output)):
            raise ValidationError(
                message=(
                    f"Template format error: Output {name} contains a dynamic reference; "
                    "dynamic references are not supported in Outputs"
                )
            )
    for name, resource in (parsed.get("Resources") or {}).items():
        if isinstance(resource, dict) and any(True for _ in _references(resource.get("Metadata"))):
            raise ValidationError(
                message=(
                    f"Template format error: Metadata of resource {name} contains a dynamic "
                    "reference; dynamic references are not supported in Metadata"
                )
            )


def _references(value: Any) -> Iterator[str]:
    """Every `{{resolve:...}}` text in a JSON-like value, including inside Fn::Sub."""
    if isinstance(value, str):
        if _MARKER in value:
            yield from (m.group(0) for m in _REFERENCE.finditer(value))
            if not _REFERENCE.search(value):
                yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _resolve(value: Any, where: _Where) -> Any:
    if isinstance(value, str):
        if _MARKER not in value:
            return value
        return _REFERENCE.sub(lambda match: _value_of(match, where), value)
    if isinstance(value, dict):
        return {key: _resolve(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, where) for item in value]
    return value


def _value_of(match: re.Match[str], where: _Where) -> str:
    reference, service, body = match.group(0), match["service"], match["body"]
    if service == "secretsmanager":
        return _secret_value(reference, body, where)
    if service in ("ssm", "ssm-secure"):
        return _parameter_value(reference, body, secure=service == "ssm-secure", where=where)
    raise DynamicReferenceError(
        reference, f"unsupported service '{service}' (use ssm, ssm-secure or secretsmanager)"
    )


# --- Secrets Manager ------------------------------------------------------------------------


def _secret_value(reference: str, body: str, where: _Where) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = body.split(":")
    if parts[0] == "arn":  # arn:partition:secretsmanager:region:account:secret:name
        if len(parts) < 7:
            raise DynamicReferenceError(reference, "the secret ARN is incomplete")
        secret_id, rest = ":".join(parts[:7]), parts[7:]
        account_id, region_name = parts[4] or where.account_id, parts[3] or where.region_name
    else:
        secret_id, rest = parts[0], parts[1:]
        account_id, region_name = where.account_id, where.region_name
    if not secret_id:
        raise DynamicReferenceError(reference, "the secret-id segment is empty")
    if len(rest) > 4:
        raise DynamicReferenceError(reference, "too many segments")
    secret_string, json_key, stage, version_id = (*rest, "", "", "", "")[:4]
    if secret_string not in ("", "SecretString"):
        raise DynamicReferenceError(reference, "the only supported value type is SecretString")
    if stage and version_id:
        raise DynamicReferenceError(reference, "give version-stage or version-id, not both")
    if not version_id:
        # Explicitly: moto may return a stale value when no stage is given.
        stage = stage or "AWSCURRENT"

    backend = secretsmanager_backends[account_id][region_name]
    try:
        secret = backend.get_secret_value(
            secret_id=secret_id, version_id=version_id or None, version_stage=stage or None
        )
    except _SERVICE_ERRORS as error:
        raise DynamicReferenceError(reference, _service_error(error)) from None
    if "SecretString" not in secret:
        raise DynamicReferenceError(reference, "the secret version has no SecretString")
    if not json_key:
        return str(secret["SecretString"])
    try:
        document = json.loads(secret["SecretString"])
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise DynamicReferenceError(reference, "the SecretString is not a JSON object")
    if json_key not in document:
        raise DynamicReferenceError(reference, f"the secret has no key '{json_key}'")
    found = document[json_key]
    return found if isinstance(found, str) else json.dumps(found)


# --- Systems Manager Parameter Store --------------------------------------------------------


def _parameter_value(reference: str, body: str, secure: bool, where: _Where) -> str:
    from moto.ssm.models import ssm_backends

    parts = body.split(":")
    if parts[0] == "arn":  # arn:partition:ssm:region:account:parameter/name
        name, rest = ":".join(parts[:6]), parts[6:]
    else:
        name, rest = parts[0], parts[1:]
    if not name or len(rest) > 1 or (rest and not rest[0].isdigit()):
        raise DynamicReferenceError(reference, "expected a parameter name and optional version")
    selector = f"{name}:{rest[0]}" if rest else name

    try:
        parameter = ssm_backends[where.account_id][where.region_name].get_parameter(selector)
    except _SERVICE_ERRORS as error:
        raise DynamicReferenceError(reference, _service_error(error)) from None
    if parameter is None:
        raise DynamicReferenceError(reference, f"parameter {name} was not found")
    if secure and parameter.parameter_type != "SecureString":
        raise DynamicReferenceError(reference, "ssm-secure needs a SecureString parameter")
    if not secure and parameter.parameter_type == "SecureString":
        raise DynamicReferenceError(reference, "a SecureString parameter needs ssm-secure")
    value = parameter.decrypt(parameter.value) if secure else parameter.value
    if value is None:
        raise DynamicReferenceError(reference, "the parameter could not be decrypted")
    return str(value)


def _service_error(error: Any) -> str:
    """The service's own error, as AWS reports it: code and message, never a value."""
    code = getattr(error, "error_type", None) or getattr(error, "code", type(error).__name__)
    message = getattr(error, "message", "") or ""
    return f"{message} (Error Code: {code})" if message else code
