"""Loading and validating desired-state files: every bad input is a finding that names
the file and line, never an exception."""

from __future__ import annotations

import pytest

from reconciler.desired import DriftMode, load_desired_state
from reconciler.validation import validate
from tests.repo import STACK, TEMPLATE, make_repo


def findings_for(tmp_path, files, defaults=True):
    state = load_desired_state(make_repo(tmp_path, files, defaults=defaults))
    return list(validate(state).findings)


def test_the_sample_repository_loads_with_defaults_filled_in(tmp_path):
    """GIVEN a valid stack file WHEN loaded THEN every key has its value or default."""
    state = load_desired_state(make_repo(tmp_path))
    assert validate(state).findings == ()
    (spec,) = state.stacks
    assert spec.stack_name == "app-dev"
    assert spec.parameters == {"EnvironmentSuffix": "dev"}
    assert spec.tags == {"compliance": "pci-dss"}
    assert spec.outputs_path == "/app-dev"
    assert spec.drift is DriftMode.REPAIR
    assert spec.allow_replacement == () and spec.depends_on == ()


def test_a_git_sync_deployment_file_with_name_and_region_added_loads(tmp_path):
    """GIVEN a CloudFormation Git sync file (three keys) plus stack-name and region
    WHEN loaded THEN it is valid."""
    text = (
        "template-file-path: templates/app.yml\n"
        "parameters: {EnvironmentSuffix: prod}\n"
        "tags: {team: payments}\n"
        "stack-name: app-prod\nregion: eu-central-1\n"
    )
    assert findings_for(tmp_path, {"desired-state/app-dev.yml": text}) == []


def test_scalar_parameter_values_become_strings_and_lists_comma_joined(tmp_path):
    text = STACK.replace(
        "  EnvironmentSuffix: dev\n",
        "  EnvironmentSuffix: dev\n  Greeting: [a, 1, true]\n",
    )
    state = load_desired_state(make_repo(tmp_path, {"desired-state/app-dev.yml": text}))
    assert state.stacks[0].parameters["Greeting"] == "a,1,true"


BAD_INPUTS = [
    pytest.param("stack-name: [unclosed\n", "DS001", 2, "cannot parse", id="invalid-yaml"),
    pytest.param("- just\n- a list\n", "DS001", 1, "must be a YAML mapping", id="not-a-mapping"),
    pytest.param(STACK + "stack-name: again\n", "DS001", 6, "Duplicate", id="duplicate-key"),
    pytest.param(STACK + "colour: blue\n", "DS002", 8, "unknown key 'colour'", id="unknown-key"),
    pytest.param(
        STACK.replace("region: us-east-1", "region: [us-east-1]"),
        "DS003",
        7,
        "region: must be a string",
        id="wrong-type",
    ),
    pytest.param(
        STACK.replace("region: us-east-1", "region: Mars-1"),
        "DS003",
        7,
        "not an AWS region",
        id="bad-region",
    ),
    pytest.param(
        STACK + "drift: sometimes\n", "DS003", 8, "'sometimes' is not one of", id="bad-drift"
    ),
    pytest.param(
        STACK.replace("compliance: pci-dss", "aws:cloudformation: x"),
        "DS003",
        4,
        "reserved prefix",
        id="reserved-tag",
    ),
    pytest.param(
        STACK.replace("stack-name: app-dev\n", ""), "DS004", 1, "'stack-name'", id="missing-key"
    ),
    pytest.param(
        STACK.replace("templates/app.yml", "../outside.yml"),
        "DS006",
        1,
        "leaves the repository",
        id="template-outside-repo",
    ),
    pytest.param(
        STACK.replace("templates/app.yml", "/etc/passwd"),
        "DS006",
        1,
        "leaves the repository",
        id="template-absolute-path",
    ),
    pytest.param(
        STACK.replace("templates/app.yml", "templates/nope.yml"),
        "DS007",
        1,
        "does not exist",
        id="template-missing",
    ),
    pytest.param(
        STACK.replace("EnvironmentSuffix: dev", "EnvironmentSuffix: dev\n  Colour: blue"),
        "DS009",
        2,
        "parameter 'Colour' is not declared by templates/app.yml",
        id="undeclared-parameter",
    ),
    pytest.param(
        STACK.replace("  EnvironmentSuffix: dev\n", "  Greeting: hi\n"),
        "DS010",
        2,
        "parameter 'EnvironmentSuffix' has no default in templates/app.yml:3",
        id="required-parameter-missing",
    ),
    pytest.param(
        STACK + "depends-on: [network-dev]\n",
        "DS011",
        8,
        "depends-on names 'network-dev'",
        id="unknown-dependency",
    ),
]


@pytest.mark.parametrize(("text", "rule", "line", "message"), BAD_INPUTS)
def test_bad_stack_file_is_a_finding_with_file_and_line(tmp_path, text, rule, line, message):
    """GIVEN a stack file with one defect WHEN validated THEN exactly that defect is
    reported as an error, at its file and line."""
    findings = findings_for(tmp_path, {"desired-state/app-dev.yml": text})
    matching = [f for f in findings if f.rule == rule]
    assert matching, findings
    finding = matching[0]
    assert finding.is_error
    assert finding.path == "desired-state/app-dev.yml"
    assert finding.line == line
    assert message in finding.message
    assert str(finding).startswith(f"desired-state/app-dev.yml:{line}: error: ")
    assert str(finding).endswith(f"[{rule}]")


