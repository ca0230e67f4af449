"""The `reconciler` command: exit codes, output formats, and no traceback for any user
error."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest

from localaws import extensions
from reconciler.cli import main
from tests.repo import STACK, TEMPLATE, commit, git_repo, make_repo

extensions.install_all()


def test_validate_clean_repository_exits_0(tmp_path, capsys):
    assert main(["validate", "--offline", str(make_repo(tmp_path))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 stack file(s): 0 error(s), 0 warning(s)"
    assert out[0].startswith("note: engine versions checked against cfn-lint's shipped")


def test_validate_prints_greppable_findings_and_exits_1(tmp_path, capsys):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    assert main(["validate", str(root)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("desired-state/app-dev.yml:8: error: unknown key 'colour'")
    assert first.endswith("[DS002]")


def test_validate_json_gives_findings_as_data(tmp_path, capsys):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": STACK + "colour: blue\n"})
    main(["validate", "--json", str(root)])
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding | {"message": ""} == {
        "path": "desired-state/app-dev.yml",
        "line": 8,
        "rule": "DS002",
        "severity": "error",
        "message": "",
    }


def test_bad_input_from_the_shell_gives_one_line_and_no_traceback(tmp_path):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": "stack-name: [\n"})
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(root)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "desired-state/app-dev.yml:2: error: cannot parse" in done.stderr


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--colour"])
    assert exit_info.value.code == 2


def test_path_that_is_not_a_directory_is_an_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_missing_credentials_are_explained(tmp_path, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["plan", str(make_repo(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "Traceback" not in err


def test_plan_shows_actions_and_resources(tmp_path, capsys, aws):
    assert main(["plan", str(make_repo(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "app-dev [us-east-1]: create - stack does not exist"
    assert "Logs      AWS::Logs::LogGroup  Add" in out


def test_plan_json_is_documented_shape(tmp_path, capsys, aws):
    main(["plan", "--json", str(make_repo(tmp_path))])
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert stack["action"] == "create"
    assert {c["logical_id"] for c in stack["changes"]} == {"Logs", "Param"}


def test_blocked_plan_exits_1(tmp_path, capsys, aws):
    root = make_repo(tmp_path)
    assert main(["apply", str(root)]) == 0
    make_repo(root, {"desired-state/app-dev.yml": STACK.replace("dev\n", "qa\n", 1)})
    capsys.readouterr()
    assert main(["plan", str(root)]) == 1
    assert "blocked" in capsys.readouterr().out


def test_plan_markdown_prints_the_pull_request_report(tmp_path, capsys, aws):
    assert main(["plan", "--markdown", str(make_repo(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## gitops-reconciler plan\n")
    assert "### app-dev \\[us-east-1\\]: create" in out
    assert "| Logs | AWS::Logs::LogGroup | Add |  |" in out
    assert "](" not in out  # no links without --link-base


def test_plan_markdown_links_files_at_the_working_copys_commit(tmp_path, capsys, aws):
    template = TEMPLATE.replace(
        "Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n    Default: x\n", 1
    )
    root = git_repo(tmp_path / "repo")
    sha = commit(root, {"templates/app.yml": template})
    base = "https://github.com/acme/infra"
    assert main(["plan", "--markdown", "--link-base", base, "--offline", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"## gitops-reconciler plan at `{sha[:7]}`")
    assert f"[templates/app.yml:3]({base}/blob/{sha}/templates/app.yml#L3) warning W2001" in out


def test_plan_markdown_of_a_blocked_plan_exits_1(tmp_path, capsys, aws):
    root = make_repo(tmp_path)
    assert main(["apply", str(root)]) == 0
    make_repo(root, {"desired-state/app-dev.yml": STACK.replace("dev\n", "qa\n", 1)})
    capsys.readouterr()
    assert main(["plan", "--markdown", str(root)]) == 1
    assert ": blocked" in capsys.readouterr().out


def test_plan_markdown_and_json_together_are_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--markdown", "--json", str(tmp_path)])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_apply_wait_prints_the_updates_events_not_the_stacks_history(tmp_path, capsys, aws):
    """GIVEN a deployed stack WHEN an update is applied with --wait THEN the events shown
    are the update's: none of the create's."""
    root = make_repo(tmp_path)
    assert main(["apply", "--wait", str(root)]) == 0
    hi = STACK.replace("dev\n", "dev\n  Greeting: hi\n", 1)
    make_repo(root, {"desired-state/app-dev.yml": hi})
    capsys.readouterr()
    with mock.patch("reconciler.cli.follow.CLOCK_SKEW", timedelta(0)):
        assert main(["apply", "--wait", str(root)]) == 0
    out = capsys.readouterr().out
    assert "UPDATE_COMPLETE" in out
    assert "CREATE_IN_PROGRESS" not in out and "CREATE_COMPLETE" not in out


def test_apply_publishes_outputs_then_outputs_and_status_read_them(tmp_path, capsys, aws):
    root = make_repo(tmp_path)
    assert main(["apply", "--wait", str(root)]) == 0
    out = capsys.readouterr().out
    assert "app-dev: following stack events" in out
    assert out.index("CREATE_IN_PROGRESS") < out.index("app-dev: Synced, Healthy")

    flat = tmp_path / "cfn-outputs" / "flat-outputs.json"
    assert main(["outputs", "app-dev", str(root), "--flat", str(flat)]) == 0
    assert "/app-dev/LogGroup = /test/dev/logs" in capsys.readouterr().out
    assert json.loads(flat.read_text()) == {
        "GreetingName": "/test/dev/greeting",
        "LogGroup": "/test/dev/logs",
    }

    assert main(["status", str(root)]) == 0
    captured = capsys.readouterr()
    row = captured.out.splitlines()[1].split()[:5]
    assert row == ["app-dev", "123456789012", "us-east-1", "Synced", "Healthy"]
    assert "DynamoDB table 'gitops-reconciler'" in captured.err


def test_apply_of_an_unknown_stack_is_an_error(tmp_path, capsys, aws):
    assert main(["apply", "--stack", "nope", str(make_repo(tmp_path))]) == 1
    assert "no stack file declares stack 'nope'" in capsys.readouterr().err


def test_status_json_lists_never_applied_stacks(tmp_path, capsys, aws):
    assert main(["status", "--json", str(make_repo(tmp_path))]) == 0
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert (stack["stack_name"], stack["health"], stack["message"]) == (
        "app-dev",
        "Missing",
        "never applied",
    )


def test_plan_lists_warnings_and_suppressions_on_stderr(tmp_path, capsys, aws):
    template = TEMPLATE.replace(
        "Parameters:\n", "Parameters:\n  Unused:\n    Type: String\n    Default: x\n", 1
    )
    stack = STACK + "suppress:\n  W2001: kept for the next release\n"
    root = make_repo(tmp_path, {"templates/app.yml": template, "desired-state/app-dev.yml": stack})
    assert main(["plan", "--offline", str(root)]) == 0
    err = capsys.readouterr().err
    assert "suppressed: templates/app.yml:3: warning: Parameter Unused not used." in err
    assert "(suppressed by desired-state/app-dev.yml: kept for the next release)" in err


def test_iam_policy_prints_each_statement_with_its_reason(tmp_path, capsys):
    """GIVEN a repository WHEN `iam-policy` runs THEN each statement is printed with the
    reason it is scoped or on "*", and it exits 0."""
    assert main(["iam-policy", "--prefix", "app-", str(make_repo(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "# LogsManagedStacks: changes or destroys existing resources" in out
    assert "when aws:ResourceTag/aws:cloudformation:stack-name StringLike app-*" in out


def test_iam_policy_json_gives_the_iam_document_and_the_reasons(tmp_path, capsys):
    assert main(["iam-policy", "--json", str(make_repo(tmp_path))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["policy"]["Version"] == "2012-10-17"
    assert len(data["statements"]) == len(data["policy"]["Statement"])
    assert all(s["reason"] for s in data["statements"])


def test_iam_policy_of_a_bad_repository_exits_1_without_traceback(tmp_path):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": "stack-name: [\n"})
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "iam-policy", str(root)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "desired-state/app-dev.yml:2: error: cannot parse" in done.stderr
