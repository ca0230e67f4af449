"""Stand-in for CloudFormation rolling a stack back when one of its resources fails.

AWS behaviour: CreateStack, UpdateStack and ExecuteChangeSet return at once and the work
goes on asynchronously. When a resource fails, the resource gets a CREATE_FAILED or
UPDATE_FAILED event whose reason says why, and the stack rolls back: a failed create
deletes what was created and ends ROLLBACK_COMPLETE (it can then only be deleted); a
failed update puts the previous template, parameters and resource properties back,
deletes the resources the update added, and ends UPDATE_ROLLBACK_COMPLETE. Resources that
an update removes from the template are deleted only in the cleanup phase after success,
and are kept (not deleted) when their DeletionPolicy is Retain.

moto 5.2.5 has no rollback: an exception inside a resource ends the API call with an
error (often an HTTP 500), the stack stays CREATE_IN_PROGRESS (or keeps its old status
after an update) with whatever was created left behind, and an update deletes removed
resources first, whatever their DeletionPolicy, before it knows whether the rest works.

This module rolls back for one kind of failure only: `ResourceFailed`, which localaws's
own extensions raise where AWS would fail a resource (a dynamic reference that does not
resolve, a Lambda whose code object is missing, a custom resource that cannot run here, a
property the resource's service or schema refuses in the ElastiCache and Secrets Manager
models). `service_failure` shapes the reason as a resource handler reports a service error.
Any other exception keeps moto's behaviour, so moto's own errors stay visible. Updates
also delete removed resources last, as AWS's cleanup phase does: Retain ones are kept,
and a logical id removed and later added back is created again (moto reused the deleted
object). Failure events are resource events: CREATE_FAILED or UPDATE_FAILED with the
reason, then the stack's ROLLBACK_* or UPDATE_ROLLBACK_* statuses.

Limits: the previous state is put back by applying the previous properties again, so a
resource that the update replaced (a create-only change) comes back as yet another
replacement with a new physical id, and a resource type moto cannot update keeps its
current state. Rollback itself failing ends in ROLLBACK_FAILED / UPDATE_ROLLBACK_FAILED.
Reasons name resources and references, never resolved values.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED_MARK = "_localaws_rollback"
# Set on a ResourceMap while an update runs: the logical ids updated so far, in order.
_UPDATED = "_localaws_updated"
_MAX_PASSES = 5  # as moto's MAX_UPDATE_ATTEMPTS: dependencies may need several passes


class ResourceFailed(Exception):
    """A resource CloudFormation could not create or update: the stack operation rolls back.

    `reason` becomes the resource event's status reason, so it must never carry a
    resolved secret or parameter value. The logical id and type are filled in by the
    innermost resource being created or updated when the raiser does not know them.
    """

    def __init__(
        self, reason: str, logical_id: str | None = None, resource_type: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.operation: str | None = None  # CREATE or UPDATE

    def locate(self, logical_id: str, resource_type: str, operation: str) -> None:
        if self.logical_id is None:
            self.logical_id, self.resource_type = logical_id, resource_type
        if self.operation is None:
            self.operation = operation


def service_failure(
    service: str, error_code: str, message: str, status_code: int = 400
) -> ResourceFailed:
    """A resource failed because its service refused a call, with the reason shaped as a
    CloudFormation resource handler reports it in the stack events:

        Resource handler returned message: "<message> (Service: <service>, Status Code:
        <status>, Request ID: <id>)" (RequestToken: <id>, HandlerErrorCode: <code>)

    `message` is the service's error message; it must not quote a secret or token.
    """
    if "NotFound" in error_code:
        handler_error_code = "NotFound"
    elif "AlreadyExists" in error_code or "ResourceExists" in error_code:
        handler_error_code = "AlreadyExists"
    else:
        handler_error_code = "InvalidRequest"
    return ResourceFailed(
        f'Resource handler returned message: "{message} (Service: {service}, '
        f'Status Code: {status_code}, Request ID: {uuid.uuid4()})" '
        f"(RequestToken: {uuid.uuid4()}, HandlerErrorCode: {handler_error_code})"
    )


def install() -> None:
    """Teach moto's CloudFormation to roll back on `ResourceFailed`. Safe to call again."""
    from moto.cloudformation import models, parsing

    if getattr(parsing.ResourceMap, _INSTALLED_MARK, False):
        return
    _patch_resource_parsing(parsing)
    _patch_resource_map_update(parsing)
    _patch_stack_operations(models)
    setattr(parsing.ResourceMap, _INSTALLED_MARK, True)


