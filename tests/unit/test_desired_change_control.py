"""The change-control keys of a stack file (approval, approvers, approval-expires,
change-window, repair-outside-window, suspended): read into StackSpec, and every bad
value a DS003 finding at the key's line, never an exception."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.desired import KEYS, load_desired_state
from reconciler.validation import validate
from reconciler.windows import Window
from tests.repo import STACK, make_repo

PATH = "desired-state/app-dev.yml"


def load(tmp_path, extra: str):
    """The sample stack file with `extra` appended (its first line is line 8)."""
    return load_desired_state(make_repo(tmp_path, {PATH: STACK + extra}))


def findings_for(tmp_path, extra: str):
    return list(validate(load(tmp_path, extra)).findings)


def test_without_change_control_keys_a_stack_changes_freely(tmp_path):
    """GIVEN a stack file without the keys WHEN loaded THEN the defaults: no approval,
    24h expiry, no window, no repair outside one, not suspended."""
    (spec,) = load(tmp_path, "").stacks
    assert spec.approval is False and spec.approvers == ()
    assert spec.approval_expires == timedelta(hours=24)
    assert spec.change_windows == () and spec.repair_outside_window == "none"
    assert spec.suspended is False


def test_every_change_control_key_is_read(tmp_path):
    """GIVEN the example of docs/desired-state.md WHEN loaded THEN each key has its value."""
    extra = (
        "approval: required\n"
        "approvers: [alice, payments/dba, octocat_acme]\n"
        "approval-expires: 1h30m\n"
        "change-window:\n"
        "  - cron: '0 22 * * SAT'\n"
        "    duration: 4h\n"
        "    timezone: Europe/London\n"
        "  - {cron: '0 3 * * 1-5', duration: 90m}\n"
        "repair-outside-window: guardrails\n"
        "suspended: true\n"
    )
    state = load(tmp_path, extra)
    assert validate(state).findings == ()
    (spec,) = state.stacks
    assert spec.approval is True
    assert spec.approvers == ("alice", "payments/dba", "octocat_acme")
    assert spec.approval_expires == timedelta(hours=1, minutes=30)
    assert spec.change_windows == (
        Window("0 22 * * SAT", timedelta(hours=4), "Europe/London"),
        Window("0 3 * * 1-5", timedelta(minutes=90), "UTC"),
    )
    assert all(type(w.cron) is str and type(w.timezone) is str for w in spec.change_windows)
    assert spec.repair_outside_window == "guardrails"
    assert spec.suspended is True


def test_a_single_window_mapping_is_one_window(tmp_path):
    extra = "change-window:\n  cron: '0 22 * * SAT'\n  duration: 2d\n"
    (spec,) = load(tmp_path, extra).stacks
    assert spec.change_windows == (Window("0 22 * * SAT", timedelta(days=2)),)


def test_approval_none_is_the_default_written_out(tmp_path):
    (spec,) = load(tmp_path, "approval: none\nsuspended: false\n").stacks
    assert spec.approval is False and spec.suspended is False


def test_repeated_approvers_are_kept_once(tmp_path):
    (spec,) = load(tmp_path, "approval: required\napprovers: [alice, bob, alice]\n").stacks
    assert spec.approvers == ("alice", "bob")


def test_the_unknown_key_finding_lists_the_new_keys(tmp_path):
    """DS002 names every known key, change control included, so a typo is easy to fix."""
    (finding,) = findings_for(tmp_path, "aproval: required\n")
    assert finding.rule == "DS002" and finding.line == 8
    known = finding.message.split("(known: ")[1].rstrip(")").split(", ")
    assert known == list(KEYS)
    change_control = {"approval", "approvers", "approval-expires", "change-window"}
    assert change_control | {"repair-outside-window", "suspended"} <= set(known)


W = "change-window:\n  - cron: '0 22 * * SAT'\n    duration: 4h\n"  # lines 8-10

BAD = [
    # approval
    ("approval: 'yes'\n", 8, "approval: 'yes' is not one of required, none"),
    ("approval: yes\n", 8, "approval: true (a YAML boolean) is not one of required, none"),
    ("approval: Required\n", 8, "approval: 'Required' is not one of required, none"),
    ("approval: [required]\n", 8, "approval: a list is not one of required, none"),
    ("approval:\n", 8, "approval: empty is not one of required, none"),
    # approvers
    (
        "approval: required\napprovers: alice\n",
        9,
        "approvers: must be a non-empty list of GitHub logins or ORG/TEAM slugs",
    ),
    ("approval: required\napprovers: []\n", 9, "not an empty list"),
    ("approval: required\napprovers: [alice, 42]\n", 9, "not one holding int 42"),
    (
        "approval: required\napprovers: ['bob smith']\n",
        9,
        "approvers: 'bob smith' is not a GitHub login (letters, digits and hyphens, 39 at most)",
    ),
    ("approval: required\napprovers: ['@alice']\n", 9, "(write it without the @)"),
    ("approval: required\napprovers: ['@payments/dba']\n", 9, "without the @"),
    ("approval: required\napprovers: [-alice]\n", 9, "'-alice' is not a GitHub login"),
    ("approval: required\napprovers: [" + "a" * 40 + "]\n", 9, "is not a GitHub login"),
    ("approval: required\napprovers: [a/b/c]\n", 9, "'a/b/c' is not a GitHub login"),
    ("approval: required\napprovers: [alice@example.com]\n", 9, "is not a GitHub login"),
    # approval-expires
    (
        "approval: required\napproval-expires: 0h\n",
        9,
        "approval-expires: '0h' is not a duration from 1m to 7d like 24h, 90m, 1h30m or 2d",
    ),
    ("approval: required\napproval-expires: 8d\n", 9, "'8d' is not a duration"),
    ("approval: required\napproval-expires: 24\n", 9, "must be a duration from 1m to 7d"),
    ("approval: required\napproval-expires: 1 day\n", 9, "'1 day' is not a duration"),
    ("approval: required\napproval-expires: 99999999999d\n", 9, "is not a duration"),
    # keys that would do nothing
    ("approvers: [alice]\n", 8, "approvers: has no effect without `approval: required`"),
    ("approval: none\napprovers: [alice]\n", 9, "has no effect without `approval: required`"),
    ("approval-expires: 4h\n", 8, "approval-expires: has no effect without `approval: required`"),
    (
        "repair-outside-window: guardrails\n",
        8,
        "repair-outside-window: guardrails has no effect without a change-window",
    ),
    # repair-outside-window
    (
        W + "repair-outside-window: always\n",
        11,
        "repair-outside-window: 'always' is not one of none, guardrails",
    ),
    (W + "repair-outside-window: yes\n", 11, "true (a YAML boolean) is not one of none"),
    # suspended
    ("suspended: 'yes'\n", 8, "suspended: must be true or false, not 'yes'"),
    ("suspended: 'true'\n", 8, "suspended: must be true or false, not 'true'"),
    ("suspended: 1\n", 8, "suspended: must be true or false, not int 1"),
    ("suspended:\n", 8, "suspended: must be true or false, not empty"),
    # change-window: its shape
    ("change-window: []\n", 8, "change-window: give a mapping with cron, duration and"),
    ("change-window: '0 22 * * SAT'\n", 8, "not str '0 22 * * SAT'"),
    ("change-window:\n", 8, "change-window: give a mapping"),
    (
        W + "  - [0 3 * * *, 1h]\n",
        8,
        "change-window[1]: must be a mapping with cron, duration and timezone, not a list",
    ),
    (
        "change-window: {cron: '0 22 * * SAT', duration: 4h, start: '22:00'}\n",
        8,
        "change-window: unknown key 'start' (known: cron, duration, timezone)",
    ),
    ("change-window: {duration: 4h}\n", 8, "change-window: missing required key 'cron'"),
    (W + "  - cron: '0 3 * * *'\n", 8, "change-window[1]: missing required key 'duration'"),
    # change-window: cron
    (
        W + "  - {cron: '61 * * * *', duration: 1h}\n",
        8,
        "change-window[1].cron: '61 * * * *' is not a five-field cron expression: Bad minute",
    ),
    (
        "change-window: [{cron: '0 0 * * * *', duration: 1h}]\n",
        8,
        "change-window[0].cron: '0 0 * * * *' is not a five-field cron expression "
        "(minute hour day-of-month month day-of-week): it has 6",
    ),
    (
        "change-window: [{cron: 'cron(0 22 ? * SAT *)', duration: 1h}]\n",
        8,
        "change-window[0].cron: 'cron(0 22 ? * SAT *)' is EventBridge syntax",
    ),
    (
        "change-window: [{cron: '0 0 30 2 *', duration: 1h}]\n",
        8,
        "'0 0 30 2 *' is not a five-field cron expression: Bad day-of-month",
    ),
    ("change-window: [{cron: '@daily', duration: 1h}]\n", 8, "it has 1"),
    ("change-window: [{cron: 5, duration: 1h}]\n", 8, "change-window[0].cron: must be a string"),
    # change-window: duration
    (
        "change-window: [{cron: '0 22 * * SAT', duration: 0m}]\n",
        8,
        "change-window[0].duration: '0m' is not a duration from 1m to 7d",
    ),
    ("change-window: [{cron: '0 22 * * SAT', duration: 7d1m}]\n", 8, "'7d1m' is not a"),
    ("change-window: [{cron: '0 22 * * SAT', duration: soon}]\n", 8, "'soon' is not a"),
    ("change-window: [{cron: '0 22 * * SAT', duration: 240}]\n", 8, "not int 240"),
    # change-window: timezone
    (
        "change-window: [{cron: '0 22 * * SAT', duration: 4h, timezone: Mars/Base}]\n",
        8,
        "change-window[0].timezone: 'Mars/Base' is not an IANA time zone name like Europe/London",
    ),
    ("change-window: {cron: '0 1 * * *', duration: 4h, timezone: utc}\n", 8, "'utc' is not"),
    ("change-window: {cron: '0 1 * * *', duration: 4h, timezone: localtime}\n", 8, "is not an"),
    ("change-window: {cron: '0 1 * * *', duration: 4h, timezone: ../../etc}\n", 8, "is not an"),
    ("change-window: {cron: '0 1 * * *', duration: 4h, timezone: BST}\n", 8, "'BST' is not an"),
    ("change-window: {cron: '0 1 * * *', duration: 4h, timezone: 1}\n", 8, "must be a string"),
]


@pytest.mark.parametrize(("extra", "line", "message"), BAD, ids=[b[2][:60] for b in BAD])
def test_bad_change_control_value_is_a_finding_at_its_line(tmp_path, extra, line, message):
    """GIVEN one bad change-control value WHEN validated THEN exactly one DS003 error,
    naming the file and the key's line, and the stack is not loaded."""
    state = load(tmp_path, extra)
    findings = list(validate(state).findings)
    assert len(findings) == 1, findings
    (finding,) = findings
    assert (finding.rule, finding.path, finding.line) == ("DS003", PATH, line)
    assert finding.is_error
    assert message in finding.message, finding.message
    assert state.stacks == () and state.broken == {PATH: "app-dev"}


