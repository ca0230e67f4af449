"""Ordering and concurrency of events, on moto: the branch head decides, one operation
per stack at a time, deferred work is picked up when the stack settles, and an older
commit never overwrites a newer one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from localaws import extensions
from reconciler import HASH_TAG
from reconciler.aws import session
from reconciler.aws.cloudformation import CloudFormation
from reconciler.aws.services import services_from_env
from reconciler.desired import load_desired_state
from reconciler.reconcile import apply
from reconciler.source import GitSource
from reconciler.status import Phase
from reconciler.triggers import on_push, on_stack_status, reconcile_head
from tests.repo import STACK, commit, git, git_repo

extensions.install_all()
REF = "refs/heads/main"
HI = {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}
HEY = {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hey\n", 1)}


class BusyStacks(CloudFormation):
    """The real adapter, except that the named stacks look mid-update (moto finishes
    every operation inside the API call, so it never shows one in progress)."""

    def __init__(self) -> None:
        super().__init__()
        self.busy: set[str] = set()

    def _seen(self, stack):
        if stack is not None and stack.name in self.busy:
            return replace(stack, status="UPDATE_IN_PROGRESS")
        return stack

    def list_stacks(self, regions):
        return {k: self._seen(v) for k, v in super().list_stacks(regions).items()}

    def describe_stack(self, name, region):
        return self._seen(super().describe_stack(name, region))


class PushDuringCheckout:
    """A source where a new commit lands right after the pass read the branch."""

    def __init__(self, repo: Path, files: dict) -> None:
        self.inner = GitSource(str(repo))
        self.repo, self.files = repo, files
        self.repository, self.branch = self.inner.repository, self.inner.branch

    def is_repository(self, name: str) -> bool:
        return self.inner.is_repository(name)

    def head_revision(self) -> str:
        return self.inner.head_revision()

    def checkout(self, dest: Path):
        checkout = self.inner.checkout(dest)
        if self.files:
            commit(self.repo, self.files)
            self.files = None
        return checkout


@pytest.fixture
def calls():
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def services(aws, calls):
    built = services_from_env(change_set_wait_seconds=0)
    built.cfn = BusyStacks()
    return built


@pytest.fixture
def repo(tmp_path):
    root = git_repo(tmp_path / "desired")
    return root


def greeting() -> str:
    ssm = boto3.client("ssm", region_name="us-east-1")
    return ssm.get_parameter(Name="/test/dev/greeting")["Parameter"]["Value"]


def stack_hash() -> str:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    tags = cfn.describe_stacks(StackName="app-dev")["Stacks"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in tags}[HASH_TAG]


def deployed(repo: Path, services) -> str:
    """The stack created at the head and its CREATE_COMPLETE handled; the head."""
    source = GitSource(str(repo))
    assert reconcile_head(source, services, "first").stacks[0]["outcome"] == "executed"
    on_stack_status("app-dev", "us-east-1", "CREATE_COMPLETE", source, services, "event")
    return git(repo, "rev-parse", "HEAD")


def test_a_push_during_an_update_waits_and_is_applied_when_the_update_ends(repo, services, calls):
    """GIVEN a stack mid-update WHEN a push arrives THEN no change set is made and the
    stack is WAITING; WHEN the stack's UPDATE_COMPLETE event arrives THEN the push's
    head is applied."""
    deployed(repo, services)
    new = commit(repo, HI)
    services.cfn.busy.add("app-dev")
    calls.clear()
    outcome = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert outcome.stacks[0]["outcome"] == "waiting"
    assert "CreateChangeSet" not in calls
    assert services.status.get("app-dev").phase is Phase.WAITING

    services.cfn.busy.clear()
    done = on_stack_status(
        "app-dev", "us-east-1", "UPDATE_COMPLETE", GitSource(str(repo)), services, "event"
    )
    assert done.revision == new
    assert done.stacks[0]["outcome"] == "executed"
    on_stack_status("app-dev", "us-east-1", "UPDATE_COMPLETE", GitSource(str(repo)), services, "e")
    assert greeting() == "hi"
    assert services.status.get("app-dev").applied_revision == new


def test_a_push_that_finds_the_lease_taken_is_done_after_the_holder_ends(repo, services, calls):
    """GIVEN another Lambda holds the stack's lease WHEN a push arrives THEN nothing is
    written and the deferral is recorded; WHEN the holder's stack event arrives THEN
    the head is applied and the deferral is gone."""
    deployed(repo, services)
    new = commit(repo, HI)
    assert services.status.acquire("app-dev", "other-lambda", 300)
    calls.clear()
    outcome = on_push(None, REF, GitSource(str(repo)), services, "push")
    assert outcome.stacks[0]["outcome"] == "deferred"
    assert "CreateChangeSet" not in calls
    assert services.status.get("app-dev").deferred_revision == new
    assert services.status.release("app-dev", "other-lambda") is True

    done = on_stack_status(
        "app-dev", "us-east-1", "UPDATE_COMPLETE", GitSource(str(repo)), services, "event"
    )
    assert (done.revision, done.stacks[0]["outcome"]) == (new, "executed")
    assert services.status.get("app-dev").deferred_revision == ""


def test_a_pass_overtaken_by_a_newer_commit_applies_only_the_newer_one(repo, services, calls):
    """GIVEN a commit lands while a pass is reading the branch WHEN the pass reaches the
    stack (to create it) THEN it applies nothing at the read revision and runs again at
    the new head: one change set, at the newer commit."""
    source = PushDuringCheckout(repo, HI)
    outcome = reconcile_head(source, services, "push")
    new = git(repo, "rev-parse", "HEAD")
    assert outcome.revision == new
    assert outcome.stacks[0]["outcome"] == "executed"
    assert calls.count("ExecuteChangeSet") == 1
    assert services.status.get("app-dev").attempted_revision == new
    on_stack_status("app-dev", "us-east-1", "CREATE_COMPLETE", source, services, "event")
    assert greeting() == "hi"


def test_an_older_commit_never_overwrites_a_newer_applied_revision(repo, services, calls):
    """GIVEN the newer commit is applied WHEN a pass still holding the older commit
    reaches the stack THEN it is superseded and the stack keeps the newer inputs."""
    old = deployed(repo, services)
    old_state = load_desired_state(repo)
    new = commit(repo, HI)
    assert reconcile_head(GitSource(str(repo)), services, "push").stacks[0]["outcome"] == (
        "executed"
    )
    newer_hash = stack_hash()
    calls.clear()
    source = GitSource(str(repo))
    (result,) = apply(old_state, old, services, "late", head=source.head_revision).stacks
    assert result.outcome == "superseded"
    assert "CreateChangeSet" not in calls
    assert stack_hash() == newer_hash
    assert services.status.get("app-dev").attempted_revision == new


def test_a_late_push_event_for_an_older_commit_changes_nothing(repo, services, calls):
    """GIVEN two pushes delivered out of order WHEN the older one arrives last THEN it
    reconciles the head, which is already applied: no write."""
    deployed(repo, services)
    commit(repo, HI)
    on_push(None, REF, GitSource(str(repo)), services, "newer")
    on_stack_status("app-dev", "us-east-1", "UPDATE_COMPLETE", GitSource(str(repo)), services, "e")
    commit(repo, HEY)
    on_push(None, REF, GitSource(str(repo)), services, "newest")
    on_stack_status("app-dev", "us-east-1", "UPDATE_COMPLETE", GitSource(str(repo)), services, "e")
    calls.clear()
    late = on_push(None, REF, GitSource(str(repo)), services, "older, delivered last")
    assert late.stacks[0]["outcome"] == "unchanged"
    assert not {"CreateChangeSet", "ExecuteChangeSet", "PutItem", "UpdateItem"} & set(calls)
    assert greeting() == "hey"


def test_a_duplicate_push_does_nothing_twice(repo, services, calls):
    deployed(repo, services)
    commit(repo, HI)
    first = on_push(None, REF, GitSource(str(repo)), services, "delivery-1")
    calls.clear()
    again = on_push(None, REF, GitSource(str(repo)), services, "delivery-1-again")
    assert first.stacks[0]["outcome"] == "executed"
    assert again.stacks[0]["outcome"] == "unchanged"
    assert "CreateChangeSet" not in calls
