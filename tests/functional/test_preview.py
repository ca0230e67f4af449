"""A pull request's preview against moto and the fake GitHub: the head commit is read,
planned and confirmed by preview change sets, and said in one comment and one status on
the pull request; nothing is ever executed, and a preview whose head moved on says
nothing."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from localaws import extensions
from reconciler.aws import session
from reconciler.aws.secrets import forget_secrets
from reconciler.aws.services import github_reporter_from_env, services_from_env
from reconciler.desired import load_desired_state
from reconciler.github import GitHubSource
from reconciler.github_report import MARKER, PLAN_CONTEXT, GitHubReporter
from reconciler.preview import PullRequest, run_preview
from reconciler.reconcile import apply, finish
from tests.functional.fake_github import FakeGitHub
from tests.repo import STACK, make_repo

extensions.install_all()

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
NEWER = "1f9b4a4c2e0d5a7b8c9d0e1f2a3b4c5d6e7f8a9b"
# What would change a stack: a preview must call none of them.
WRITES = {"ExecuteChangeSet", "UpdateStack", "CreateStack", "DeleteStack"}
GREETING = {"desired-state/app-dev.yml": STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)}
RENAMED = {"desired-state/app-dev.yml": STACK.replace("dev\n", "qa\n", 1)}  # replaces Logs


@pytest.fixture
def calls() -> list[str]:
    """Every AWS operation the reconciler's botocore clients call."""
    made: list[str] = []
    session.on_every_call(lambda model, **_: made.append(model.name))
    return made


@pytest.fixture
def services(aws, calls, tmp_path):
    """app-dev deployed from the default repository, as main has it."""
    built = services_from_env(change_set_wait_seconds=0)
    apply(load_desired_state(make_repo(tmp_path / "main")), "rev1", built, owner="test")
    finish("app-dev", "us-east-1", built)
    calls.clear()
    return built


@pytest.fixture
def github(tmp_path) -> FakeGitHub:
    fake = FakeGitHub(make_repo(tmp_path / "pr"), sha=HEAD)
    yield fake
    fake.close()


def source(fake: FakeGitHub, *heads: str) -> GitHubSource:
    """GitHubSource on the fake, pull request 2 open with `heads` as its head, in turn
    (HEAD by default): the preview reads the head over HTTP, as in Lambda."""
    fake.open_pull(2, *(heads or (HEAD,)))
    return GitHubSource("owner/repo", api_url=fake.api_url)


def reporter(fake: FakeGitHub) -> GitHubReporter:
    return GitHubReporter(
        "owner/repo", api_url=fake.api_url, token=lambda: "t0ken", sleep=lambda _: None
    )


def pr(sha: str = HEAD) -> PullRequest:
    return PullRequest("owner/repo", 2, sha, "https://github.com/owner/repo/pull/2")


def change(fake: FakeGitHub, files: dict, sha: str = HEAD) -> None:
    make_repo(fake.files, files, defaults=False)
    fake.sha = sha


def plan_statuses(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(s["sha"], s["state"]) for s in fake.statuses if s["context"] == PLAN_CONTEXT]


def stack_parameters() -> dict[str, str]:
    stack = boto3.client("cloudformation", "us-east-1").describe_stacks(StackName="app-dev")
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Stacks"][0]["Parameters"]}


def test_an_update_is_previewed_commented_and_marked_success(services, github, calls):
    """GIVEN a pull request changing a parameter WHEN previewed THEN one comment says the
    update, the head commit's plan status is success, a preview change set was created,
    described and deleted, and no stack operation ran: the stack keeps its value."""
    change(github, GREETING)
    outcome = run_preview(pr(), source(github), services, reporter(github))
    assert (outcome.status, outcome.revision) == ("previewed", HEAD)
    assert outcome.stacks == [
        {"stack_name": "app-dev", "action": "update", "reason": outcome.stacks[0]["reason"]}
    ]
    (comment,) = github.issue_comments(2)
    assert comment["body"].startswith(MARKER) and "app-dev" in comment["body"]
    assert plan_statuses(github) == [(HEAD, "success")]
    assert {"CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet"} <= set(calls)
    assert WRITES.isdisjoint(calls)
    assert stack_parameters()["Greeting"] == "hello"
    changes = boto3.client("cloudformation", "us-east-1").list_change_sets(StackName="app-dev")
    assert changes["Summaries"] == []


