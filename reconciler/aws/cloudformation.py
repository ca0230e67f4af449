"""CloudFormation adapter: observes stacks and runs change sets. Translates AWS's
CamelCase into the reconciler's values at this boundary."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import botocore.exceptions

from reconciler.aws import session
from reconciler.diff import Replacement, ReportedChange
from reconciler.drift import PropertyDrift, ResourceDrift, ResourceDriftStatus
from reconciler.live import LiveStack
from reconciler.yamlfile import parse

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class ChangeSet:
    name: str
    stack_name: str
    region: str
    status: str  # CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, ...
    execution_status: str
    reason: str
    changes: tuple[ReportedChange, ...]
    stack_id: str = ""  # the stack's ARN: a CREATE change set makes a new stack id

    @property
    def ready(self) -> bool:
        return self.status == "CREATE_COMPLETE" and self.execution_status == "AVAILABLE"

    @property
    def pending(self) -> bool:
        return self.status in ("CREATE_PENDING", "CREATE_IN_PROGRESS")

    @property
    def empty(self) -> bool:
        """CloudFormation found nothing to change."""
        return self.status == "FAILED" and any(s in self.reason for s in NO_CHANGES)


@dataclass(frozen=True)
class StackRefactor:
    """A stack refactor as DescribeStackRefactor (or ListStackRefactors) says it is."""

    refactor_id: str
    description: str
    status: str  # CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED, DELETE_*
    execution_status: str  # UNAVAILABLE, AVAILABLE, OBSOLETE, EXECUTE_*, ROLLBACK_*
    reason: str = ""  # StatusReason, else ExecutionStatusReason

    @property
    def executed(self) -> bool:
        return self.execution_status == "EXECUTE_COMPLETE"

    @property
    def working(self) -> bool:
        """Being validated or executed: come back later."""
        return self.status == "CREATE_IN_PROGRESS" or self.execution_status in (
            "EXECUTE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
        )

    @property
    def refused(self) -> bool:
        """CloudFormation's validation refused it."""
        return self.status == "CREATE_FAILED"

    @property
    def available(self) -> bool:
        return self.status == "CREATE_COMPLETE" and self.execution_status == "AVAILABLE"

    @property
    def execution_failed(self) -> bool:
        return self.execution_status in ("EXECUTE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")


# Which of a description's refactors counts when a retried event finds several: one done,
# one under way, one ready, then one refused; a failed execution only when nothing else.
_REFACTOR_RANK = ("executed", "working", "available", "refused", "execution_failed")


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    timestamp: str
    logical_id: str
    resource_type: str
    status: str
    reason: str


@dataclass(frozen=True)
class OwnedResource:
    """A resource a stack owns, as DescribeStackResources names it."""

    stack_name: str
    stack_id: str
    logical_id: str
    resource_type: str
    physical_id: str = ""


