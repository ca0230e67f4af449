from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.findings import Finding, Severity
from reconciler.validation.context import Context


@dataclass(frozen=True)
class Rule:
    """A validation rule: ids follow cfn-lint's habit of a stable, greppable code."""

    ids: tuple[str, ...]
    description: str
    check: Callable[[Context], Iterable[Finding]]


def error(path: str, line: int, rule: str, message: str, stack: str = "") -> Finding:
    return Finding(path, line, rule, Severity.ERROR, message, stack)


def warning(path: str, line: int, rule: str, message: str, stack: str = "") -> Finding:
    return Finding(path, line, rule, Severity.WARNING, message, stack)
