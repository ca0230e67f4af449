"""PCI011: no password, secret or token is written into a template or shown by
CloudFormation (PCI DSS 8.3.2). A property named like one (MasterUserPassword, AuthToken,
ClientSecret...) must take a dynamic reference or a NoEcho parameter, and a parameter
named like one must be NoEcho. The value is never repeated in the message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from reconciler.findings import Finding
from reconciler.validation.context import Context
from reconciler.validation.pci_common import finding, is_intrinsic
from reconciler.validation.rule import Rule, error
from reconciler.validation.stack_view import Resource, StackView, stack_views
from reconciler.yamlfile import key_line

RULE_ID = "PCI011"
_SENSITIVE = re.compile(r"password|passwd|secret|token")
# Words after the sensitive one that make the name about a secret, not the secret itself:
# SecretArn, PasswordLength, SecretStringTemplate, AuthTokenUpdateStrategy...
_ABOUT = (
    "id", "ids", "arn", "arns", "name", "names", "length", "template", "days", "rotation",
    "type", "enabled", "strategy", "validity", "units", "url", "uri", "endpoint", "path",
    "policy", "prefix", "version", "stage", "count", "schedule", "period", "interval",
    "window", "required", "manager", "size", "param", "generation", "stringkey", "jsonkey",
    "source", "role", "method", "reference", "pattern", "host",
)  # fmt: skip
# Names that start with a verb are switches: ManageMasterUserPassword, GenerateSecret...
_VERBS = ("manage", "enable", "generate", "require", "exclude", "include", "rotate")
# Properties named like a secret that are not one: a custom resource's Lambda ARN, an
# idempotency or concurrency token, the IMDSv2 switch, an Alexa skill id, a secret's ARN.
_NOT_SECRETS = frozenset(
    {
        "servicetoken",
        "clienttoken",
        "versiontoken",
        "eventsourcetoken",
        "httptokens",
        "domainjoinserviceaccountsecret",
    }
)
DYNAMIC = "{{resolve:"
FIX = (
    "keep it in Secrets Manager and pass a dynamic reference "
    "({{resolve:secretsmanager:...}}), or a NoEcho parameter"
)

FIX_PARAMETER = (
    "remove the value and read the secret from Secrets Manager in the template with a "
    "dynamic reference ({{resolve:secretsmanager:...}})"
)


def is_sensitive(name: str) -> bool:
    """Whether a property or parameter name holds a password, secret or token."""
    plain = re.sub(r"[^a-z]", "", name.lower())
    matches = list(_SENSITIVE.finditer(plain))
    if not matches or plain.startswith(_VERBS) or plain in _NOT_SECRETS:
        return False
    return not plain[matches[-1].end() :].endswith(_ABOUT)


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        yield from _parameters(view)
        for resource in view.resources():
            yield from _walk(view, resource, resource.node.get("Properties"))


def _parameters(view: StackView) -> Iterator[Finding]:
    """Secret parameters are NoEcho, and their value is written neither as the template's
    Default nor in the stack file: both are plaintext in git."""
    stack = view.spec.stack_name
    declarations = view.template.data.get("Parameters") or {}
    for name, declared in view.template.parameters.items():
        spec = declarations.get(name)
        numeric = isinstance(spec, dict) and "Number" in str(spec.get("Type"))  # MaxTokens
        named_secret = is_sensitive(name) and not numeric
        if named_secret and not declared.no_echo:
            msg = (
                f"parameter {name} holds a secret but is not NoEcho, so CloudFormation "
                "shows its value in the console and API: add NoEcho: true (better, "
                "take it from Secrets Manager with a dynamic reference)"
            )
            yield error(view.path, declared.line, RULE_ID, msg, stack)
        if not (declared.no_echo or named_secret):
            continue
        if isinstance(spec, dict) and spec.get("Default") not in (None, ""):
            line = key_line(spec, "Default", declared.line)
            msg = f"parameter {name} has a Default, so the secret is in the template: "
            msg += FIX_PARAMETER
            yield error(view.path, line, RULE_ID, msg, stack)
        if view.spec.parameters.get(name):
            msg = (
                f"parameter {name} of {view.path} holds a secret, and this file gives its "
                f"value in plaintext: {FIX_PARAMETER}"
            )
            yield error(view.spec.path, view.spec.line("parameters"), RULE_ID, msg, stack)


def _walk(view: StackView, resource: Resource, node: Any) -> Iterator[Finding]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(view, resource, item)
    if not isinstance(node, dict) or is_intrinsic(node):
        return  # Fn::If and the like: not known offline
    for key, value in node.items():
        problem = _plaintext(view, str(key), value) if is_sensitive(str(key)) else None
        if problem:
            line = key_line(node, key, resource.line)
            msg = f"{key} {problem}: {FIX}"
            yield finding(view, resource, None, RULE_ID, msg, line=line)
        else:
            yield from _walk(view, resource, value)


def _plaintext(view: StackView, key: str, value: Any) -> str | None:
    """How the value gives the secret away, or None when it does not (or is not known)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # a number of tokens is common, a numeric password not
        return "is written in the template" if "pass" in key.lower() else None
    if isinstance(value, str):
        return "is written in the template" if value and DYNAMIC not in value else None
    if isinstance(value, list):  # ElastiCache::User Passwords
        written = any(isinstance(v, str) and _plaintext(view, key, v) for v in value)
        return "holds a value written in the template" if written else None
    if not is_intrinsic(value):
        return None
    ((fn, arg),) = value.items()
    if fn == "Ref" and isinstance(arg, str) and arg in view.template.parameters:
        declared = view.template.parameters[arg]
        if declared.no_echo or is_sensitive(arg):  # the parameter's own finding covers it
            return None
        return f"takes parameter {arg}, which is not NoEcho, so CloudFormation shows it"
    if fn == "Fn::Sub":
        text = arg[0] if isinstance(arg, list) and arg else arg
        if isinstance(text, str) and "${" not in text and DYNAMIC not in text:
            return "is written in the template (a Fn::Sub without variables)"
    return None


RULE = Rule(
    (RULE_ID,),
    "no plaintext passwords, secrets or tokens; such parameters are NoEcho",
    check,
)