def test_a_bad_approval_is_reported_once_not_again_for_its_approvers(tmp_path):
    """GIVEN `approval: yes` and approvers WHEN validated THEN only the approval is
    wrong: the approvers are not also said to have no effect."""
    findings = findings_for(tmp_path, "approval: sometimes\napprovers: [alice]\n")
    assert [(f.rule, f.line) for f in findings] == [("DS003", 8)]


def test_a_bad_window_is_reported_once_not_again_for_repair_outside_it(tmp_path):
    extra = "change-window: {cron: nope, duration: 1h}\nrepair-outside-window: guardrails\n"
    findings = findings_for(tmp_path, extra)
    assert [(f.rule, f.line) for f in findings] == [("DS003", 8)]


def test_yaml_booleans_are_booleans_for_suspended(tmp_path):
    """YAML 1.1 (CloudFormation's and this parser's) reads `yes` as true: it means what
    it says for a boolean key, so it is taken; only quoted strings are refused."""
    (spec,) = load(tmp_path, "suspended: yes\n").stacks
    assert spec.suspended is True


def test_the_last_key_of_several_bad_ones_keeps_its_own_line(tmp_path):
    extra = "approval: maybe\nsuspended: 'no'\nchange-window: {cron: x, duration: 1h}\n"
    findings = findings_for(tmp_path, extra)
    assert [(f.rule, f.line, f.message.split(":")[0].split(".")[0]) for f in findings] == [
        ("DS003", 8, "approval"),
        ("DS003", 9, "suspended"),
        ("DS003", 10, "change-window"),
    ]


def test_the_example_in_the_docs_loads_without_findings(tmp_path):
    """The Change control example of docs/desired-state.md is valid as written."""
    docs = (Path(__file__).parents[2] / "docs" / "desired-state.md").read_text()
    section = docs.split("## Change control", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    state = load(tmp_path, example)
    assert validate(state).findings == ()
    (spec,) = state.stacks
    assert spec.approval and len(spec.change_windows) == 2
