"""Hostile repositories: whatever a push holds, `validate` and `plan` answer with
findings naming the file (and line), exit 1, print no traceback and write nothing to
AWS. Each class was first reproduced as a crash (a segmentation fault, RecursionError,
RuntimeError, ValueError, OSError) or a hang (a FIFO)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from reconciler.cli import main
from tests.repo import STACK, TEMPLATE, make_repo

DEEP = 100_000  # levels: what crashed the YAML composer


def stack(**changes: str) -> str:
    text = STACK
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def chain(n: int, cycle: bool = False) -> dict[str, str]:
    """n stack files, each depending on the next (and the last on the first if cycle)."""
    files = {"desired-state/app-dev.yml": None}
    for i in range(n):
        nxt = i + 1 if i + 1 < n else (0 if cycle else None)
        files[f"desired-state/s{i}.yml"] = (
            f"template-file-path: templates/app.yml\nparameters: {{EnvironmentSuffix: d{i}}}\n"
            f"stack-name: s{i}\nregion: us-east-1\n"
            + (f"depends-on: [s{nxt}]\n" if nxt is not None else "")
        )
    return files


def _symlink(target: str, link: str):
    def make(root):
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / link)

    return make


def _fifo(link: str):
    return lambda root: os.mkfifo(root / link)


def _mkdir(link: str):
    return lambda root: (root / link).mkdir()


def _chain_through_links(root):
    os.symlink(".", root / "templates" / "loop")


# id -> (files, extra setup, expected (path, line, rule, message part))
CASES = {
    "flow-sequences-in-a-stack-file": (
        {"desired-state/app-dev.yml": STACK + "x: " + "[" * DEEP + "]" * DEEP + "\n"},
        None,
        ("desired-state/app-dev.yml", 8, "DS001", "nested more than 100 levels"),
    ),
    "flow-mappings-in-a-template": (
        {"templates/app.yml": TEMPLATE + "Metadata:\n  X: " + "{a: " * DEEP + "1" + "}" * DEEP},
        None,
        ("templates/app.yml", 28, "DS008", "nested more than 100 levels"),
    ),
    "compact-block-sequences": (
        {"desired-state/app-dev.yml": STACK + "x:\n" + "- " * DEEP + "1\n"},
        None,
        ("desired-state/app-dev.yml", 9, "DS001", "nested more than 100 levels"),
    ),
    "indented-block-mappings": (
        {
            "desired-state/app-dev.yml": STACK
            + "x:\n"
            + "".join(" " * i + "a:\n" for i in range(1, 1300))
        },
        None,
        ("desired-state/app-dev.yml", 108, "DS001", "nested more than 100 levels"),
    ),
    "json-template-with-a-tab": (
        {
            "templates/app.json": '{"Resources":\t{"A": ' + "[" * DEEP + "]" * DEEP + "}}",
            "desired-state/app-dev.yml": stack(**{"app.yml": "app.json"}),
        },
        None,
        ("templates/app.json", 1, "DS008", "nested more than 100 levels"),
    ),
    "stack-file-linked-to-itself": (
        {},
        _symlink("loop.yml", "desired-state/loop.yml"),
        ("desired-state/loop.yml", 0, "DS001", "a symlink loop"),
    ),
    "two-stack-files-linked-to-each-other": (
        {},
        lambda root: (
            os.symlink("b.yml", root / "desired-state/a.yml"),
            os.symlink("a.yml", root / "desired-state/b.yml"),
        ),
        ("desired-state/a.yml", 0, "DS001", "a symlink loop"),
    ),
    "template-linked-to-itself": (
        {"desired-state/app-dev.yml": stack(**{"app.yml": "x.yml"})},
        _symlink("x.yml", "templates/x.yml"),
        ("desired-state/app-dev.yml", 1, "DS007", "a symlink loop"),
    ),
    "template-path-through-a-directory-loop-too-often": (
        {
            "desired-state/app-dev.yml": stack(
                **{"templates/app.yml": "templates/" + "loop/" * 60 + "app.yml"}
            )
        },
        _chain_through_links,
        ("desired-state/app-dev.yml", 1, "DS007", "a symlink loop"),
    ),
    "stack-file-linked-out-of-the-repository": (
        {},
        _symlink("/etc/hostname", "desired-state/out.yml"),
        ("desired-state/out.yml", 0, "DS001", "leaves the repository"),
    ),
    "nul-byte-in-template-file-path": (
        {"desired-state/app-dev.yml": stack(**{"templates/app.yml": '"templates/app\\0.yml"'})},
        None,
        ("desired-state/app-dev.yml", 1, "DS003", "control character"),
    ),
    "newline-in-template-file-path": (
        {"desired-state/app-dev.yml": stack(**{"templates/app.yml": '"templates/app.yml\\n"'})},
        None,
        ("desired-state/app-dev.yml", 1, "DS003", "control character"),
    ),
    "file-name-too-long": (
        {"desired-state/app-dev.yml": stack(**{"app.yml": "a" * 5000 + ".yml"})},
        None,
        ("desired-state/app-dev.yml", 1, "DS007", "File name too long"),
    ),
    "path-too-long": (
        {"desired-state/app-dev.yml": stack(**{"app.yml": "a/" * 3000 + "x.yml"})},
        None,
        ("desired-state/app-dev.yml", 1, "DS007", "File name too long"),
    ),
    "stack-file-is-a-fifo": (
        {},
        _fifo("desired-state/fifo.yml"),
        ("desired-state/fifo.yml", 0, "DS001", "not a regular file"),
    ),
    "stack-file-is-a-directory": (
        {},
        _mkdir("desired-state/dir.yml"),
        ("desired-state/dir.yml", 0, "DS001", "not a regular file"),
    ),
    "template-file-path-is-a-directory": (
        {"desired-state/app-dev.yml": stack(**{"templates/app.yml": "templates"})},
        None,
        ("desired-state/app-dev.yml", 1, "DS007", "not a regular file"),
    ),
    "depends-on-cycle-3000-long": (
        chain(3000, cycle=True),
        None,
        ("desired-state/s0.yml", 5, "DS012", "more) ..."),
    ),
    "stack-name-with-a-trailing-newline": (
        {"desired-state/app-dev.yml": stack(**{"stack-name: app-dev": 'stack-name: "app-dev\\n"'})},
        None,
        ("desired-state/app-dev.yml", 6, "DS003", "stack-name"),
    ),
    "region-with-a-trailing-newline": (
        {"desired-state/app-dev.yml": stack(**{"region: us-east-1": 'region: "us-east-1\\n"'})},
        None,
        ("desired-state/app-dev.yml", 7, "DS003", "region"),
    ),
    "outputs-path-with-a-trailing-newline": (
        {"desired-state/app-dev.yml": STACK + 'outputs-path: "/app/dev\\n"\n'},
        None,
        ("desired-state/app-dev.yml", 8, "DS003", "outputs-path"),
    ),
}


def hostile_repo(tmp_path, case: str):
    files, setup, expected = CASES[case]
    root = make_repo(tmp_path, files)
    if setup:
        setup(root)
    return root, expected


@pytest.mark.parametrize("case", list(CASES))
def test_validate_turns_hostile_input_into_a_finding(tmp_path, capsys, case):
    """GIVEN a hostile repository WHEN validated offline THEN exit 1 with the finding at
    its file and line, and no traceback."""
    root, (path, line, rule, part) = hostile_repo(tmp_path, case)
    assert main(["validate", "--offline", str(root)]) == 1
    out, errs = capsys.readouterr()
    where = f"{path}:{line}: error: " if line else f"{path}: error: "
    found = [row for row in out.splitlines() if row.startswith(where) and row.endswith(f"[{rule}]")]
    assert found and part in found[0], out
    assert "Traceback" not in out + errs
    assert all(len(row) < 400 for row in out.splitlines())  # paths and cycles are cut short


@pytest.mark.parametrize(
    "case",
    [
        "flow-mappings-in-a-template",
        "stack-file-linked-to-itself",
        "nul-byte-in-template-file-path",
        "path-too-long",
        "stack-file-is-a-fifo",
        "stack-name-with-a-trailing-newline",
    ],
)
def test_plan_refuses_hostile_input_and_writes_nothing(tmp_path, capsys, aws, case):
    """GIVEN a hostile repository WHEN planned against AWS THEN exit 1, the finding on
    stderr, and no stack, change set or parameter in the account."""
    import boto3

    root, (path, _, rule, _) = hostile_repo(tmp_path, case)
    code = main(["plan", str(root)])
    out, errs = capsys.readouterr()
    assert code == 1 and f"[{rule}]" in errs and path in errs
    assert "Traceback" not in out + errs
    assert boto3.client("cloudformation").list_stacks()["StackSummaries"] == []
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []


def test_a_depends_on_chain_3000_long_validates_and_plans_in_order(tmp_path, capsys, aws):
    """GIVEN 3000 stacks each depending on the next WHEN validated and planned THEN no
    RecursionError: no finding, and the plan creates the last first."""
    root = make_repo(tmp_path, chain(3000))
    assert main(["validate", "--offline", str(root)]) == 0
    capsys.readouterr()
    assert main(["plan", "--json", str(root)]) == 0
    import json

    names = [p["stack_name"] for p in json.loads(capsys.readouterr().out)["stacks"]]
    assert names[0] == "s2999" and names[-1] == "s0" and len(names) == 3000


def test_the_process_survives_a_file_nested_100000_levels(tmp_path):
    """GIVEN the input that used to kill the process with SIGSEGV WHEN `python -m
    reconciler validate` runs THEN it exits 1 with the finding, no signal, no traceback."""
    root, _ = hostile_repo(tmp_path, "flow-sequences-in-a-stack-file")
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--offline", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.returncode  # -11 was the segmentation fault
    assert "desired-state/app-dev.yml:8: error: cannot parse: nested more than 100" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
