"""One reconcile pass, the same whoever starts it (a push, a stack status event, the
CLI): validate -> observe -> plan -> apply one step per stack -> record status.

Nothing here waits for a stack operation: after a change set is executed the stack
status event (or the CLI, which may wait) calls `finish`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reconciler.desired import DesiredState, StackSpec, managed_tags
from reconciler.diff import merge_change_set
from reconciler.errors import InvalidDesiredStateError
from reconciler.findings import Finding, has_errors
from reconciler.fingerprint import desired_hash
from reconciler.live import LiveStack
from reconciler.plan import Action, StackPlan, guarded, plan_all
from reconciler.status import Health, Phase, StackStatus, StatusStore, Sync
from reconciler.validation import validate

if TYPE_CHECKING:
    from reconciler.aws.cloudformation import ChangeSet, CloudFormation
    from reconciler.aws.ssm import SsmOutputs

LEASE_SECONDS = 300


@dataclass
class Services:
    """The AWS edges a pass needs, built once per process (per Lambda container)."""

    cfn: CloudFormation
    outputs_for: Callable[[str], SsmOutputs]  # region -> SSM adapter
    status: StatusStore
    change_set_wait_seconds: int = 30


@dataclass(frozen=True)
class StackResult:
    stack_name: str
    region: str
    action: Action
    outcome: str  # executed, unchanged, blocked, waiting, failed, orphaned, tags-updated
    message: str
    change_set: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class PassResult:
    revision: str
    findings: tuple[Finding, ...] = ()
    stacks: tuple[StackResult, ...] = field(default=())

    @property
    def ok(self) -> bool:
        bad = {"blocked", "failed"}
        return not has_errors(list(self.findings)) and not any(
            s.outcome in bad for s in self.stacks
        )


def checked(state: DesiredState) -> list[Finding]:
    """Validation findings; raises when any is an error, so nothing is written to AWS."""
    findings = validate(state)
    if has_errors(findings):
        raise InvalidDesiredStateError(findings)
    return findings


def observe(state: DesiredState, cfn: CloudFormation) -> dict[tuple[str, str], LiveStack]:
    return cfn.list_stacks(s.region for s in state.stacks)


def make_plan(state: DesiredState, cfn: CloudFormation) -> list[StackPlan]:
    checked(state)
    return plan_all(state, observe(state, cfn), cfn.get_template)


def apply(
    state: DesiredState,
    revision: str,
    services: Services,
    owner: str,
    only: set[str] | None = None,
) -> PassResult:
    findings = checked(state)
    live = observe(state, services.cfn)
    plans = plan_all(state, live, services.cfn.get_template)
    recorded = {s.stack_name: s for s in services.status.all()}  # one Scan per pass
    results = []
    for plan in plans:
        if only is not None and plan.stack_name not in only:
            continue
        spec = state.stack(plan.stack_name)
        if plan.action is Action.NONE and _settled(recorded.get(plan.stack_name), plan):
            results.append(
                StackResult(plan.stack_name, plan.region, plan.action, "unchanged", plan.reason)
            )
            continue
        results.append(_apply_one(plan, spec, state, live, revision, services, owner))
    return PassResult(revision, tuple(findings), tuple(results))


def _settled(status: StackStatus | None, plan: StackPlan) -> bool:
    """Whether the record already says what an unchanged stack's record should say."""
    return (
        status is not None
        and status.sync is Sync.SYNCED
        and status.phase is Phase.IDLE
        and status.desired_hash == plan.desired_hash
    )


def _record(
    services: Services, plan: StackPlan, spec: StackSpec | None, **changes: Any
) -> StackStatus:
    current = services.status.get(plan.stack_name) or StackStatus(plan.stack_name)
    status = current.but(
        region=plan.region,
        outputs_path=spec.outputs_path if spec else current.outputs_path,
        **changes,
    )
    if replace(status, updated_at=current.updated_at) != current:
        services.status.put(status)
    return status


def _apply_one(
    plan: StackPlan,
    spec: StackSpec | None,
    state: DesiredState,
    live: dict[tuple[str, str], LiveStack],
    revision: str,
    services: Services,
    owner: str,
) -> StackResult:
    def result(outcome: str, message: str, change_set: str = "") -> StackResult:
        return StackResult(plan.stack_name, plan.region, plan.action, outcome, message, change_set)

    if plan.action is Action.NONE:
        # The live stack already matches (a revert, or a change applied elsewhere).
        message = "up to date: the live stack matches the desired state"
        _record(
            services,
            plan,
            spec,
            sync=Sync.SYNCED,
            phase=Phase.IDLE,
            desired_hash=plan.desired_hash,
            message=message,
        )
        return result("unchanged", message)
    if plan.action is Action.ORPHANED:
        _record(services, plan, spec, sync=Sync.ORPHANED, message=plan.reason)
        return result("orphaned", plan.reason)
    if plan.action is Action.WAIT:
        _record(services, plan, spec, phase=Phase.WAITING, message=plan.reason)
        return result("waiting", plan.reason)
    attempt = {"attempted_revision": revision, "desired_hash": plan.desired_hash}
    if plan.action is Action.BLOCKED:
        _record(
            services,
            plan,
            spec,
            sync=Sync.BLOCKED,
            phase=Phase.BLOCKED,
            message=plan.reason,
            **attempt,
        )
        return result("blocked", plan.reason)

    waiting_on = _unready_dependencies(spec, state, services)
    if waiting_on:
        message = f"waits for {', '.join(waiting_on)} to complete"
        _record(services, plan, spec, phase=Phase.WAITING, message=message, **attempt)
        return result("waiting", message)
    if not services.status.acquire(plan.stack_name, owner, LEASE_SECONDS):
        message = "another operation holds this stack's lease; retried on its completion"
        return result("waiting", message)
    try:
        return _run_change_set(plan, spec, state, live, services, attempt, result)
    finally:
        services.status.release(plan.stack_name, owner)


