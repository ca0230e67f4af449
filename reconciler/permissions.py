"""What an IAM role's policies allow, asked one action at a time: enough to tell, before
a stack update, that the CloudFormation execution role lacks an action a resource type's
handlers need. Deliberately permissive where a static reading cannot know: an Allow
counts whatever its Resource and Condition say, and only a Deny on every resource
without a Condition counts against an action. So "allowed" here may still be denied at
run time for one resource (and service control policies are not seen); "not allowed"
is certain for the policies read."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]  # patterns; empty with `negated`: NotAction lists them
    negated: bool = False  # NotAction: matches every action but these
    unconditional: bool = True  # no Condition, and Resource "*" (or NotResource absent)

    def matches(self, action: str) -> bool:
        hit = any(_pattern(p).fullmatch(action) for p in self.actions)
        return not hit if self.negated else hit


@dataclass(frozen=True)
class Permissions:
    """The statements of a role's policies; `boundary`, when the role has a permissions
    boundary, must allow an action too."""

    statements: tuple[Statement, ...]
    boundary: Permissions | None = None

    def allows(self, action: str) -> bool:
        denied = any(not s.allow and s.unconditional and s.matches(action) for s in self.statements)
        allowed = any(s.allow and s.matches(action) for s in self.statements)
        within = self.boundary is None or self.boundary.allows(action)
        return allowed and not denied and within

    def missing(self, actions: Iterable[str]) -> list[str]:
        return sorted({a for a in actions if not self.allows(a)}, key=str.lower)


def from_documents(documents: Iterable[Any], boundary: Any = None) -> Permissions:
    """Permissions from policy documents (parsed JSON)."""
    found = tuple(s for doc in documents for s in statements(doc))
    return Permissions(found, from_documents([boundary]) if boundary is not None else None)


def statements(document: Any) -> Iterator[Statement]:
    if not isinstance(document, Mapping):
        return
    listed = document.get("Statement") or ()
    for raw in [listed] if isinstance(listed, Mapping) else listed:
        if not isinstance(raw, Mapping) or raw.get("Effect") not in ("Allow", "Deny"):
            continue
        negated = "NotAction" in raw
        actions = _strings(raw.get("NotAction" if negated else "Action"))
        everywhere = "NotResource" not in raw and "*" in _strings(raw.get("Resource", "*"))
        yield Statement(
            raw["Effect"] == "Allow", actions, negated, everywhere and not raw.get("Condition")
        )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards (`*`, `?`), case-insensitive; nothing else is special (fnmatch's
    `[...]` is not IAM's)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE)
