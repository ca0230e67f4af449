"""Findings: what validation reports. Values, not exceptions (as in cfn-lint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    path: str  # relative to the repository root
    line: int  # 1-based; 0 when the finding is about the whole file
    rule: str
    severity: Severity
    message: str
    # The stack whose parameters produced it (template findings); not part of identity,
    # so the same finding from two stacks sharing a template is reported once.
    stack: str = field(default="", compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message} [{self.rule}]"

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
        }


def has_errors(findings: list[Finding]) -> bool:
    return any(f.is_error for f in findings)
