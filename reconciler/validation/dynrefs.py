"""Dynamic references (`{{resolve:service:reference}}`) found in a template: where each
stands, whether Fn::Sub turns its `${X}` into a value, and its parts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

REFERENCE = re.compile(r"\{\{resolve:(.*?)\}\}")
SUB_VAR = re.compile(r"\$\{(?!!)([^}.]+)(?:\.[^}]+)?\}")


@dataclass(frozen=True)
class DynamicReference:
    text: str  # the whole {{resolve:...}}
    service: str
    parts: tuple[str, ...]  # what follows the service, split as CloudFormation does
    section: str  # Resources, Outputs, Metadata, ...
    logical_id: str  # the resource (or output) it stands in
    resource_type: str
    under_sub: bool  # inside an Fn::Sub string, so ${X} is substituted
    node: Any  # the key it stands under, as decoded (for its line)

    @property
    def variables(self) -> list[str]:
        return SUB_VAR.findall(self.text)

    @property
    def template_secret(self) -> str | None:
        """The logical id when the secret-id is exactly `${X}` under Fn::Sub, else None."""
        names = self.variables if self.under_sub else []
        return names[0] if names and self.secret_id == f"${{{names[0]}}}" else None

    @property
    def secret_id(self) -> str:
        return self.parts[0] if self.parts else ""

    @property
    def json_key(self) -> str:
        return self.parts[2] if len(self.parts) > 2 else ""


def _split(service: str, rest: str) -> tuple[str, ...]:
    if service == "secretsmanager" and rest.startswith("arn:"):
        pieces = rest.split(":")
        return (":".join(pieces[:7]), *pieces[7:])  # an ARN holds six colons itself
    return tuple(rest.split(":"))


def find(template: dict[str, Any]) -> Iterator[DynamicReference]:
    for section in ("Resources", "Outputs", "Metadata"):
        entries = template.get(section)
        if not isinstance(entries, dict):
            continue
        for logical_id, entry in entries.items():
            kind = entry.get("Type", "") if isinstance(entry, dict) else ""
            yield from _walk(entry, section, str(logical_id), str(kind), False, entry)


def _walk(value: Any, section: str, logical_id: str, kind: str, sub: bool, node: Any):
    if isinstance(value, str):
        for match in REFERENCE.finditer(value):
            service, _, rest = match.group(1).partition(":")
            yield DynamicReference(
                match.group(0), service, _split(service, rest), section, logical_id, kind, sub, node
            )
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, section, logical_id, kind, sub, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            # The key carries the line (cfn-lint's decoder marks every key it reads).
            yield from _walk(item, section, logical_id, kind, sub or key == "Fn::Sub", key)
