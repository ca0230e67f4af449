"""AUTH001, AUTH002: an ElastiCache AUTH token is made of characters Redis accepts (the
first PCI stack's token, generated with every character type required, was refused), and
AUTH requires in-transit encryption (the cure is a valid token, never turning TLS off)."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

from reconciler.findings import Finding
from reconciler.validation import dynrefs
from reconciler.validation.context import Context
from reconciler.validation.rule import Rule, error
from reconciler.validation.stack_view import Resource, StackView, stack_views

ALLOWED_PUNCTUATION = set("!&#$^<>-")
FORBIDDEN = "".join(c for c in string.punctuation if c not in ALLOWED_PUNCTUATION)


def token_problem(token: str) -> str | None:
    if not 16 <= len(token) <= 128:
        return f"is {len(token)} characters long; Redis takes 16 to 128"
    bad = sorted(
        {c for c in token if not (c.isalnum() and c.isascii()) and c not in ALLOWED_PUNCTUATION}
    )
    return f"holds characters Redis refuses ({len(bad)} kinds)" if bad else None


def generator_problem(spec: dict) -> str | None:
    """Why a GenerateSecretString may produce a token Redis refuses, or None."""
    length = int(spec.get("PasswordLength", 32))
    if not 16 <= length <= 128:
        return f"PasswordLength {length} is outside 16-128"
    if str(spec.get("IncludeSpace", False)).lower() == "true":
        return "IncludeSpace adds a space, which Redis refuses"
    if str(spec.get("ExcludePunctuation", False)).lower() == "true":
        return None
    missing = [c for c in FORBIDDEN if c not in str(spec.get("ExcludeCharacters", ""))]
    if missing:
        return (
            "it may generate punctuation Redis refuses: set ExcludePunctuation: true (or "
            f"ExcludeCharacters covering {FORBIDDEN})"
        )
    return None


def _secret(view: StackView, reference: dynrefs.DynamicReference) -> Resource | None:
    target = reference.template_secret
    found = view.by_id(target) if target else None
    return found if found and found.type == "AWS::SecretsManager::Secret" else None


def check(ctx: Context) -> Iterator[Finding]:
    for view in stack_views(ctx):
        stack = view.spec.stack_name
        for group in view.resources("AWS::ElastiCache::ReplicationGroup"):
            token = group.props.get("AuthToken")
            if token is None:
                continue
            if str(group.props.get("TransitEncryptionEnabled", False)).lower() != "true":
                msg = (
                    f"{group.logical_id}: AuthToken requires TransitEncryptionEnabled: true; keep "
                    "TLS on and make the token valid instead of turning encryption off"
                )
                yield error(view.path, group.line_of("AuthToken"), "AUTH002", msg, stack)
            raw = (group.node.get("Properties") or {}).get("AuthToken")
            for reference in dynrefs.find(
                {"Resources": {group.logical_id: {"Properties": {"AuthToken": raw}}}}
            ):
                secret = _secret(view, reference)
                if secret is None:
                    continue
                problem = _secret_problem(secret, reference.json_key)
                if problem:
                    msg = f"{secret.logical_id} feeds {group.logical_id}'s AuthToken, but {problem}"
                    line = secret.line_of("GenerateSecretString")
                    yield error(view.path, line, "AUTH001", msg, stack)
            if isinstance(token, str) and "{{resolve:" not in token:
                problem = token_problem(token)
                if problem:
                    msg = f"{group.logical_id}: the AuthToken {problem}: use letters and digits"
                    yield error(view.path, group.line_of("AuthToken"), "AUTH001", msg, stack)


def _secret_problem(secret: Resource, key: str) -> str | None:
    generate = secret.props.get("GenerateSecretString")
    if isinstance(generate, dict):
        if key and key != generate.get("GenerateStringKey"):
            return None  # the token is a fixed value of the template: checked below
        return generator_problem(generate)
    literal = secret.props.get("SecretString")
    if isinstance(literal, str):
        try:
            value = json.loads(literal).get(key, "") if key else literal
        except (ValueError, AttributeError):
            value = literal
        problem = token_problem(str(value))
        return f"its value {problem}" if problem else None
    return None


RULE = Rule(("AUTH001", "AUTH002"), "ElastiCache AUTH tokens are valid and need TLS", check)