# --- where a resource fails: name it --------------------------------------------------------


def _patch_resource_parsing(parsing: Any) -> None:
    moto_create = parsing.parse_and_create_resource
    moto_update = parsing.parse_and_update_resource

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        try:
            return moto_create(logical_id, resource_json, resources_map, *args, **kw)
        except ResourceFailed as failure:
            failure.locate(logical_id, resource_json["Type"], "CREATE")
            raise

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, *args: Any, **kw: Any
    ) -> Any:
        try:
            resource = moto_update(logical_id, resource_json, resources_map, *args, **kw)
        except ResourceFailed as failure:
            failure.locate(logical_id, resource_json["Type"], "UPDATE")
            raise
        updated = getattr(resources_map, _UPDATED, None)
        if updated is not None:
            updated.append(logical_id)
        return resource

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource


# --- resources: defer removal, undo a failed update -----------------------------------------


@dataclass(frozen=True)
class _Before:
    """What a ResourceMap update changes, as it was before the update."""

    template: dict[str, Any]
    resource_json_map: dict[str, Any]
    input_parameters: Any
    resolved_parameters: dict[str, Any]
    no_echo_parameter_keys: Any
    lazy_condition_map: Any
    parsed: dict[str, Any]

    @classmethod
    def take(cls, resource_map: Any) -> _Before:
        return cls(
            template=resource_map._template,
            resource_json_map=resource_map._resource_json_map,
            input_parameters=resource_map.input_parameters,
            resolved_parameters=dict(resource_map.resolved_parameters),
            no_echo_parameter_keys=getattr(resource_map, "no_echo_parameter_keys", []),
            lazy_condition_map=getattr(resource_map, "lazy_condition_map", None),
            parsed=dict(resource_map._parsed_resources),
        )


