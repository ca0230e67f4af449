from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.desired import DesiredState
from reconciler.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    """A validation rule: ids follow cfn-lint's habit of a stable, greppable code."""

    ids: tuple[str, ...]
    description: str
    check: Callable[[DesiredState], Iterable[Finding]]


def error(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, Severity.ERROR, message)


def warning(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, Severity.WARNING, message)