class CloudFormation:
    """`role_arn`: the service role CloudFormation assumes for every stack operation the
    reconciler starts (CLOUDFORMATION_ROLE_ARN), so the reconciler itself needs no
    permission on the stacks' resources. Every botocore exception leaves it as a
    one-line AwsError (PermanentAwsError when AWS refused the request itself)."""

    def __init__(
        self, client_for: Callable[[str, str], Any] | None = None, role_arn: str = ""
    ) -> None:
        self._client_for = client_for or session.client
        self._role = {"RoleARN": role_arn} if role_arn else {}

    def _cfn(self, region: str) -> Any:
        return self._client_for("cloudformation", region)

    # --- observe -------------------------------------------------------------------

    @session.aws_errors()
    def list_stacks(self, regions: Iterable[str]) -> dict[tuple[str, str], LiveStack]:
        """Every stack in the regions: one paginated DescribeStacks per region."""
        found = {}
        for region in sorted(set(regions)):
            for page in self._cfn(region).get_paginator("describe_stacks").paginate():
                for raw in page["Stacks"]:
                    stack = _live(raw, region)
                    found[(region, stack.name)] = stack
        return found

    @session.aws_errors()
    def describe_stack(self, name: str, region: str) -> LiveStack | None:
        try:
            stacks = self._cfn(region).describe_stacks(StackName=name)["Stacks"]
        except botocore.exceptions.ClientError as err:
            if "does not exist" in session.error_message(err):
                return None
            raise
        return _live(stacks[0], region) if stacks else None

    def _deployed_body(self, stack: LiveStack) -> str | dict[str, Any]:
        """The deployed template: text, or a dict (boto3 decodes JSON bodies itself)."""
        answer = self._cfn(stack.region).get_template(
            StackName=stack.name, TemplateStage="Original"
        )
        return answer["TemplateBody"]

    @session.aws_errors()
    def get_template(self, stack: LiveStack) -> dict[str, Any]:
        body = self._deployed_body(stack)
        if isinstance(body, dict):
            return body
        data, error = parse(body)
        return data if isinstance(data, dict) and error is None else {}

    @session.aws_errors()
    def events(
        self, name: str, region: str, seen: set[str], since: datetime | None = None
    ) -> list[StackEvent]:
        """Stack events not in `seen` (which is updated) and not older than `since`,
        oldest first. Pages stop at the first event already seen or too old, so a stack's
        whole history is never read."""
        new = []
        for page in (
            self._cfn(region).get_paginator("describe_stack_events").paginate(StackName=name)
        ):
            events = page["StackEvents"]
            fresh = [
                e
                for e in events
                if e["EventId"] not in seen and (since is None or e["Timestamp"] >= since)
            ]
            new.extend(fresh)
            if len(fresh) < len(events):
                break  # reached events already shown, or older than this operation
        seen.update(e["EventId"] for e in new)
        return [
            StackEvent(
                e["EventId"],
                e["Timestamp"].isoformat()
                if hasattr(e["Timestamp"], "isoformat")
                else str(e["Timestamp"]),
                e.get("LogicalResourceId", ""),
                e.get("ResourceType", ""),
                e.get("ResourceStatus", ""),
                e.get("ResourceStatusReason", ""),
            )
            for e in reversed(new)
        ]

    # --- change sets ---------------------------------------------------------------

    @session.aws_errors()
    def create_change_set(
        self,
        *,
        name: str,
        stack_name: str,
        region: str,
        template_body: str,
        parameters: dict[str, str],
        tags: dict[str, str],
        create: bool,
        wait_seconds: int,
        revert_drift: bool = False,
    ) -> ChangeSet:
        """Create the named change set, or pick up the one a previous attempt left (the
        name is derived from the desired hash, so a retried event reuses it). Waits at
        most `wait_seconds` for CloudFormation to compute it: seconds, never a stack
        operation."""
        cfn = self._cfn(region)
        extra = {"DeploymentMode": "REVERT_DRIFT"} if revert_drift else {}
        try:
            cfn.create_change_set(
                **extra,
                **self._role,
                ChangeSetName=name,
                StackName=stack_name,
                TemplateBody=template_body,
                Parameters=[
                    # A drift repair keeps the deployed values (NoEcho ones come back masked).
                    {"ParameterKey": k, "UsePreviousValue": True}
                    if revert_drift
                    else {"ParameterKey": k, "ParameterValue": v}
                    for k, v in sorted(parameters.items())
                ],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                Capabilities=CAPABILITIES,
                ChangeSetType="CREATE" if create else "UPDATE",
                Description="gitops-reconciler",
            )
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) != "AlreadyExistsException":
                raise
        if wait_seconds > 0:
            self._wait(cfn, name, stack_name, wait_seconds)
        return self.describe_change_set(name, stack_name, region)

    def _wait(self, cfn: Any, name: str, stack_name: str, wait_seconds: int) -> None:
        delay = 2
        waiter = cfn.get_waiter("change_set_create_complete")
        # On FAILED or still pending the waiter raises; the describe that follows says which.
        with contextlib.suppress(botocore.exceptions.WaiterError):
            waiter.wait(
                ChangeSetName=name,
                StackName=stack_name,
                WaiterConfig={"Delay": delay, "MaxAttempts": max(1, wait_seconds // delay)},
            )

    @session.aws_errors()
    def describe_change_set(self, name: str, stack_name: str, region: str) -> ChangeSet:
        cfn = self._cfn(region)
        changes: list[ReportedChange] = []
        kwargs: dict[str, Any] = {"ChangeSetName": name, "StackName": stack_name}
        while True:
            page = cfn.describe_change_set(**kwargs)
            changes.extend(
                _reported(c["ResourceChange"])
                for c in page.get("Changes", [])
                if "ResourceChange" in c
            )
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return ChangeSet(
            name=name,
            stack_name=stack_name,
            region=region,
            status=page.get("Status", ""),
            execution_status=page.get("ExecutionStatus", ""),
            reason=page.get("StatusReason", ""),
            changes=tuple(changes),
            stack_id=page.get("StackId", ""),
        )

    @session.aws_errors()
    def execute_change_set(self, change_set: ChangeSet, token: str) -> None:
        self._cfn(change_set.region).execute_change_set(
            ChangeSetName=change_set.name, StackName=change_set.stack_name, ClientRequestToken=token
        )

    @session.aws_errors()
    def delete_change_set(self, change_set: ChangeSet) -> None:
        self._cfn(change_set.region).delete_change_set(
            ChangeSetName=change_set.name, StackName=change_set.stack_name
        )

    @session.aws_errors()
    def discard_change_set(self, name: str, stack_name: str, region: str) -> None:
        """Delete a change set by name; one already gone is fine."""
        try:
            self._cfn(region).delete_change_set(ChangeSetName=name, StackName=stack_name)
        except botocore.exceptions.ClientError as err:
            if session.error_code(err) != "ChangeSetNotFound":
                raise

    @session.aws_errors()
    def retained_resources(self, stack: LiveStack) -> list[tuple[str, str]]:
        """(logical id, type) of the resources a rollback kept (DeletionPolicy Retain or
        Snapshot leave them behind as DELETE_SKIPPED)."""
        pages = (
            self._cfn(stack.region)
            .get_paginator("list_stack_resources")
            .paginate(StackName=stack.stack_id)
        )
        return [
            (r["LogicalResourceId"], r["ResourceType"])
            for page in pages
            for r in page["StackResourceSummaries"]
            if r["ResourceStatus"] == "DELETE_SKIPPED"
        ]

    @session.aws_errors()
    def delete_stack(self, stack: LiveStack, token: str) -> None:
        """Only for a stack that failed to create and holds nothing (ROLLBACK_COMPLETE)."""
        self._cfn(stack.region).delete_stack(
            StackName=stack.stack_id, ClientRequestToken=token, **self._role
        )

    # --- drift ---------------------------------------------------------------------

    @session.aws_errors()
    def detect_drift(self, name: str, region: str) -> str:
        return self._cfn(region).detect_stack_drift(StackName=name)["StackDriftDetectionId"]

    @session.aws_errors()
    def drift_detection(self, detection_id: str, region: str) -> tuple[str, str]:
        """(DetectionStatus, StackDriftStatus) of one detection."""
        answer = self._cfn(region).describe_stack_drift_detection_status(
            StackDriftDetectionId=detection_id
        )
        return answer["DetectionStatus"], answer.get("StackDriftStatus", "")

    @session.aws_errors()
    def owned(self, physical_id: str, region: str) -> list[OwnedResource]:
        """The resources of the stack that owns a resource, by its physical id
        (DescribeStackResources with PhysicalResourceId), that have that physical id: one
        name can be a database's, its subnet group's and its parameter group's. [] when no
        stack in the region owns it."""
        try:
            answer = self._cfn(region).describe_stack_resources(PhysicalResourceId=physical_id)
        except botocore.exceptions.ClientError as err:
            if "does not exist" in session.error_message(err):
                return []
            raise
        return [
            _owned(raw)
            for raw in answer.get("StackResources", [])
            if raw.get("PhysicalResourceId") == physical_id
        ]

    @session.aws_errors()
    def stack_resources(self, stack_id: str, region: str) -> list[OwnedResource]:
        """Every resource of one stack, by its id (ListStackResources, paginated:
        DescribeStackResources stops at 100)."""
        name = stack_id.split(":stack/", 1)[-1].split("/", 1)[0]
        pages = self._cfn(region).get_paginator("list_stack_resources").paginate(StackName=stack_id)
        return [
            _owned({**raw, "StackName": name, "StackId": stack_id})
            for page in pages
            for raw in page.get("StackResourceSummaries", [])
        ]

    @session.aws_errors()
    def resource_drift(self, name: str, logical_id: str, region: str) -> ResourceDrift:
        """DetectStackResourceDrift: one resource, answered at once (no event)."""
        answer = self._cfn(region).detect_stack_resource_drift(
            StackName=name, LogicalResourceId=logical_id
        )
        return _drift(answer["StackResourceDrift"])

    @session.aws_errors()
    def resource_drifts(self, name: str, region: str) -> list[ResourceDrift]:
        cfn = self._cfn(region)
        kwargs: dict[str, Any] = {"StackName": name}
        found = []
        while True:
            page = cfn.describe_stack_resource_drifts(**kwargs)
            found += [_drift(d) for d in page["StackResourceDrifts"]]
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    # --- stack refactoring ---------------------------------------------------------

    @session.aws_errors()
    def find_stack_refactor(self, description: str, region: str) -> StackRefactor | None:
        """The refactor a previous attempt made under this description (the reconciler's
        idempotency token), if CloudFormation still lists it; obsolete ones do not count."""
        found = []
        paginator = self._cfn(region).get_paginator("list_stack_refactors")
        for page in paginator.paginate():
            for raw in page.get("StackRefactorSummaries", []):
                if raw.get("Description") == description:
                    found.append(_refactor(raw))
        for kind in _REFACTOR_RANK:
            for refactor in found:
                if getattr(refactor, kind):
                    return refactor
        return None

    @session.aws_errors()
    def create_stack_refactor(
        self,
        *,
        description: str,
        region: str,
        templates: dict[str, str],
        mappings: Iterable[tuple[tuple[str, str], tuple[str, str]]],
    ) -> StackRefactor:
        """Create the refactor (CloudFormation validates it) and describe it once: never
        waits. `mappings`: ((stack, logical id), (stack, logical id)) source, destination."""
        cfn = self._cfn(region)
        answer = cfn.create_stack_refactor(
            Description=description,
            EnableStackCreation=False,
            StackDefinitions=[
                {"StackName": name, "TemplateBody": body} for name, body in templates.items()
            ],
            ResourceMappings=[
                {
                    "Source": {"StackName": src[0], "LogicalResourceId": src[1]},
                    "Destination": {"StackName": dst[0], "LogicalResourceId": dst[1]},
                }
                for src, dst in mappings
            ],
        )
        return self.describe_stack_refactor(answer["StackRefactorId"], region)

    @session.aws_errors()
    def describe_stack_refactor(self, refactor_id: str, region: str) -> StackRefactor:
        raw = self._cfn(region).describe_stack_refactor(StackRefactorId=refactor_id)
        return _refactor(raw)

    @session.aws_errors()
    def stack_refactor_actions(self, refactor_id: str, region: str) -> list[dict[str, Any]]:
        """What CloudFormation says executing the refactor will do (ListStackRefactorActions)."""
        paginator = self._cfn(region).get_paginator("list_stack_refactor_actions")
        return [
            action
            for page in paginator.paginate(StackRefactorId=refactor_id)
            for action in page.get("StackRefactorActions", [])
        ]

    @session.aws_errors()
    def execute_stack_refactor(self, refactor_id: str, region: str) -> StackRefactor:
        """Start the refactor and describe it once: never waits."""
        cfn = self._cfn(region)
        cfn.execute_stack_refactor(StackRefactorId=refactor_id)
        return self.describe_stack_refactor(refactor_id, region)

    @session.aws_errors()
    def template_body(self, stack: LiveStack) -> str:
        """The deployed template as text (YAML or JSON), for a drift repair."""
        body = self._deployed_body(stack)
        return body if isinstance(body, str) else json.dumps(body)

    @session.aws_errors()
    def update_tags(self, stack: LiveStack, tags: dict[str, str], token: str) -> None:
        """Only the stack's tags change (the template and parameters stay as deployed)."""
        self._cfn(stack.region).update_stack(
            StackName=stack.name,
            UsePreviousTemplate=True,
            Parameters=[
                {"ParameterKey": k, "UsePreviousValue": True} for k in sorted(stack.parameters)
            ],
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            Capabilities=CAPABILITIES,
            ClientRequestToken=token,
            **self._role,
        )


def _live(raw: dict[str, Any], region: str) -> LiveStack:
    return LiveStack(
        name=raw["StackName"],
        stack_id=raw.get("StackId", ""),
        region=region,
        status=raw.get("StackStatus", ""),
        status_reason=raw.get("StackStatusReason", ""),
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in raw.get("Parameters", [])
        },
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in raw.get("Outputs", [])},
    )