def _patch_resource_map_update(parsing: Any) -> None:
    resource_map_class = parsing.ResourceMap
    moto_update = resource_map_class.update
    moto_build_resource_diff = resource_map_class.build_resource_diff
    # The resource map whose update this thread runs: its removals wait for the cleanup.
    deferring = threading.local()

    def build_resource_diff(
        self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff = moto_build_resource_diff(self, template, parameters)
        if getattr(deferring, "resource_map", None) is self:
            diff["Remove"] = []
        return diff

    def update(
        self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> None:
        removed = moto_build_resource_diff(self, template, parameters)["Remove"]
        before = _Before.take(self)
        # moto deletes removed resources first; AWS deletes them after everything else
        # worked. Hide them from moto's pass and delete them below.
        deferring.resource_map = self
        setattr(self, _UPDATED, [])
        try:
            moto_update(self, template, parameters)
        except ResourceFailed:
            updated = getattr(self, _UPDATED)
            delattr(self, _UPDATED)
            _undo_update(self, before, template.get("Resources") or {}, updated)
            raise
        finally:
            deferring.resource_map = None
            if hasattr(self, _UPDATED):
                delattr(self, _UPDATED)
        _delete_removed(self, removed, before.resource_json_map)

    resource_map_class.build_resource_diff = build_resource_diff
    resource_map_class.update = update


def _delete_removed(resource_map: Any, names: list[str], old_json_map: dict[str, Any]) -> None:
    """The cleanup phase: delete what the update removed from the template, keeping the
    resources whose DeletionPolicy is Retain. A failed deletion leaves the resource
    behind and the update complete, as on AWS."""
    remaining = list(names)
    for _ in range(_MAX_PASSES):
        for name in list(remaining):
            resource = resource_map._parsed_resources.get(name)
            resource_json = old_json_map[name]
            try:
                if resource is not None and resource_json.get("DeletionPolicy") != "Retain":
                    resource_map._delete_resource(resource, resource_json)
            except Exception:  # a dependency may go first in a later pass
                continue
            resource_map._parsed_resources.pop(name, None)
            remaining.remove(name)
        if not remaining:
            return
    for name in remaining:
        logger.warning("localaws: removed resource %s could not be deleted; left behind", name)


class RollbackFailed(Exception):
    """Putting the previous state back failed too (ROLLBACK_FAILED on AWS)."""


def _undo_update(
    resource_map: Any, before: _Before, attempted: dict[str, Any], updated: list[str]
) -> None:
    """Put the resource map back as it was before a failed update: previous template and
    parameters, previous properties on the resources updated so far, and no resources
    that the update created."""
    current = dict(resource_map._parsed_resources)
    added = [name for name in current if name in attempted and name not in before.resource_json_map]

    resource_map._template = before.template
    resource_map._resource_json_map = before.resource_json_map
    resource_map.input_parameters = before.input_parameters
    resource_map.resolved_parameters = before.resolved_parameters
    resource_map.no_echo_parameter_keys = before.no_echo_parameter_keys
    resource_map.lazy_condition_map = before.lazy_condition_map
    parsed = resource_map._parsed_resources
    parsed.clear()
    parsed.update(before.parsed)
    for name in updated:
        # None: moto could not update the type and dropped it; the old object stands.
        if name in before.resource_json_map and current.get(name) is not None:
            parsed[name] = current[name]

    problems: list[str] = []
    for name in reversed(updated):
        if name not in before.resource_json_map or current.get(name) is None:
            continue
        problems += _reapply(resource_map, name, before.resource_json_map[name])
    problems += _delete_added(resource_map, [(n, current[n], attempted[n]) for n in added])
    if problems:
        raise RollbackFailed("; ".join(problems))


def _reapply(resource_map: Any, name: str, resource_json: dict[str, Any]) -> list[str]:
    from moto.cloudformation import parsing

    try:
        resource = parsing.parse_and_update_resource(
            name,
            resource_json,
            resource_map,
            account_id=resource_map._account_id,
            region_name=resource_map._region_name,
        )
    except Exception as error:
        logger.warning("localaws: rollback could not restore %s: %s", name, type(error).__name__)
        return [f"{name} could not be restored"]
    if resource is not None:
        resource_map._parsed_resources[name] = resource
    return []


def _delete_added(resource_map: Any, added: list[tuple[str, Any, dict[str, Any]]]) -> list[str]:
    """Delete resources in reverse creation order (moto creates dependencies first)."""
    remaining = [entry for entry in reversed(added) if entry[1] is not None]
    for _ in range(_MAX_PASSES):
        for entry in list(remaining):
            name, resource, resource_json = entry
            try:
                resource_map._delete_resource(resource, resource_json)
            except Exception:
                continue
            resource_map._parsed_resources.pop(name, None)
            remaining.remove(entry)
        if not remaining:
            return []
    return [f"{name} could not be deleted" for name, _, _ in remaining]


# --- stacks: statuses and events ------------------------------------------------------------


def _patch_stack_operations(models: Any) -> None:
    backend_class = models.CloudFormationBackend
    moto_create_stack = backend_class.create_stack
    moto_execute_change_set = backend_class.execute_change_set
    moto_stack_update = models.Stack.update

    def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return moto_create_stack(self, name, *args, **kwargs)
        except ResourceFailed as failure:
            stack = next(s for s in self.stacks.values() if s.name == name)
            if not stack.events:  # failed while moto evaluated exports, before its event
                stack._add_stack_event(
                    "CREATE_IN_PROGRESS", resource_status_reason="User Initiated"
                )
            for export_name in [
                n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id
            ]:
                del self.exports[export_name]
            _roll_back_create(stack, failure)
            return stack

    def update(self: Any, template: str, *args: Any, **kwargs: Any) -> None:
        previous = self.template
        try:
            moto_stack_update(self, template, *args, **kwargs)
        except (ResourceFailed, RollbackFailed) as error:
            self.template = previous
            self._parse_template()
            _record_update_rollback(self, error)

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = _find_change_set(self, change_set_name, stack_name)
        try:
            moto_execute_change_set(self, change_set_name, stack_name)
        except (ResourceFailed, RollbackFailed) as error:
            if change_set is None:
                raise
            stack = self.stacks[change_set.stack_id]
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                stack.template = change_set.template
                stack._parse_template()
                stack.parameters = change_set.parameters
                if change_set.tags is not None:
                    stack.tags = change_set.tags
                _record_create_rollback(stack, error)
            else:
                _record_update_rollback(stack, error)
            # As after any execution, the stack's change sets are gone.
            for arn in [a for a, c in self.change_sets.items() if c.stack_id == stack.stack_id]:
                del self.change_sets[arn]

    backend_class.create_stack = create_stack
    backend_class.execute_change_set = execute_change_set
    models.Stack.update = update


def _find_change_set(backend: Any, change_set_name: str, stack_name: str | None) -> Any:
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    return next(
        (
            c
            for c in backend.change_sets.values()
            if c.change_set_name == change_set_name
            and stack_name in (None, c.stack_name, c.stack_id)
        ),
        None,
    )


def _roll_back_create(stack: Any, failure: ResourceFailed) -> None:
    """moto created resources up to the failure: delete them (Retain ones stay, as AWS keeps
    them on a create rollback too) and leave the stack with no resources or outputs."""
    resource_map = stack.resource_map
    error: ResourceFailed | RollbackFailed = failure
    try:
        resource_map.delete()
    except Exception as delete_error:
        logger.warning("localaws: create rollback left resources: %s", type(delete_error).__name__)
        error = _with_cause(RollbackFailed("resources could not be deleted"), failure)
    # Only what still exists stays listed; anything else moto would create again lazily.
    resource_map._resource_json_map = {
        name: resource_json
        for name, resource_json in resource_map._resource_json_map.items()
        if resource_map._parsed_resources.get(name) is not None
    }
    _record_create_rollback(stack, error)


def _record_create_rollback(stack: Any, error: ResourceFailed | RollbackFailed) -> None:
    from moto.cloudformation.parsing import OutputMap

    failure = _failure_of(error)
    _resource_event(stack, failure)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=(
            f"The following resource(s) failed to create: [{failure.logical_id}]. "
            "Rollback requested by user."
        ),
    )
    stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)
    final = "ROLLBACK_FAILED" if isinstance(error, RollbackFailed) else "ROLLBACK_COMPLETE"
    stack._add_stack_event(final, resource_status_reason=_rollback_reason(error))
    stack.status = final


