"""Stack outputs in SSM Parameter Store. A stack owns the parameters it created, marked by
the `gitops-reconciler:stack` tag; anything else under its outputs path (written by hand,
by another tool, or by another stack) is never overwritten or deleted."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import botocore.exceptions

from reconciler.aws import session
from reconciler.errors import OutputsConflictError, OutputsNotPublishedError, OutputsRefusedError
from reconciler.outputs import OutputsChange, outputs_change

OWNER_TAG = "gitops-reconciler:stack"
BATCH = 10  # the most names GetParameters and DeleteParameters take


class SsmOutputs:
    def __init__(self, region: str | None = None, client: Any = None) -> None:
        self._client = client or session.client("ssm", region)

    def read(self, outputs_path: str, stack_name: str) -> dict[str, str]:
        """Name -> value of the parameters directly under outputs_path that the stack owns."""
        with session.aws_errors():
            return self._values(self._owned(outputs_path, stack_name))

    def publish(self, outputs_path: str, stack_name: str, outputs: dict[str, str]) -> OutputsChange:
        """Write new and changed outputs, delete the stack's parameters whose output is gone;
        an unchanged value is not rewritten (no new parameter version). SSM cannot store an
        empty string, so an empty output is left out, as if the stack had no such output.
        A name taken by a parameter the stack does not own raises OutputsConflictError
        before anything is written."""
        with session.aws_errors():
            existing = self.read(outputs_path, stack_name)
            outputs = {key: value for key, value in outputs.items() if value}
            change = outputs_change(outputs_path, outputs, existing)
            new = [name for name in change.put if name not in existing]
            if taken := self._values(new):
                raise OutputsConflictError({name: self._owner(name) for name in taken})
            for name, value in change.put.items():
                with _naming(name):
                    if name in existing:
                        self._client.put_parameter(
                            Name=name, Value=value, Type="String", Overwrite=True
                        )
                    else:
                        self._create(name, value, stack_name)
            for batch in _batches(change.delete):
                with _naming(", ".join(batch)):
                    self._client.delete_parameters(Names=batch)
        return change

    def under(self, outputs_path: str) -> dict[str, str]:
        """Name -> value of every parameter directly under outputs_path, whoever owns it:
        one GetParametersByPath per 10 parameters (no per-output call), for the schedule's
        comparison with the stacks' outputs."""
        with session.aws_errors():
            pages = self._client.get_paginator("get_parameters_by_path").paginate(
                Path=outputs_path.rstrip("/") or "/", Recursive=False
            )
            return {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}

    def _owned(self, outputs_path: str, stack_name: str) -> list[str]:
        filters = [
            {"Key": "Path", "Option": "OneLevel", "Values": [outputs_path.rstrip("/") or "/"]},
            {"Key": f"tag:{OWNER_TAG}", "Option": "Equals", "Values": [stack_name]},
        ]
        pages = self._client.get_paginator("describe_parameters").paginate(
            ParameterFilters=filters, PaginationConfig={"PageSize": 50}
        )
        return [p["Name"] for page in pages for p in page["Parameters"]]

    def _values(self, names: Sequence[str]) -> dict[str, str]:
        values = {}
        for batch in _batches(names):
            for p in self._client.get_parameters(Names=batch)["Parameters"]:
                values[p["Name"]] = p["Value"]
        return values

    def _create(self, name: str, value: str, stack_name: str) -> None:
        # Without Overwrite: a parameter created since the check is still never replaced.
        try:
            self._client.put_parameter(
                Name=name,
                Value=value,
                Type="String",
                Tags=[{"Key": OWNER_TAG, "Value": stack_name}],
            )
        except self._client.exceptions.ParameterAlreadyExists as err:
            raise OutputsConflictError({name: self._owner(name)}) from err

    def _owner(self, name: str) -> str | None:
        tags = self._client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        return next((t["Value"] for t in tags["TagList"] if t["Key"] == OWNER_TAG), None)


@contextmanager
def _naming(names: str) -> Iterator[None]:
    """A write that failed past botocore's retries, said with the parameter's name and
    AWS's error code only: an error message may echo the value, which may be sensitive."""
    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        operation = getattr(err, "operation_name", "") or "SSM call"
        code = session.error_code(err) or type(err).__name__
        kind = OutputsNotPublishedError if _transient(err) else OutputsRefusedError
        # `from None`: a traceback of the chained error would show AWS's message.
        raise kind(
            f"outputs not fully published: AWS {operation} of {names} failed ({code})"
        ) from None


TRANSIENT_CODES = frozenset({"TooManyUpdates"})  # a concurrent update of the parameter


def _transient(err: Exception) -> bool:
    """Throttling, 5xx and connection errors may pass next time; any other 4xx is SSM
    refusing the write itself."""
    if not isinstance(err, botocore.exceptions.ClientError):
        return True
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
    code = session.error_code(err)
    return status >= 500 or status == 429 or "Throttl" in code or code in TRANSIENT_CODES


def _batches(names: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(names), BATCH):
        yield list(names[start : start + BATCH])
