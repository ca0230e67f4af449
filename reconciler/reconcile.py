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
from reconciler.findings import Finding
from reconciler.fingerprint import desired_hash
from reconciler.live import LiveStack
from reconciler.notify import Collected, Notifier
from reconciler.plan import Action, StackPlan, guarded, plan_all
from reconciler.status import Health, Phase, StackStatus, StatusStore, Sync
from reconciler.validation import Report, validate
from reconciler.validation.context import VersionCatalog

if TYPE_CHECKING:
    from reconciler.aws.cloudformation import CloudFormation
    from reconciler.aws.ssm import SsmOutputs

LEASE_SECONDS = 300
REVERT_PREFIX = "gitops-revert-drift-"


@dataclass
class Services:
    """The AWS edges a pass needs, built once per process (per Lambda container)."""

    cfn: CloudFormation
    outputs_for: Callable[[str], SsmOutputs]  # region -> SSM adapter
    status: StatusStore
    change_set_wait_seconds: int = 30
    catalog: VersionCatalog | None = None  # engine versions; None: cfn-lint's data
    settings: Any = None  # live settings reader for the PCI guardrails (aws.live_settings)
    notifier: Notifier = field(default_factory=Collected)


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
    report: Report
    stacks: tuple[StackResult, ...] = field(default=())

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.report.findings

    @property
    def ok(self) -> bool:
        bad = {"blocked", "failed"}
        return not self.report.has_errors and not any(s.outcome in bad for s in self.stacks)


def checked(state: DesiredState, catalog: VersionCatalog | None = None) -> Report:
    """The validation report; raises when a finding is an error, so nothing is written."""
    report = validate(state, catalog)
    if report.has_errors:
        raise InvalidDesiredStateError(list(report.findings))
    return report


def observe(state: DesiredState, cfn: CloudFormation) -> dict[tuple[str, str], LiveStack]:
    return cfn.list_stacks(s.region for s in state.stacks)


def make_plan(
    state: DesiredState, cfn: CloudFormation, catalog: VersionCatalog | None = None
) -> tuple[Report, list[StackPlan]]:
    report = checked(state, catalog)
    return report, plan_all(state, observe(state, cfn), cfn.get_template)


def apply(
    state: DesiredState,
    revision: str,
    services: Services,
    owner: str,
    only: set[str] | None = None,
) -> PassResult:
    report = checked(state, services.catalog)
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
    return PassResult(revision, report, tuple(results))


def _settled(status: StackStatus | None, plan: StackPlan) -> bool:
    """Whether the record already says what an unchanged stack's record should say."""
    return (
        status is not None
        and status.sync is Sync.SYNCED
        and status.phase is Phase.IDLE
        and status.desired_hash == plan.desired_hash
    )


class _Attempt:
    """One stack's step in a pass: records its status and returns its result."""

    def __init__(self, plan: StackPlan, spec: StackSpec | None, services: Services, revision: str):
        self.plan, self.spec, self.services, self.revision = plan, spec, services, revision

    def done(
        self,
        outcome: str,
        message: str,
        *,
        change_set: str = "",
        attempted: bool = True,
        **status: Any,
    ) -> StackResult:
        if attempted:
            status |= {"attempted_revision": self.revision, "desired_hash": self.plan.desired_hash}
        self._record(message=message, change_set=change_set, **status)
        return self.result(outcome, message, change_set)

    def result(self, outcome: str, message: str, change_set: str = "") -> StackResult:
        plan = self.plan
        return StackResult(plan.stack_name, plan.region, plan.action, outcome, message, change_set)

    def _record(self, **changes: Any) -> None:
        """Write the stack's status, unless nothing but the timestamp would change."""
        store, name = self.services.status, self.plan.stack_name
        current = store.get(name) or StackStatus(name)
        outputs_path = self.spec.outputs_path if self.spec else current.outputs_path
        status = current.but(region=self.plan.region, outputs_path=outputs_path, **changes)
        if replace(status, updated_at=current.updated_at) != current:
            store.put(status)


def _apply_one(
    plan: StackPlan,
    spec: StackSpec | None,
    state: DesiredState,
    live: dict[tuple[str, str], LiveStack],
    revision: str,
    services: Services,
    owner: str,
) -> StackResult:
    step = _Attempt(plan, spec, services, revision)
    if plan.action is Action.NONE:
        # The live stack already matches (a revert, or a change applied elsewhere).
        message = "up to date: the live stack matches the desired state"
        return step.done("unchanged", message, sync=Sync.SYNCED, phase=Phase.IDLE)
    if plan.action is Action.ORPHANED:
        return step.done("orphaned", plan.reason, attempted=False, sync=Sync.ORPHANED)
    if plan.action is Action.WAIT:
        return step.done("waiting", plan.reason, attempted=False, phase=Phase.WAITING)
    if plan.action is Action.BLOCKED:
        return step.done("blocked", plan.reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED)

    waiting_on = _unready_dependencies(spec, state, services)
    if waiting_on:
        message = f"waits for {', '.join(waiting_on)} to complete"
        return step.done("waiting", message, phase=Phase.WAITING)
    if not services.status.acquire(plan.stack_name, owner, LEASE_SECONDS):
        message = "another operation holds this stack's lease; retried on its completion"
        return step.result("waiting", message)
    try:
        return _run_change_set(step, state.templates[spec.template_file_path].body, live)
    finally:
        services.status.release(plan.stack_name, owner)


