"""AWS's limits, checked before AWS is asked: each limit just inside passes, just outside
is a finding at the stack file's line (docs/desired-state.md, "Limits")."""

from __future__ import annotations

import re

import pytest

from reconciler.cli import main
from reconciler.desired import load_desired_state
from reconciler.validation import validate
from reconciler.validation.dynamic_references import SECRET_SYNTAX
from tests.repo import STACK, TEMPLATE, make_repo


def tags(n: int, key: str = "k", value: str = "v") -> str:
    return "".join(f"  {key}{i}: {value}\n" for i in range(n))


def with_tags(block: str) -> str:
    return STACK.replace("  compliance: pci-dss\n", block)


def with_path(path: str) -> str:
    return STACK + f"outputs-path: {path}\n"


def with_parameter(value: str) -> str:
    return STACK.replace(
        "  EnvironmentSuffix: dev\n", f"  EnvironmentSuffix: dev\n  Greeting: {value}\n"
    )


def template_with_output(key: str) -> str:
    return TEMPLATE + f"  {key}:\n    Value: x\n"


# id -> (files, None when it passes, else (line, rule, message part))
LIMITS = {
    "48-user-tags": ({"desired-state/app-dev.yml": with_tags(tags(48))}, None),
    "49-user-tags-plus-2-own": (
        {"desired-state/app-dev.yml": with_tags(tags(49))},
        (4, "DS015", "49 tags: a stack takes 50"),
    ),
    "tag-key-128": ({"desired-state/app-dev.yml": with_tags(f"  {'k' * 128}: v\n")}, None),
    "tag-key-129": (
        {"desired-state/app-dev.yml": with_tags(f"  {'k' * 129}: v\n")},
        (5, "DS015", "the key is 129 characters"),
    ),
    "tag-key-empty": (
        {"desired-state/app-dev.yml": with_tags('  "": v\n')},
        (5, "DS015", "the key is 0 characters"),
    ),
    "tag-value-256": ({"desired-state/app-dev.yml": with_tags(f"  k: {'v' * 256}\n")}, None),
    "tag-value-257": (
        {"desired-state/app-dev.yml": with_tags(f"  k: {'v' * 257}\n")},
        (5, "DS015", "the value is 257 characters"),
    ),
    "tag-value-empty": (
        {"desired-state/app-dev.yml": with_tags('  k: ""\n')},
        (5, "DS015", "the value is 0 characters"),
    ),
    "tag-unicode-letters-and-symbols": (
        {"desired-state/app-dev.yml": with_tags('  "équipe _.:/=+-@": "Zürich 1 _.:/=+-@"\n')},
        None,
    ),
    "tag-value-with-a-star": (
        {"desired-state/app-dev.yml": with_tags('  owner: "a*b"\n')},
        (5, "DS015", "holds '*'"),
    ),
    "tag-key-with-a-newline": (
        {"desired-state/app-dev.yml": with_tags('  "owner\\n": x\n')},
        (5, "DS015", "holds '\\n'"),
    ),
    "tag-key-AWS-colon-any-case": (
        {"desired-state/app-dev.yml": with_tags("  AWS:x: v\n")},
        (4, "DS003", "reserved prefix"),
    ),
    "ssm-path-ordinary": ({"desired-state/app-dev.yml": with_path("/my-aws/ssm-app")}, None),
    "ssm-path-aws": (
        {"desired-state/app-dev.yml": with_path("/aws/app")},
        (8, "DS016", "reserves names beginning with aws or ssm"),
    ),
    "ssm-path-SSM-any-case": (
        {"desired-state/app-dev.yml": with_path("/SsmApp")},
        (8, "DS016", "reserves names"),
    ),
    "ssm-path-by-default-from-an-aws-stack-name": (
        {"desired-state/app-dev.yml": STACK.replace("stack-name: app-dev", "stack-name: aws-app")},
        (6, "DS016", "by default /<stack-name>"),
    ),
    "ssm-name-1011": (
        # "/" + 997 + "/" + "GreetingName" (12) = 1011
        {"desired-state/app-dev.yml": with_path("/" + "p" * 997)},
        None,
    ),
    "ssm-name-1012": (
        {"desired-state/app-dev.yml": with_path("/" + "p" * 998)},
        (8, "DS016", "1012-character name"),
    ),
    "ssm-name-with-the-longest-output-key": (
        {
            "templates/app.yml": template_with_output("O" * 255),
            "desired-state/app-dev.yml": with_path("/" + "p" * 755),
        },
        (8, "DS016", "1012-character name"),
    ),
    "ssm-15-levels": ({"desired-state/app-dev.yml": with_path("/l" * 14)}, None),
    "ssm-16-levels": (
        {"desired-state/app-dev.yml": with_path("/l" * 15)},
        (8, "DS016", "16 levels deep"),
    ),
    "parameter-value-4096-bytes": ({"desired-state/app-dev.yml": with_parameter("é" * 2048)}, None),
    "parameter-value-4097-bytes": (
        {"desired-state/app-dev.yml": with_parameter("é" * 2048 + "x")},
        (4, "DS017", "'Greeting' is 4097 bytes"),
    ),
    "stack-name-128": (
        {
            "desired-state/app-dev.yml": STACK.replace(
                "stack-name: app-dev", "stack-name: a" + "b" * 127
            )
        },
        None,
    ),
    "stack-name-129": (
        {
            "desired-state/app-dev.yml": STACK.replace(
                "stack-name: app-dev", "stack-name: a" + "b" * 128
            )
        },
        (6, "DS003", "128 at most"),
    ),
    "stack-name-starting-with-a-digit": (
        {"desired-state/app-dev.yml": STACK.replace("stack-name: app-dev", "stack-name: 1app")},
        (6, "DS003", "a letter, then"),
    ),
    "template-51200-bytes": (
        {"templates/app.yml": TEMPLATE + "#" * (51_200 - len(TEMPLATE) - 1) + "\n"},
        None,
    ),
    "template-51201-bytes": (
        {"templates/app.yml": TEMPLATE + "#" * (51_200 - len(TEMPLATE)) + "\n"},
        (1, "DS014", "51201 bytes"),
    ),
}