def _record_update_rollback(stack: Any, error: ResourceFailed | RollbackFailed) -> None:
    failure = _failure_of(error)
    _resource_event(stack, failure)
    verb = "create" if failure.operation == "CREATE" else "update"
    reason = f"The following resource(s) failed to {verb}: [{failure.logical_id}]."
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    if isinstance(error, RollbackFailed):
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=str(error))
        stack.status = "UPDATE_ROLLBACK_FAILED"
        return
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def _resource_event(stack: Any, failure: ResourceFailed) -> None:
    from moto.cloudformation.models import Event

    resource = stack.resource_map._parsed_resources.get(failure.logical_id or "")
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=failure.logical_id or stack.name,
        physical_resource_id=getattr(resource, "physical_resource_id", None) or "",
        resource_type=failure.resource_type or "AWS::CloudFormation::Stack",
        resource_status=f"{failure.operation or 'CREATE'}_FAILED",
        resource_status_reason=failure.reason,
        resource_properties=None,
    )
    stack.events.append(event)


def _with_cause(error: RollbackFailed, failure: ResourceFailed) -> RollbackFailed:
    error.__cause__ = failure
    return error


def _failure_of(error: ResourceFailed | RollbackFailed) -> ResourceFailed:
    if isinstance(error, ResourceFailed):
        return error
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ResourceFailed):
        return cause
    return ResourceFailed(str(error))


def _rollback_reason(error: ResourceFailed | RollbackFailed) -> str | None:
    return str(error) if isinstance(error, RollbackFailed) else None