def test_a_new_push_edits_the_same_comment(services, github):
    """GIVEN a previewed pull request WHEN a push to it (synchronize) is previewed THEN
    the one comment is edited, not a second one posted, and the new head gets a status."""
    change(github, GREETING)
    run_preview(pr(), source(github), services, reporter(github))
    change(github, RENAMED, sha=NEWER)
    run_preview(pr(NEWER), source(github, NEWER), services, reporter(github))
    (comment,) = github.issue_comments(2)
    assert "qa" in comment["body"] or "Logs" in comment["body"]
    assert len(github.calls("PATCH", r"/repos/owner/repo/issues/comments/\d+")) == 1
    assert [sha for sha, _ in plan_statuses(github)] == [HEAD, NEWER]


def test_a_blocked_replacement_fails_the_plan_and_changes_nothing(services, github, calls):
    """GIVEN a pull request renaming the log group (a stateful replacement, as the demo's
    database rename) WHEN previewed THEN the status is failure, the comment says blocked,
    and nothing is executed: the log group is the same."""
    change(github, RENAMED)
    outcome = run_preview(pr(), source(github), services, reporter(github))
    assert outcome.status == "blocked"
    assert plan_statuses(github) == [(HEAD, "failure")]
    (comment,) = github.issue_comments(2)
    assert "blocked" in comment["body"].lower()
    assert WRITES.isdisjoint(calls)
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/test/dev/logs"]


def test_an_unchanged_pull_request_asks_for_no_change_set(services, github, calls):
    """GIVEN a pull request changing no stack input WHEN previewed THEN success, and no
    change set is created."""
    outcome = run_preview(pr(), source(github), services, reporter(github))
    assert outcome.status == "previewed"
    assert plan_statuses(github) == [(HEAD, "success")]
    assert "CreateChangeSet" not in calls


def test_invalid_desired_state_is_reported_without_aws_writes(services, github, calls):
    """GIVEN a pull request whose stack file names a missing template WHEN previewed THEN
    its findings are reported as failure, and CloudFormation is not asked for anything."""
    change(github, {"desired-state/app-dev.yml": STACK.replace("app.yml", "gone.yml")})
    outcome = run_preview(pr(), source(github), services, reporter(github))
    assert outcome.status == "invalid" and outcome.findings
    assert plan_statuses(github) == [(HEAD, "failure")]
    assert not [c for c in calls if c != "Scan"]


def test_a_head_that_moved_on_supersedes_the_preview(services, github, calls):
    """GIVEN a pull request whose head moved on since the event WHEN previewed THEN it
    stops before any change set and posts nothing."""
    change(github, GREETING)
    outcome = run_preview(pr(), source(github, NEWER), services, reporter(github))
    assert outcome.status == "superseded"
    assert "CreateChangeSet" not in calls
    assert github.issue_comments(2) == [] and github.statuses == []


def test_a_push_while_the_preview_runs_supersedes_it_before_posting(services, github, calls):
    """GIVEN a pull request whose head is HEAD when the preview starts and NEWER by the
    time it would post (a push landed meanwhile, read from GitHub's pulls endpoint) WHEN
    previewed THEN nothing is posted, and the outcome is superseded naming the new head."""
    change(github, GREETING)
    outcome = run_preview(pr(), source(github, HEAD, NEWER), services, reporter(github))
    assert outcome.status == "superseded" and NEWER[:12] in outcome.reason
    assert len(github.calls("GET", r"/repos/owner/repo/pulls/2")) == 2
    assert {"CreateChangeSet", "DeleteChangeSet"} <= set(calls)  # the change set ran first
    assert WRITES.isdisjoint(calls)
    assert github.issue_comments(2) == [] and github.statuses == []
    assert github.check_runs == {}


