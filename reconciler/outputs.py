"""Stack outputs published to SSM Parameter Store: which parameters to write and which
to delete. Pure: the adapter in reconciler/aws/ssm.py does the calls."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class OutputsChange:
    put: dict[str, str]  # parameter name -> value (new or changed)
    delete: tuple[str, ...]  # parameter names whose output disappeared
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.put and not self.delete


def parameter_name(outputs_path: str, output_key: str) -> str:
    return f"{outputs_path.rstrip('/')}/{output_key}"


def outputs_change(
    outputs_path: str, outputs: dict[str, str], existing: dict[str, str]
) -> OutputsChange:
    """`existing`: the parameters now under outputs_path that this stack owns."""
    desired = {parameter_name(outputs_path, k): v for k, v in outputs.items()}
    put = {name: value for name, value in desired.items() if existing.get(name) != value}
    delete = tuple(sorted(name for name in existing if name not in desired))
    return OutputsChange(put=put, delete=delete, unchanged=len(desired) - len(put))


def published(outputs: dict[str, str]) -> dict[str, str]:
    """The outputs SSM can hold: an empty value cannot be stored, so it is left out."""
    return {key: value for key, value in outputs.items() if value}


def outputs_digest(outputs_path: str, outputs: dict[str, str]) -> str:
    """A digest of what SSM should hold for a stack (its path and outputs). The status
    keeps the digest of the last outputs fully published, so a record is Synced only
    when it equals the live stack's."""
    canonical = json.dumps(
        {"path": outputs_path.rstrip("/"), "outputs": published(outputs)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class OutputsDrift:
    """Outputs whose parameter was changed or deleted behind the reconciler's back, by
    output key. Values are never kept here: an output may be sensitive."""

    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changed and not self.missing

    def __str__(self) -> str:
        parts = [f"{key} changed" for key in self.changed]
        parts += [f"{key} deleted" for key in self.missing]
        return ", ".join(parts)


def outputs_drift(
    outputs_path: str, outputs: dict[str, str], found: dict[str, str]
) -> OutputsDrift:
    """`found`: parameter name -> value now under outputs_path (whoever owns them)."""
    changed, missing = [], []
    for key, value in sorted(published(outputs).items()):
        name = parameter_name(outputs_path, key)
        if name not in found:
            missing.append(key)
        elif found[name] != value:
            changed.append(key)
    return OutputsDrift(tuple(changed), tuple(missing))
