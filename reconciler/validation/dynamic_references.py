"""DYN001-DYN005: dynamic references that will resolve at deploy time. The first PCI
stack's AuthToken read a secret through `${...}` that nothing substituted, and failed
with an invalid-parameter error after the stack had been running for minutes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation import dynrefs
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error
from reconciler.validation.stack_view import StackView, stack_views
from reconciler.yamlfile import line_of

SERVICES = ("secretsmanager", "ssm", "ssm-secure")
# The keys SecretTargetAttachment adds to a secret (AWS documentation).
ATTACHMENT_KEYS = {
    "engine",
    "host",
    "port",
    "dbInstanceIdentifier",
    "dbClusterIdentifier",
    "dbname",
}
SECRET_SYNTAX = re.compile(r"[^:]+(:SecretString(:[^:]*(:[^:]*(:[^:]*)?)?)?)?")  # fullmatch


def secret_keys(view: StackView, logical_id: str) -> set[str] | None:
    """Keys the secret's JSON will hold, or None when it is not a JSON object."""
    secret = view.by_id(logical_id)
    generate = secret.props.get("GenerateSecretString")
    keys: set[str] | None = None
    if isinstance(generate, dict):
        template = generate.get("SecretStringTemplate")
        if template is not None or "GenerateStringKey" in generate:
            keys = set(json.loads(template or "{}")) | {generate.get("GenerateStringKey", "")}
    elif isinstance(secret.props.get("SecretString"), str):
        try:
            keys = set(json.loads(secret.props["SecretString"]))
        except (ValueError, TypeError):
            keys = None
    for attachment in view.resources("AWS::SecretsManager::SecretTargetAttachment"):
        if attachment.props.get("SecretId") == {"Ref": logical_id}:
            keys = (keys or set()) | ATTACHMENT_KEYS
    return keys


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        for ref in dynrefs.find(view.template.data):
            found = problem(view, ref) or missing_secret(ctx, view, ref)
            if found:
                rule, message = found
                line = line_of(ref.node, 1)
                yield error(
                    view.path, line, rule, f"{ref.logical_id}: {message}", view.spec.stack_name
                )


def missing_secret(
    ctx: Context, view: StackView, ref: dynrefs.DynamicReference
) -> tuple[str, str] | None:
    """A secret named outside the template must exist in the account (asked online only)."""
    if ref.service != "secretsmanager" or ref.variables or not ref.secret_id:
        return None
    exists = ctx.catalog.secret_exists
    if view.spec.role_arn:  # in another account: asked there, or not checked
        exists = ctx.secrets_at(view.spec) if ctx.secrets_at else (lambda *_: None)
    if exists(view.spec.region, ref.secret_id) is False:
        return "DYN003", (
            f"{ref.text} names secret {ref.secret_id!r}, which does not exist in "
            f"{view.spec.region}: create it first or fix the name"
        )
    return None


def problem(view: StackView, ref: dynrefs.DynamicReference) -> tuple[str, str] | None:
    if ref.service not in SERVICES or not ref.parts or not ref.parts[0]:
        return "DYN001", f"{ref.text} is not a valid dynamic reference ({', '.join(SERVICES)})"
    custom = ref.resource_type.startswith(("Custom::", "AWS::CloudFormation::CustomResource"))
    if ref.section != "Resources" or custom:
        place = "a custom resource" if ref.section == "Resources" else ref.section
        return "DYN005", f"dynamic references are not allowed in {place}: move {ref.text} out"
    if ref.variables and not ref.under_sub:
        return "DYN002", (
            f"{ref.text} is not under Fn::Sub, so ${{{ref.variables[0]}}} stays literal and "
            "nothing resolves: write it as !Sub '...'"
        )
    if ref.service != "secretsmanager":
        return None
    rest = ":".join(ref.parts[1:])
    if not SECRET_SYNTAX.fullmatch("x" + (":" + rest if rest else "")):
        return "DYN001", f"{ref.text}: expected secret-id:SecretString:json-key:stage:version"
    target = ref.template_secret
    if target is None:
        return None  # a secret outside the template: AWS resolves it by name at deploy time
    resource = view.by_id(target)
    if resource is None or resource.type != "AWS::SecretsManager::Secret":
        kind = resource.type if resource else "nothing in the template"
        return "DYN003", f"{ref.text} reads ${{{target}}}, which is {kind}, not a secret"
    keys = secret_keys(view, target)
    if ref.json_key and keys is not None and ref.json_key not in keys:
        known = ", ".join(sorted(k for k in keys if k)) or "none"
        return "DYN004", (
            f"{ref.text} reads key {ref.json_key!r}, which secret {target} does not hold "
            f"(its keys: {known}): fix the key or the secret's SecretStringTemplate"
        )
    return None


RULE = Rule(("DYN001", "DYN002", "DYN003", "DYN004", "DYN005"), "dynamic references resolve", check)