def test_github_refusing_the_report_is_said_not_raised(services, github):
    """GIVEN GitHub refusing the reporter's token WHEN previewed THEN the plan stands and
    the outcome says what was not reported."""
    change(github, GREETING)
    github.plain_token = "another"
    outcome = run_preview(pr(), source(github), services, reporter(github))
    assert outcome.status == "previewed"
    assert "not reported: comment" in outcome.reason and "not reported: check" in outcome.reason


def test_the_handler_rejects_an_event_that_is_not_a_pull_request():
    from handlers import preview as handler
    from localaws.lambda_context import LambdaContext

    answer = handler.handler({"detail-type": "Git Push", "detail": {}}, LambdaContext())
    assert answer["status"] == "rejected"
    assert answer["reason"].startswith("not a pull request event")


# -- with a GitHub App: a check run with annotations instead of the plan status ----------

APP_SECRET = "gitops/github-app"


@pytest.fixture
def app_key():
    """A throwaway App key: the fake verifies the JWT with its public half."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def app_reporter(fake: FakeGitHub, secret: str = APP_SECRET) -> GitHubReporter:
    """The reporter the handlers build: from the environment, the App's secret read at
    the first report."""
    forget_secrets()
    reporter = github_reporter_from_env(
        {
            "DESIRED_STATE_REPOSITORY": "github:owner/repo",
            "GITHUB_APP_SECRET": secret,
            "GITHUB_API_URL": fake.api_url,
        }
    )
    assert reporter is not None
    return reporter


def store_app_secret(fake: FakeGitHub, key) -> None:
    from cryptography.hazmat.primitives import serialization

    fake.app_public_key = key.public_key()
    private_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    boto3.client("secretsmanager", "us-east-1").create_secret(
        Name=APP_SECRET,
        SecretString=json.dumps({"app_id": fake.app_id, "private_key": private_key}),
    )


def test_with_an_app_findings_are_annotated_on_a_check_run(services, github, app_key):
    """GIVEN a GitHub App in Secrets Manager and a pull request whose stack file has an
    error finding WHEN previewed THEN one completed check run, conclusion failure, with
    an annotation at the finding's path and line, and no plan status."""
    store_app_secret(github, app_key)
    # The template path last: its finding is on line 7.
    missing = STACK.replace("template-file-path: templates/app.yml\n", "")
    change(github, {"desired-state/app-dev.yml": missing + "template-file-path: gone.yml\n"})
    reporter = app_reporter(github)
    outcome = run_preview(pr(), source(github), services, reporter)
    assert outcome.status == "invalid" and outcome.findings
    assert github.invalid == []
    (run,) = github.check_runs.values()
    assert (run["name"], run["head_sha"]) == (PLAN_CONTEXT, HEAD)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    expected = {finding_at(f) for f in outcome.findings}
    assert ("desired-state/app-dev.yml", 7, "failure") in expected
    assert {
        (a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]
    } == expected
    assert all(a["start_line"] == a["end_line"] for a in run["annotations"])
    assert plan_statuses(github) == []
    (comment,) = github.issue_comments(2)
    assert comment["body"].startswith(MARKER)
    assert github.installation_tokens  # the comment too went with the installation token


def test_an_unreadable_app_secret_is_a_failed_report_not_a_failed_preview(services, github):
    """GIVEN GITHUB_APP_SECRET naming a secret that does not exist WHEN previewed THEN the
    plan stands and the outcome says the report was not posted; GitHub saw nothing."""
    change(github, GREETING)
    outcome = run_preview(pr(), source(github), services, app_reporter(github, "missing"))
    assert outcome.status == "previewed"
    assert "not reported: comment" in outcome.reason and "not reported: check" in outcome.reason
    assert "'missing'" in outcome.reason
    assert github.comments == {} and github.check_runs == {} and github.statuses == []


def finding_at(said: str) -> tuple[str, int, str]:
    """Where a finding of the outcome is, and the annotation level it should have."""
    where, severity = re.match(r"(.+?): (error|warning): ", said).groups()
    path, _, line = where.partition(":")
    return path, max(int(line or 0), 1), "failure" if severity == "error" else "warning"
