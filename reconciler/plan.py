"""Plan: from (desired, live) to one action per stack. Pure: the deployed template is
handed in by the caller, fetched only for stacks whose desired hash moved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler import guard, refactor, refactor_templates
from reconciler.desired import DesiredState, StackSpec
from reconciler.diff import ChangeAction, ResourceChange, predict_changes
from reconciler.findings import Finding, Severity
from reconciler.fingerprint import desired_hash
from reconciler.live import UPDATABLE, LiveStack
from reconciler.order import dependency_order
from reconciler.render import Pseudo, Rendered, parameter_values, render
from reconciler.template import Template
from reconciler.yamlfile import key_line

REFUSED_RULE = "UPD001"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NONE = "none"
    BLOCKED = "blocked"
    WAIT = "wait"  # busy stack: try again when it settles
    ORPHANED = "orphaned"  # managed stack no stack file declares: left in place
    RECREATE = "recreate"  # failed create (ROLLBACK_COMPLETE), inputs changed: delete, create
    REFACTOR = "refactor"  # resources renamed or moved by a stack refactor, then updated


@dataclass(frozen=True)
class StackPlan:
    stack_name: str
    region: str
    action: Action
    reason: str
    account: str = ""  # "" for the reconciler's own account
    desired_hash: str = ""
    stack_file: str = ""
    changes: tuple[ResourceChange, ...] = ()
    after: tuple[str, ...] = ()  # dependencies changing in the same pass
    violations: tuple[guard.Violation, ...] = field(default=(), repr=False)
    findings: tuple[Finding, ...] = ()  # updates AWS would refuse, at their template line
    change_set: tuple[str, ...] = ()  # where the change set disagreed with the prediction
    # A refactor: every move of its group, the group's stacks in plan order, the
    # refactor's description (its idempotency token) and each stack's refactor template.
    refactor: tuple[refactor.Move, ...] = ()
    refactor_stacks: tuple[str, ...] = ()
    refactor_description: str = ""
    refactor_templates: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # A live stack's part in refactor matching, when its changes add or remove a stateful
    # resource (half of a rename or a move).
    basis: refactor.Side | None = field(default=None, compare=False, repr=False)

    @property
    def changes_stack(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.RECREATE, Action.REFACTOR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "account": self.account,
            "region": self.region,
            "stack_file": self.stack_file,
            "action": str(self.action),
            "reason": self.reason,
            "desired_hash": self.desired_hash,
            "after": list(self.after),
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "change_set_differs": list(self.change_set),
            "refactor": [m.to_dict() for m in self.refactor],
        }


LiveKey = tuple[str, str, str]  # (account, region, stack name); account "" for home
TemplateFetcher = Callable[[LiveStack], Mapping[str, Any]]


def plan_stack(
    spec: StackSpec, template: Template, live: LiveStack | None, fetch_template: TemplateFetcher
) -> StackPlan:
    digest = desired_hash(spec, template.body)
    base = {
        "stack_name": spec.stack_name,
        "region": spec.region,
        "desired_hash": digest,
        "stack_file": spec.path,
    }
    pseudo = pseudo_parameters(spec.stack_name, spec.region, live)

    def desired() -> Rendered:  # only for a stack that changes: a no-op pass renders nothing
        return render(template.data, parameter_values(template.data, spec.parameters), pseudo)

    if live is None or live.status == "REVIEW_IN_PROGRESS":
        changes = predict_changes(None, desired(), spec.region)
        return StackPlan(
            action=Action.CREATE, reason="stack does not exist", changes=tuple(changes), **base
        )
    if live.in_progress:
        return StackPlan(
            action=Action.WAIT, reason=f"stack is {live.status}; retried when it settles", **base
        )
    if live.status == "ROLLBACK_COMPLETE":
        return _after_failed_create(live, digest, base)
    if live.status not in UPDATABLE:
        return StackPlan(action=Action.BLOCKED, reason=way_out(live), **base)
    if live.desired_hash == digest:
        return StackPlan(action=Action.NONE, reason="up to date", **base)

    old_template = fetch_template(live)
    old_params = parameter_values(old_template, live.parameters, masked=True)
    old = render(old_template, old_params, pseudo)
    new = desired()
    changes = tuple(predict_changes(old, new, spec.region))
    plan = StackPlan(
        action=Action.UPDATE, reason=_update_reason(live, changes), changes=changes, **base
    )
    plan = judged(plan, spec, template)
    if refactor.candidates(changes) and not plan.findings:
        side = refactor.Side(
            spec.stack_name, (spec.account, spec.region), old_template, old, new, changes,
            enabled=spec.refactor, params=old_params, pseudo=pseudo,
        )  # fmt: skip
        plan = replace(plan, basis=side)
    return plan


def judged(plan: StackPlan, spec: StackSpec, template: Template) -> StackPlan:
    """The plan blocked by updates AWS would refuse, else by the data-loss guard."""
    findings = tuple(_refusals(spec, template, plan.changes))
    if findings:
        reason = "; ".join(f.message for f in findings)
        return replace(plan, action=Action.BLOCKED, reason=reason, findings=findings)
    return guarded(plan, spec)


def pseudo_parameters(stack_name: str, region: str, live: LiveStack | None) -> Pseudo:
    """What the pseudo parameters will be: the account and stack id are known once the
    stack exists (from its ARN)."""
    parts = live.stack_id.split(":") if live else []
    account = parts[4] if len(parts) > 5 and parts[4] else None
    stack_id = live.stack_id if live and live.stack_id else None
    return Pseudo(region=region, stack_name=stack_name, account_id=account, stack_id=stack_id)


def _refusals(
    spec: StackSpec, template: Template, changes: tuple[ResourceChange, ...]
) -> list[Finding]:
    """An update AWS fails is an error at its line in the desired template, before any
    change set exists."""
    found = []
    for change in changes:
        node = template.resources.get(change.logical_id)
        props = node.get("Properties") if isinstance(node, dict) else None
        line = key_line(template.resources, change.logical_id, 1)
        for prop, why in change.refused:
            at = key_line(props, prop, line) if isinstance(props, dict) else line
            message = (
                f"{change.logical_id}.{prop} ({change.resource_type}) cannot change on an "
                f"existing resource: AWS fails the update ({why}); stack {spec.stack_name} "
                f"from {spec.path}. Keep the deployed value, or add a new resource under a "
                "new logical id and move to it"
            )
            found.append(
                Finding(template.path, at, REFUSED_RULE, Severity.ERROR, message, spec.stack_name)
            )
    return found


def _after_failed_create(live: LiveStack, digest: str, base: dict[str, Any]) -> StackPlan:
    """A failed create leaves an empty stack that cannot be updated. It is deleted and
    created again only for new inputs: the same inputs would fail the same way."""
    why = live.status_reason or "no reason given"
    if live.desired_hash == digest:
        reason = (
            f"stack is ROLLBACK_COMPLETE after a failed create at these inputs ({why}); "
            "push a fix and it is re-created, or delete the stack to retry as it is"
        )
        return StackPlan(action=Action.BLOCKED, reason=reason, **base)
    reason = f"stack is ROLLBACK_COMPLETE after a failed create ({why}); re-created at new inputs"
    return StackPlan(action=Action.RECREATE, reason=reason, **base)


def way_out(live: LiveStack) -> str:
    """Why a stack cannot take a change set, and what a human does about it."""
    if live.status == "UPDATE_ROLLBACK_FAILED":
        return (
            f"stack is UPDATE_ROLLBACK_FAILED ({live.status_reason or 'no reason given'}): "
            "fix what stopped the rollback, then `aws cloudformation continue-update-rollback "
            f"--stack-name {live.name} --region {live.region}` (add --resources-to-skip for "
            "resources that cannot roll back); the reconciler never skips resources itself"
        )
    return f"stack is {live.status} and cannot take an update"


def guarded(plan: StackPlan, spec: StackSpec) -> StackPlan:
    """The plan, or the same plan blocked by the data-loss guard."""
    violations = guard.check(plan.changes, spec.allow_replacement, spec.path)
    if not violations:
        return plan
    reason = "; ".join(v.message for v in violations)
    return replace(plan, action=Action.BLOCKED, reason=reason, violations=tuple(violations))


def _update_reason(live: LiveStack, changes: tuple[ResourceChange, ...]) -> str:
    if live.desired_hash is None:
        return "stack is not yet managed: it will be adopted"
    return f"desired state changed ({_summary(changes) or 'no resource changes predicted'})"


def _summary(changes: tuple[ResourceChange, ...]) -> str:
    """ "1 to add, 2 to modify": the changes counted by action."""
    counts = {a: sum(c.action is a for c in changes) for a in ChangeAction}
    return ", ".join(f"{n} to {a.value.lower()}" for a, n in counts.items() if n)


def _with_refactors(plans: dict[str, StackPlan], state: DesiredState) -> dict[str, StackPlan]:
    """Plans whose stateful resources were renamed or moved between managed stacks turned
    into refactors (docs/guard.md). A group that cannot be refactored, or whose update
    after the refactor is blocked, blocks as a whole; where no refactor can be made the
    plans stay as the guard judged them, saying why."""
    sides = {n: p.basis for n, p in plans.items() if p.basis is not None}
    moves = refactor.find_moves(list(sides.values()))
    if not moves:
        return plans
    result = dict(plans)
    for group in refactor.groups(moves, list(plans)):
        try:
            bodies = refactor_templates.templates(group, sides)
        except refactor_templates.NotRefactorable as why:
            for name in group.stacks:
                result[name] = _not_refactored(plans[name], str(why))
            continue
        hashes = {name: plans[name].desired_hash for name in group.stacks}
        shared = {
            "refactor": group.moves,
            "refactor_stacks": group.stacks,
            "refactor_description": group.description(hashes),
            "refactor_templates": bodies,
        }
        after = {name: _after_refactor(plans[name], group, sides, state) for name in group.stacks}
        blocked = [p for p in after.values() if p.action is Action.BLOCKED]
        for name, plan in after.items():
            if not blocked or plan.action is Action.BLOCKED:
                result[name] = replace(plan, **shared)
                continue
            others = ", ".join(p.stack_name for p in blocked)
            reason = f"refactored with {others}, which is blocked: {blocked[0].reason}"
            result[name] = replace(plan, action=Action.BLOCKED, reason=reason, **shared)
    return result


def _after_refactor(
    plan: StackPlan, group: refactor.Group, sides: dict[str, refactor.Side], state: DesiredState
) -> StackPlan:
    side = sides[plan.stack_name]
    spec = state.stack(plan.stack_name)
    template = state.templates[spec.template_file_path]
    old = refactor.after_refactor(side, group.moves, sides)
    changes = tuple(predict_changes(old, side.new, spec.region))
    mine = group.of(plan.stack_name)
    then = _summary(changes) or "no resource changes"
    reason = f"refactor ({refactor.mapping_text(mine)}), then {then}"
    moved = replace(
        plan, action=Action.REFACTOR, reason=reason, changes=changes, violations=(), findings=()
    )
    judged_plan = judged(moved, spec, template)
    if judged_plan.action is Action.BLOCKED:
        why = f"after the refactor ({refactor.mapping_text(mine)}): {judged_plan.reason}"
        return replace(judged_plan, reason=why)
    return judged_plan


def _not_refactored(plan: StackPlan, why: str) -> StackPlan:
    """The plan as the guard judged it, saying why no refactor was made."""
    note = f"not refactored: {why}"
    if plan.action is Action.BLOCKED:
        return replace(plan, reason=f"{plan.reason} ({note})")
    return replace(plan, reason=f"{plan.reason}; {note}")


def plan_all(
    state: DesiredState, live: Mapping[LiveKey, LiveStack], fetch_template: TemplateFetcher
) -> list[StackPlan]:
    """One plan per stack file in depends-on order, then the orphaned stacks."""
    specs = {s.stack_name: s for s in state.stacks}
    order = dependency_order({name: s.depends_on for name, s in specs.items()})
    plans: dict[str, StackPlan] = {}
    for name in order:
        spec = specs[name]
        template = state.templates[spec.template_file_path]
        found = live.get((spec.account, spec.region, name))
        plan = replace(plan_stack(spec, template, found, fetch_template), account=spec.account)
        after = tuple(
            d for d in spec.depends_on if d in plans and plans[d].action is not Action.NONE
        )
        plans[name] = replace(plan, after=after)
    plans = _with_refactors(plans, state)
    declared = {(s.account, s.region, s.stack_name) for s in state.stacks}
    orphans = [
        StackPlan(
            stack_name=s.name,
            region=s.region,
            account=s.account,
            action=Action.ORPHANED,
            reason="no stack file declares it; left in place (the reconciler never deletes stacks)",
        )
        for key, s in sorted(live.items())
        if s.managed and key not in declared
    ]
    return [*plans.values(), *orphans]
