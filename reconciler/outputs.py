"""Stack outputs published to SSM Parameter Store: which parameters to write and which
to delete. Pure: the adapter in reconciler/aws/ssm.py does the calls."""

from __future__ import annotations

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
