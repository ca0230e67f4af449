"""The reconcile pass against moto (with localaws's extensions): change sets, the
data-loss guard, depends-on order, leases, outputs and status."""

from __future__ import annotations

import boto3
import pytest

from localaws import extensions
from reconciler import HASH_TAG
from reconciler.aws import session
from reconciler.aws.services import services_from_env
from reconciler.desired import load_desired_state
from reconciler.errors import InvalidDesiredStateError
from reconciler.reconcile import apply, finish
from reconciler.status import Health, Phase, Sync
from tests.repo import STACK, make_repo

extensions.install_all()


@pytest.fixture
def calls():
    """Every AWS operation name called through the reconciler's clients."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def services(aws, calls):
    return services_from_env(change_set_wait_seconds=0)


def run(root, services, revision="rev1", only=None):
    return apply(load_desired_state(root), revision, services, owner="test", only=only)


def cfn():
    return boto3.client("cloudformation", region_name="us-east-1")


def ssm_values(path):
    params = boto3.client("ssm", region_name="us-east-1").get_parameters_by_path(Path=path)
    return {p["Name"]: p["Value"] for p in params["Parameters"]}


def test_new_stack_is_created_through_a_change_set_and_outputs_published(tmp_path, services):
    """GIVEN a stack file for a missing stack WHEN applied and finished THEN the stack
    exists with the desired-hash tag, its outputs are in SSM, status says Synced."""
    root = make_repo(tmp_path)
    (result,) = run(root, services).stacks
    assert (result.action.value, result.outcome) == ("create", "executed")

    status = finish("app-dev", "us-east-1", services)
    assert (status.sync, status.health, status.phase) == (Sync.SYNCED, Health.HEALTHY, Phase.IDLE)
    assert status.applied_revision == "rev1"
    stack = cfn().describe_stacks(StackName="app-dev")["Stacks"][0]
    assert {t["Key"] for t in stack["Tags"]} >= {HASH_TAG, "compliance"}
    assert ssm_values("/app-dev") == {
        "/app-dev/GreetingName": "/test/dev/greeting",
        "/app-dev/LogGroup": "/test/dev/logs",
    }


def test_unchanged_stack_costs_one_describe_stacks_call(tmp_path, services, calls):
    root = make_repo(tmp_path)
    run(root, services)
    finish("app-dev", "us-east-1", services)
    calls.clear()
    (result,) = run(root, services, revision="rev2").stacks
    assert result.outcome == "unchanged"
    assert calls == ["Scan", "DescribeStacks"]


def test_parameter_change_updates_the_stack_and_its_outputs(tmp_path, services):
    root = make_repo(tmp_path)
    run(root, services)
    finish("app-dev", "us-east-1", services)
    make_repo(
        root, {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}
    )
    (result,) = run(root, services, revision="rev2").stacks
    assert (result.action.value, result.outcome) == ("update", "executed")
    finish("app-dev", "us-east-1", services)
    value = boto3.client("ssm", region_name="us-east-1").get_parameter(Name="/test/dev/greeting")
    assert value["Parameter"]["Value"] == "hi"
    assert services.status.get("app-dev").applied_revision == "rev2"


def test_stateful_replacement_is_blocked_and_its_change_set_deleted(tmp_path, services):
    """GIVEN a change that renames the log group WHEN applied THEN nothing executes:
    the stack is Blocked, its change set is gone, the log group is unchanged."""
    root = make_repo(tmp_path)
    run(root, services)
    make_repo(root, {"desired-state/app-dev.yml": STACK.replace("dev\n", "qa\n", 1)})
    (result,) = run(root, services, revision="rev2").stacks
    assert result.outcome == "blocked"
    assert "Logs (AWS::Logs::LogGroup) would be replaced: LogGroupName changes" in result.message
    assert cfn().list_change_sets(StackName="app-dev")["Summaries"] == []
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/test/dev/logs"]
    status = services.status.get("app-dev")
    assert (status.sync, status.attempted_revision) == (Sync.BLOCKED, "rev2")


def test_invalid_desired_state_writes_nothing_to_aws(tmp_path, services, calls):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    with pytest.raises(InvalidDesiredStateError):
        run(root, services)
    assert calls == []


def test_stacks_apply_in_depends_on_order(tmp_path, services):
    base = STACK.replace("app-dev", "base").replace("dev\n", "base\n", 1)
    root = make_repo(
        tmp_path,
        {
            "desired-state/app-dev.yml": STACK + "depends-on: [base]\n",
            "desired-state/base.yml": base,
        },
    )
    results = run(root, services).stacks
    assert [(r.stack_name, r.outcome) for r in results] == [
        ("base", "executed"),
        ("app-dev", "executed"),
    ]


def test_dependent_waits_while_its_dependency_is_not_complete(tmp_path, services):
    base = STACK.replace("app-dev", "base").replace("dev\n", "base\n", 1)
    root = make_repo(
        tmp_path,
        {
            "desired-state/app-dev.yml": STACK + "depends-on: [base]\n",
            "desired-state/base.yml": base,
        },
    )
    (result,) = run(root, services, only={"app-dev"}).stacks
    assert (result.outcome, result.message) == ("waiting", "waits for base to complete")
    assert services.status.get("app-dev").phase is Phase.WAITING


def test_held_lease_defers_the_stack_and_the_holder_learns_it(tmp_path, services):
    """GIVEN another operation holds the stack's lease WHEN a pass reaches the stack
    THEN nothing is written to CloudFormation, the deferral is recorded, and the holder
    is told so when it releases the lease (so it runs again)."""
    root = make_repo(tmp_path)
    assert services.status.acquire("app-dev", "someone-else", 300)
    (result,) = run(root, services, revision="rev1").stacks
    assert result.outcome == "deferred"
    assert "lease" in result.message
    assert cfn().describe_stacks()["Stacks"] == []
    assert services.status.release("app-dev", "someone-else") is True


def test_taking_the_lease_clears_a_deferral(tmp_path, services):
    root = make_repo(tmp_path)
    services.status.defer("app-dev", "rev0")
    (result,) = run(root, services, revision="rev1").stacks
    assert result.outcome == "executed"
    assert result.rerun is False
    assert services.status.get("app-dev").deferred_revision == ""


def test_removed_stack_file_orphans_the_stack_and_never_deletes_it(tmp_path, services):
    root = make_repo(tmp_path)
    run(root, services)
    other = STACK.replace("app-dev", "other").replace("dev\n", "other\n", 1)
    make_repo(root, {"desired-state/app-dev.yml": None, "desired-state/other.yml": other})
    results = {r.stack_name: r for r in run(root, services, revision="rev2").stacks}
    assert results["app-dev"].outcome == "orphaned"
    assert (
        cfn().describe_stacks(StackName="app-dev")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    )
    assert services.status.get("app-dev").sync is Sync.ORPHANED


def test_a_retried_pass_does_nothing_twice(tmp_path, services):
    root = make_repo(tmp_path)
    run(root, services)
    (again,) = run(root, services).stacks
    assert again.outcome == "unchanged"
    events = cfn().describe_stack_events(StackName="app-dev")["StackEvents"]
    assert sum(e["ResourceStatus"] == "CREATE_COMPLETE" for e in events) == 1