def _unready_dependencies(spec: StackSpec, state: DesiredState, services: Services) -> list[str]:
    """Dependencies whose live stack is not yet a success at their desired inputs."""
    waiting = []
    for name in spec.depends_on:
        dep = state.stack(name)
        stack = services.cfn.describe_stack(name, dep.region)
        template = state.templates[dep.template_file_path]
        if (
            stack is None
            or not stack.succeeded
            or stack.desired_hash != desired_hash(dep, template.body)
        ):
            waiting.append(name)
    return waiting


def _run_change_set(plan, spec, state, live, services, attempt, result) -> StackResult:
    template = state.templates[spec.template_file_path]
    tags = managed_tags(spec, plan.desired_hash)
    change_set = services.cfn.create_change_set(
        name=f"gitops-{plan.desired_hash[:16]}",
        stack_name=spec.stack_name,
        region=spec.region,
        template_body=template.body,
        parameters=spec.parameters,
        tags=tags,
        create=plan.action is Action.CREATE,
        wait_seconds=services.change_set_wait_seconds,
    )
    if change_set.pending:
        message = f"change set {change_set.name} is still being computed; resumed by the next event"
        _record(
            services,
            plan,
            spec,
            phase=Phase.WAITING,
            change_set=change_set.name,
            message=message,
            **attempt,
        )
        return result("waiting", message, change_set.name)
    if change_set.empty:
        stack = live[(spec.region, spec.stack_name)]
        services.cfn.update_tags(stack, tags, token=change_set.name)
        message = "no resource changes; stack tags updated"
        _record(
            services, plan, spec, phase=Phase.APPLYING, change_set="", message=message, **attempt
        )
        return result("tags-updated", message)
    if not change_set.ready:
        message = f"change set {change_set.name} failed: {change_set.reason}"
        _discard(services, change_set)
        _record(
            services,
            plan,
            spec,
            sync=Sync.FAILED,
            health=Health.DEGRADED,
            phase=Phase.FAILED,
            message=message,
            **attempt,
        )
        return result("failed", message, change_set.name)

    confirmed = guarded(
        StackPlan(
            **{
                **plan.__dict__,
                "changes": tuple(merge_change_set(list(plan.changes), list(change_set.changes))),
            }
        ),
        spec,
    )
    if confirmed.action is Action.BLOCKED:
        _discard(services, change_set)
        _record(
            services,
            plan,
            spec,
            sync=Sync.BLOCKED,
            phase=Phase.BLOCKED,
            change_set="",
            message=confirmed.reason,
            **attempt,
        )
        return result("blocked", confirmed.reason)

    services.cfn.execute_change_set(change_set, token=change_set.name)
    message = f"change set {change_set.name} executed"
    _record(
        services,
        plan,
        spec,
        sync=Sync.OUT_OF_SYNC,
        health=Health.PROGRESSING,
        phase=Phase.APPLYING,
        change_set=change_set.name,
        message=message,
        **attempt,
    )
    return result("executed", message, change_set.name)


def _discard(services: Services, change_set: ChangeSet) -> None:
    """A blocked or failed change set is deleted, never executed. For a new stack the
    empty REVIEW_IN_PROGRESS stack stays; the next attempt creates its change set."""
    services.cfn.delete_change_set(change_set)


def finish(stack_name: str, region: str, services: Services) -> StackStatus | None:
    """After a stack operation ended: publish outputs on success, record the result.
    Returns None for a stack the reconciler does not manage."""
    current = services.status.get(stack_name)
    stack = services.cfn.describe_stack(stack_name, region)
    if stack is None or not (stack.managed or current):
        return None
    current = current or StackStatus(stack_name, region=region, outputs_path=f"/{stack_name}")
    if stack.in_progress:
        return current
    if stack.succeeded:
        change = services.outputs_for(region).publish(
            current.outputs_path or f"/{stack_name}", stack_name, stack.outputs
        )
        applied = (
            current.attempted_revision
            if stack.desired_hash == current.desired_hash
            else current.applied_revision
        )
        message = (
            f"{stack.status}; outputs: {len(change.put)} written, {change.unchanged} unchanged, "
            f"{len(change.delete)} deleted"
        )
        status = current.but(
            sync=Sync.SYNCED,
            health=Health.HEALTHY,
            phase=Phase.IDLE,
            applied_revision=applied,
            message=message,
        )
    else:
        # After UPDATE_ROLLBACK_COMPLETE the stack works at its previous inputs.
        health = Health.HEALTHY if stack.status == "UPDATE_ROLLBACK_COMPLETE" else Health.DEGRADED
        reason = stack.status_reason or "no reason given"
        status = current.but(
            sync=Sync.FAILED, health=health, phase=Phase.FAILED, message=f"{stack.status}: {reason}"
        )
    services.status.put(status)
    return status
