"""The deploy status wiring: set on the pushed commit after a pass and when stacks settle,
only when GitHub reporting is configured, and never failing the event's work."""

from __future__ import annotations

import pytest

from handlers import runtime
from reconciler.aws.services import github_reporter_from_env
from reconciler.github_report import GitHubReporter, GitHubReportError
from reconciler.triggers import Outcome

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.statuses: list[tuple] = []
        self.fail = fail

    def set_status(self, sha, context, state, description, target_url=""):
        if self.fail:
            raise GitHubReportError("GitHub POST statuses: HTTP 401")
        self.statuses.append((sha, context, state, description))


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(runtime, "github_reporter", lambda: found)
    return found


@pytest.mark.parametrize(
    ("env", "made"),
    [
        ({"DESIRED_STATE_REPOSITORY": "github:o/r"}, False),
        ({"DESIRED_STATE_REPOSITORY": "github:o/r", "GITHUB_TOKEN_SECRET": "t"}, True),
        ({"DESIRED_STATE_REPOSITORY": "github:o/r", "GITHUB_REPORT": "true"}, True),
        ({"DESIRED_STATE_REPOSITORY": "github:o/r", "GITHUB_APP_SECRET": "app"}, True),
        ({"DESIRED_STATE_REPOSITORY": "codecommit:r", "GITHUB_APP_SECRET": "app"}, False),
        ({"DESIRED_STATE_REPOSITORY": "codecommit:r", "GITHUB_REPORT": "true"}, False),
        (
            {"DESIRED_STATE_REPOSITORY": "github:o/r", "GITHUB_TOKEN_SECRET": "t"}
            | {"GITHUB_REPORT": "false"},
            False,
        ),
    ],
)
def test_reporting_is_configured_only_on_github_with_a_token_or_the_switch(env, made):
    reporter = github_reporter_from_env(env)
    assert isinstance(reporter, GitHubReporter) if made else reporter is None


def test_a_pass_sets_the_deploy_status_of_its_commit(recorder):
    outcome = Outcome("reconciled", revision=SHA, stacks=[{"outcome": "blocked"}])
    runtime.report_pushed(outcome)
    assert recorder.statuses == [
        (SHA, "gitops-reconciler/deploy", "failure", "1 of 1 stack(s) blocked or failed")
    ]


def test_nothing_is_set_without_reporting(monkeypatch):
    monkeypatch.setattr(runtime, "github_reporter", lambda: None)
    runtime.report_pushed(Outcome("reconciled", revision=SHA))  # no error, no call


def test_github_refusing_the_status_is_logged_not_raised(monkeypatch):
    monkeypatch.setattr(runtime, "github_reporter", lambda: Recorder(fail=True))
    runtime.report_pushed(Outcome("reconciled", revision=SHA, stacks=[{"outcome": "executed"}]))