def _refactor(raw: dict[str, Any]) -> StackRefactor:
    status = raw.get("Status", "")
    reason = raw.get("StatusReason", "") if status == "CREATE_FAILED" else ""
    return StackRefactor(
        refactor_id=raw.get("StackRefactorId", ""),
        description=raw.get("Description", ""),
        status=status,
        execution_status=raw.get("ExecutionStatus", ""),
        reason=reason or raw.get("ExecutionStatusReason", "") or raw.get("StatusReason", ""),
    )


def _owned(raw: dict[str, Any]) -> OwnedResource:
    return OwnedResource(
        raw["StackName"],
        raw["StackId"],
        raw["LogicalResourceId"],
        raw["ResourceType"],
        raw.get("PhysicalResourceId", ""),
    )


def _drift(raw: dict[str, Any]) -> ResourceDrift:
    return ResourceDrift(
        logical_id=raw["LogicalResourceId"],
        resource_type=raw.get("ResourceType", ""),
        physical_id=raw.get("PhysicalResourceId", ""),
        status=ResourceDriftStatus(raw["StackResourceDriftStatus"]),
        properties=tuple(
            PropertyDrift(
                d.get("PropertyPath", ""),
                str(d.get("ExpectedValue", "")),
                str(d.get("ActualValue", "")),
                d.get("DifferenceType", ""),
            )
            for d in raw.get("PropertyDifferences", [])
        ),
    )


def _reported(raw: dict[str, Any]) -> ReportedChange:
    replacement = raw.get("Replacement")
    targets = [d.get("Target", {}) for d in raw.get("Details", [])]
    causes = tuple(
        f"{t.get('Name', '')} changes ({t['RequiresRecreation'].lower()} recreates)"
        for t in targets
        if t.get("RequiresRecreation") in ("Always", "Conditionally")
    )
    return ReportedChange(
        logical_id=raw.get("LogicalResourceId", ""),
        resource_type=raw.get("ResourceType", ""),
        action=raw.get("Action", "Modify"),
        replacement=Replacement(replacement)
        if replacement in {"True", "False", "Conditional"}
        else None,
        causes=causes,
    )