def test_duplicate_stack_name_names_both_files(tmp_path):
    findings = findings_for(tmp_path, {"desired-state/app-dev-copy.yml": STACK})
    (finding,) = findings
    assert finding.rule == "DS005"
    assert finding.path == "desired-state/app-dev.yml"
    assert "already used by desired-state/app-dev-copy.yml" in finding.message


def test_depends_on_cycle_is_reported_with_its_path(tmp_path):
    a = STACK.replace("app-dev", "a") + "depends-on: [b]\n"
    b = STACK.replace("app-dev", "b") + "depends-on: [a]\n"
    findings = findings_for(
        tmp_path,
        {"desired-state/app-dev.yml": None, "desired-state/a.yml": a, "desired-state/b.yml": b},
    )
    (finding,) = findings
    assert finding.rule == "DS012"
    assert "a -> b -> a" in finding.message
    assert finding.line == 8


def test_unparseable_template_is_reported_at_its_own_line(tmp_path):
    findings = findings_for(tmp_path, {"templates/app.yml": "Resources:\n  X: [\n"})
    (finding,) = findings
    assert (finding.rule, finding.path, finding.line) == ("DS008", "templates/app.yml", 3)


def test_template_without_resources_is_reported(tmp_path):
    findings = findings_for(tmp_path, {"templates/app.yml": "Parameters: {}\n"})
    assert [f.rule for f in findings] == ["DS008"]
    assert "no Resources" in findings[0].message


def test_binary_stack_file_is_reported_not_raised(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "desired-state" / "blob.yml").write_bytes(b"\xff\xfe\x00binary")
    findings = validate(load_desired_state(repo)).findings
    assert [(f.rule, f.path) for f in findings] == [("DS001", "desired-state/blob.yml")]
    assert "not UTF-8" in findings[0].message


def test_oversized_stack_file_is_refused(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "desired-state" / "huge.yml").write_text("# pad\n" * 200_000)
    findings = validate(load_desired_state(repo)).findings
    assert [f.rule for f in findings] == ["DS001"]
    assert "over the 1 MiB limit" in findings[0].message


def test_missing_desired_state_folder_is_reported(tmp_path):
    findings = validate(load_desired_state(tmp_path)).findings
    assert [f.rule for f in findings] == ["DS000"]


def test_allow_replacement_of_an_undeclared_resource_is_a_warning(tmp_path):
    text = STACK + "allow-replacement: [Databse]\n"
    (finding,) = findings_for(tmp_path, {"desired-state/app-dev.yml": text})
    assert finding.rule == "DS013" and not finding.is_error


def test_template_symlink_that_leaves_the_repository_is_refused(tmp_path):
    outside = tmp_path / "outside.yml"
    outside.write_text("Resources: {}\n")
    repo = make_repo(tmp_path / "repo", {"templates/app.yml": None})
    (repo / "templates").mkdir()
    (repo / "templates" / "app.yml").symlink_to(outside)
    findings = validate(load_desired_state(repo)).findings
    assert [(f.rule, f.line) for f in findings] == [("DS006", 1)]


def test_template_too_large_for_a_change_set_request_is_refused(tmp_path):
    padding = "# " + "x" * 98 + "\n"
    findings = findings_for(tmp_path, {"templates/app.yml": TEMPLATE + padding * 520})
    (finding,) = findings
    assert (finding.rule, finding.path, finding.line) == ("DS014", "templates/app.yml", 1)
    assert "at most 51200" in finding.message


def test_stack_file_symlink_that_leaves_the_repository_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.yml"
    outside.write_text(STACK.replace("app-dev", "other"))
    repo = make_repo(tmp_path / "repo")
    (repo / "desired-state" / "other.yml").symlink_to(outside)
    findings = validate(load_desired_state(repo)).findings
    assert [(f.rule, f.path) for f in findings] == [("DS001", "desired-state/other.yml")]
    assert "leaves the repository" in findings[0].message


def test_yaml_alias_bomb_is_refused_fast(tmp_path):
    """Nine levels of nine aliases would expand to 387 million nodes."""
    lines = ['a0: &a0 ["x"]']
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    repo = make_repo(tmp_path, {"desired-state/bomb.yml": "\n".join(lines) + "\n"})
    findings = validate(load_desired_state(repo)).findings
    assert [(f.rule, f.path) for f in findings] == [("DS001", "desired-state/bomb.yml")]


def test_drift_ignore_takes_property_paths_per_logical_id(tmp_path):
    text = STACK + "drift-ignore:\n  Logs: [/Tags, /RetentionInDays]\n"
    state = load_desired_state(make_repo(tmp_path, {"desired-state/app-dev.yml": text}))
    assert state.stacks[0].drift_ignore == {"Logs": ("/Tags", "/RetentionInDays")}


def test_drift_ignore_path_without_a_slash_is_an_error(tmp_path):
    text = STACK + "drift-ignore:\n  Logs: [Tags]\n"
    (finding,) = findings_for(tmp_path, {"desired-state/app-dev.yml": text})
    assert (finding.rule, finding.line) == ("DS003", 8)
    assert "property paths like /Tags" in finding.message