@pytest.mark.parametrize("case", list(LIMITS))
def test_each_limit_just_inside_passes_and_just_outside_is_a_finding(tmp_path, case):
    files, expected = LIMITS[case]
    report = validate(load_desired_state(make_repo(tmp_path, files)))
    if expected is None:
        assert report.findings == ()
        return
    line, rule, part = expected
    found = [f for f in report.findings if f.rule == rule]
    assert len(found) == 1, report.findings
    path = "templates/app.yml" if rule == "DS014" else "desired-state/app-dev.yml"
    assert (found[0].path, found[0].line, found[0].is_error) == (path, line, True)
    assert part in found[0].message


def test_a_noecho_value_too_large_is_reported_by_size_only(tmp_path):
    template = TEMPLATE.replace("    Default: hello\n", "    Default: hello\n    NoEcho: true\n")
    files = {
        "templates/app.yml": template,
        "desired-state/app-dev.yml": with_parameter("s3cr3t" * 700),
    }
    report = validate(load_desired_state(make_repo(tmp_path, files)))
    (finding,) = [f for f in report.findings if f.rule == "DS017"]
    assert "s3cr3t" not in finding.message


def test_the_cli_reports_a_limit_with_file_and_line_and_exits_1(tmp_path, capsys):
    root = make_repo(tmp_path, {"desired-state/app-dev.yml": with_path("/aws/app")})
    assert main(["validate", "--offline", str(root)]) == 1
    assert "desired-state/app-dev.yml:8: error: outputs-path '/aws/app'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("STACK_NAME", "app-dev\n"),
        ("REGION", "us-east-1\n"),
        ("SSM_PATH", "/app/dev\n"),
    ],
)
def test_name_patterns_refuse_a_trailing_newline(pattern, text):
    import reconciler.desired as desired

    compiled: re.Pattern[str] = getattr(desired, pattern)
    assert compiled.fullmatch(text.rstrip("\n")) and not compiled.fullmatch(text)


def test_the_secret_reference_syntax_refuses_a_trailing_newline():
    assert SECRET_SYNTAX.fullmatch("x:SecretString")
    assert not SECRET_SYNTAX.fullmatch("x:SecretString\n")
