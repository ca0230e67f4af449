"""Planning: one action per stack from desired and live state, with no AWS call for an
unchanged stack."""

from __future__ import annotations

from reconciler import HASH_TAG, MANAGED_TAG
from reconciler.desired import load_desired_state
from reconciler.fingerprint import desired_hash
from reconciler.live import LiveStack
from reconciler.order import dependency_order, find_cycle
from reconciler.plan import Action, plan_all
from reconciler.yamlfile import parse
from tests.repo import STACK, TEMPLATE, make_repo


def no_fetch(stack):
    raise AssertionError(f"template of {stack.name} fetched, but the plan needs no AWS call")


def live_stack(name="app-dev", status="CREATE_COMPLETE", digest="old", params=None, managed=True):
    tags = {MANAGED_TAG: "true", HASH_TAG: digest} if managed else {}
    return LiveStack(name, f"arn:{name}", "us-east-1", status, tags=tags, parameters=params or {})


def state_for(tmp_path, files=None):
    return load_desired_state(make_repo(tmp_path, files))


def current_hash(state):
    spec = state.stacks[0]
    return desired_hash(spec, state.templates[spec.template_file_path].body)


def deployed(template_text=TEMPLATE):
    return lambda stack: parse(template_text)[0]


def test_missing_stack_is_created_with_every_resource_added(tmp_path):
    (plan,) = plan_all(state_for(tmp_path), {}, no_fetch)
    assert plan.action is Action.CREATE
    assert [c.logical_id for c in plan.changes] == ["Logs", "Param"]


def test_unchanged_stack_needs_no_further_aws_call(tmp_path):
    """GIVEN the live stack carries the desired hash WHEN planned THEN action none,
    and the deployed template is never fetched."""
    state = state_for(tmp_path)
    live = {("", "us-east-1", "app-dev"): live_stack(digest=current_hash(state))}
    (plan,) = plan_all(state, live, no_fetch)
    assert (plan.action, plan.reason) == (Action.NONE, "up to date")


def test_hash_covers_parameters_tags_and_template(tmp_path):
    base = current_hash(state_for(tmp_path / "a"))
    changed = [
        {"desired-state/app-dev.yml": STACK.replace("dev\n", "prod\n", 1)},
        {"desired-state/app-dev.yml": STACK.replace("pci-dss", "none")},
        {"templates/app.yml": TEMPLATE + "# a comment\n"},
    ]
    for i, files in enumerate(changed):
        assert current_hash(state_for(tmp_path / str(i), files)) != base


def test_changed_parameter_updates_in_place(tmp_path):
    state = state_for(
        tmp_path, {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}
    )
    live = {
        ("", "us-east-1", "app-dev"): live_stack(
            params={"EnvironmentSuffix": "dev", "Greeting": "hello"}
        )
    }
    (plan,) = plan_all(state, live, deployed())
    assert plan.action is Action.UPDATE
    assert [(c.logical_id, c.replacement.value) for c in plan.changes] == [("Param", "False")]
    assert "1 to modify" in plan.reason


def test_replacing_a_stateful_resource_blocks_the_stack(tmp_path):
    """GIVEN EnvironmentSuffix changes, which renames the log group (create-only)
    WHEN planned THEN the stack is blocked, naming the resource and property."""
    state = state_for(tmp_path, {"desired-state/app-dev.yml": STACK.replace("dev\n", "qa\n", 1)})
    live = {
        ("", "us-east-1", "app-dev"): live_stack(
            params={"EnvironmentSuffix": "dev", "Greeting": "hello"}
        )
    }
    (plan,) = plan_all(state, live, deployed())
    assert plan.action is Action.BLOCKED
    assert "Logs (AWS::Logs::LogGroup) would be replaced: LogGroupName changes" in plan.reason
    assert "desired-state/app-dev.yml" in plan.reason


def test_allow_replacement_unblocks_the_named_resource(tmp_path):
    text = STACK.replace("dev\n", "qa\n", 1) + "allow-replacement: [Logs]\n"
    state = state_for(tmp_path, {"desired-state/app-dev.yml": text})
    live = {
        ("", "us-east-1", "app-dev"): live_stack(
            params={"EnvironmentSuffix": "dev", "Greeting": "hello"}
        )
    }
    (plan,) = plan_all(state, live, deployed())
    assert plan.action is Action.UPDATE