def _unready_dependencies(spec: StackSpec, state: DesiredState, services: Services) -> list[str]:
    """Dependencies whose live stack is not yet a success at their desired inputs."""
    waiting = []
    for name in spec.depends_on:
        dep = state.stack(name)
        stack = services.cfn.describe_stack(name, dep.region)
        wanted = desired_hash(dep, state.templates[dep.template_file_path].body)
        if stack is None or not stack.succeeded or stack.desired_hash != wanted:
            waiting.append(name)
    return waiting


def _run_change_set(
    step: _Attempt, template_body: str, live: dict[tuple[str, str], LiveStack]
) -> StackResult:
    plan, spec, cfn = step.plan, step.spec, step.services.cfn
    tags = managed_tags(spec, plan.desired_hash)
    change_set = cfn.create_change_set(
        name=f"gitops-{plan.desired_hash[:16]}",
        stack_name=spec.stack_name,
        region=spec.region,
        template_body=template_body,
        parameters=spec.parameters,
        tags=tags,
        create=plan.action is Action.CREATE,
        wait_seconds=step.services.change_set_wait_seconds,
    )
    name = change_set.name
    if change_set.pending:
        message = f"change set {name} is still being computed; resumed by the next event"
        return step.done("waiting", message, change_set=name, phase=Phase.WAITING)
    if change_set.empty:
        cfn.update_tags(live[(spec.region, spec.stack_name)], tags, token=name)
        message = "no resource changes; stack tags updated"
        return step.done("tags-updated", message, phase=Phase.APPLYING)
    if not change_set.ready:
        cfn.delete_change_set(change_set)
        message = f"change set {name} failed: {change_set.reason}"
        return step.done(
            "failed", message, change_set=name,
            sync=Sync.FAILED, health=Health.DEGRADED, phase=Phase.FAILED,
        )  # fmt: skip

    merged = merge_change_set(list(plan.changes), list(change_set.changes))
    confirmed = guarded(replace(plan, changes=tuple(merged)), spec)
    if confirmed.action is Action.BLOCKED:
        # A blocked change set is deleted, never executed. For a new stack the empty
        # REVIEW_IN_PROGRESS stack stays; the next attempt makes its change set again.
        cfn.delete_change_set(change_set)
        return step.done("blocked", confirmed.reason, sync=Sync.BLOCKED, phase=Phase.BLOCKED)

    cfn.execute_change_set(change_set, token=name)
    return step.done(
        "executed", f"change set {name} executed", change_set=name,
        sync=Sync.OUT_OF_SYNC, health=Health.PROGRESSING, phase=Phase.APPLYING,
    )  # fmt: skip


def record_invalid(
    state: DesiredState, revision: str, findings: list[Finding], services: Services
) -> list[str]:
    """Say in each affected stack's status why nothing was written; the stacks named."""
    errors = [f for f in findings if f.is_error]
    affected = []
    stacks = [(s.stack_name, s.region, s.path, s.template_file_path, s) for s in state.stacks]
    stacks += [(name, "", path, path, None) for path, name in state.broken.items()]
    for name, region, stack_file, template, spec in stacks:
        mine = [f for f in errors if f.stack == name or f.path in (stack_file, template)]
        if not mine:
            continue
        more = f" (+{len(mine) - 1} more)" if len(mine) > 1 else ""
        plan = StackPlan(name, region, Action.BLOCKED, "", stack_file=stack_file)
        _Attempt(plan, spec, services, revision).done(
            "blocked",
            f"invalid desired state, nothing written: {mine[0]}{more}",
            attempted=False,
            sync=Sync.BLOCKED,
            phase=Phase.BLOCKED,
            attempted_revision=revision,
        )
        affected.append(name)
    return affected


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
        reverted = current.phase is Phase.APPLYING and current.change_set.startswith(REVERT_PREFIX)
        status = current.but(
            sync=Sync.SYNCED,
            health=Health.HEALTHY,
            phase=Phase.IDLE,
            applied_revision=applied,
            message=f"drift reverted; {message}" if reverted else message,
            drift_status="REVERTED" if reverted else current.drift_status,
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