def test_removing_a_stateful_resource_blocks_the_stack(tmp_path):
    smaller = TEMPLATE.replace("  LogGroup:\n    Value: !Ref Logs\n", "")
    smaller = smaller[: smaller.index("  Logs:")] + smaller[smaller.index("Outputs:") :]
    state = state_for(tmp_path, {"templates/app.yml": smaller})
    live = {
        ("", "us-east-1", "app-dev"): live_stack(
            params={"EnvironmentSuffix": "dev", "Greeting": "hello"}
        )
    }
    (plan,) = plan_all(state, live, deployed())
    assert plan.action is Action.BLOCKED
    assert "would be deleted" in plan.reason


def test_busy_stack_waits(tmp_path):
    live = {("", "us-east-1", "app-dev"): live_stack(status="UPDATE_IN_PROGRESS")}
    (plan,) = plan_all(state_for(tmp_path), live, no_fetch)
    assert plan.action is Action.WAIT


def test_failed_create_at_the_same_inputs_is_blocked_with_the_way_out(tmp_path):
    """The same inputs would fail the same way: a human pushes a fix or deletes."""
    state = state_for(tmp_path)
    live = {
        ("", "us-east-1", "app-dev"): live_stack(
            status="ROLLBACK_COMPLETE", digest=current_hash(state)
        )
    }
    (plan,) = plan_all(state, live, no_fetch)
    assert plan.action is Action.BLOCKED
    assert "push a fix" in plan.reason and "delete the stack" in plan.reason


def test_failed_create_at_other_inputs_is_re_created(tmp_path):
    live = {("", "us-east-1", "app-dev"): live_stack(status="ROLLBACK_COMPLETE", digest="old")}
    (plan,) = plan_all(state_for(tmp_path), live, no_fetch)
    assert plan.action is Action.RECREATE
    assert plan.changes_stack


def test_update_rollback_failed_names_the_way_out(tmp_path):
    live = {("", "us-east-1", "app-dev"): live_stack(status="UPDATE_ROLLBACK_FAILED")}
    (plan,) = plan_all(state_for(tmp_path), live, no_fetch)
    assert plan.action is Action.BLOCKED
    assert "continue-update-rollback --stack-name app-dev" in plan.reason
    assert "--resources-to-skip" in plan.reason


def test_removed_stack_file_leaves_the_stack_orphaned_not_deleted(tmp_path):
    state = state_for(tmp_path)
    live = {
        ("", "us-east-1", "app-dev"): live_stack(digest=current_hash(state)),
        ("", "us-east-1", "old-app"): live_stack("old-app"),
        ("", "us-east-1", "someone-elses"): live_stack("someone-elses", managed=False),
    }
    plans = plan_all(state, live, no_fetch)
    assert [(p.stack_name, p.action) for p in plans] == [
        ("app-dev", Action.NONE),
        ("old-app", Action.ORPHANED),
    ]


def test_stacks_are_planned_in_depends_on_order(tmp_path):
    files = {
        "desired-state/app-dev.yml": STACK + "depends-on: [base]\n",
        "desired-state/base.yml": STACK.replace("app-dev", "base").replace("dev\n", "base\n", 1),
    }
    plans = plan_all(state_for(tmp_path, files), {}, no_fetch)
    assert [p.stack_name for p in plans] == ["base", "app-dev"]
    assert plans[1].after == ("base",)


def test_plan_json_shape(tmp_path):
    (plan,) = plan_all(state_for(tmp_path), {}, no_fetch)
    data = plan.to_dict()
    assert set(data) == {
        "stack_name",
        "account",
        "region",
        "stack_file",
        "action",
        "reason",
        "desired_hash",
        "after",
        "changes",
        "findings",
        "change_set_differs",
        "refactor",
    }
    assert data["refactor"] == []
    assert data["changes"][0] == {
        "logical_id": "Logs",
        "resource_type": "AWS::Logs::LogGroup",
        "action": "Add",
        "replacement": "False",
        "properties": [],
        "causes": [],
        "refused": [],
    }


def test_dependency_order_and_cycles():
    assert dependency_order({"app": ["db"], "db": ["net"], "net": []}) == ["net", "db", "app"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c"]
    assert find_cycle({"a": ["b"], "b": []}) is None
