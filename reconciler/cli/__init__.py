"""`reconciler`: validate, plan, apply, drift, status, outputs and change control.

Exit codes: 0 success, 1 findings, blocked or failed, 2 usage error. A user error is
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from reconciler import __version__, cache
from reconciler.desired import DesiredState, load_desired_state, stack_files
from reconciler.errors import InvalidDesiredStateError, ReconcilerError, UnknownStackError
from reconciler.validation import validate

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PLACE_FIELDS = ("account", "region", "role_arn")  # what `plan` reads of each status record


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _state(args: argparse.Namespace) -> DesiredState:
    root = Path(args.path)
    if not root.is_dir():
        raise ReconcilerError(f"{args.path}: not a directory")
    return load_desired_state(root)


def _catalog(args: argparse.Namespace):
    """AWS's engine versions, or cfn-lint's shipped data with --offline."""
    if getattr(args, "offline", False):
        from reconciler.validation.offline_catalog import OfflineCatalog

        return OfflineCatalog()
    from reconciler.aws.catalog import AwsCatalog

    return AwsCatalog()


def _role(args: argparse.Namespace):
    """The execution role IAM001 reads (CLOUDFORMATION_ROLE_ARN); none with --offline."""
    from reconciler.aws.iam import role_from_env

    return role_from_env(os.environ, offline=getattr(args, "offline", False))


def cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.cli import report

    state = _state(args)
    catalog = _catalog(args)
    # A stack in another account has its secrets asked there, as the pass asks them.
    home = None if args.offline else _reader(catalog)
    result = validate(
        state, catalog, role=_role(args), secrets_at=_secrets_in_account(home) if home else None
    )
    if home is not None and not result.has_errors:
        # Updates AWS would refuse are known only against the deployed stacks.
        from reconciler.plan import plan_all
        from reconciler.reconcile import fetcher, observe, with_plan_findings

        found = plan_all(state, observe(state, home), fetcher(home))
        result = with_plan_findings(result, found)
    if args.json:
        out(json.dumps(result.to_dict(), indent=2))
    else:
        out(report.validation(result, len(stack_files(state.root))))
    return EXIT_FAILED if result.has_errors else EXIT_OK


def _services(wait: int = 30):
    from reconciler.aws.services import audit_from_env, services_from_env

    services = services_from_env(change_set_wait_seconds=wait, fan_out=False)
    services.audit = audit_from_env()
    return services


def _reader(catalog=None):
    """What `plan`, `validate` and `outputs` read with: CloudFormation, SSM and the
    catalog (`catalog`: AWS's is asked in each stack's account) in the home account, and
    in other accounts through their roles; nothing that writes."""
    from reconciler.aws.accounts import Accounts
    from reconciler.aws.cloudformation import CloudFormation
    from reconciler.aws.ssm import SsmOutputs
    from reconciler.reconcile import Services

    cfn = CloudFormation(role_arn=os.environ.get("CLOUDFORMATION_ROLE_ARN", ""))
    home = Services(cfn=cfn, outputs_for=SsmOutputs, status=None, catalog=catalog)  # type: ignore[arg-type]
    home.reach = Accounts().reach(home)
    return home


def _secrets_in_account(home):
    """validate's secrets_at: a stack's secrets asked in its own account."""
    from reconciler.reconcile import _secrets_at

    return _secrets_at(home.at)


def _acting(services) -> None:
    """Who acts, for the audit trail: the caller's IAM identity (STS), and its account."""
    from reconciler.aws.identity import caller_arn

    services.actor = caller_arn()
    parts = services.actor.split(":")
    services.account = parts[4] if len(parts) > 5 else ""


def _tell(checks) -> None:
    """Warnings and suppressions go to stderr before a plan or apply: never silent."""
    for finding in checks.findings:
        err(str(finding))
    for suppressed in checks.suppressed:
        err(f"suppressed: {suppressed}")


def cmd_plan(args: argparse.Namespace) -> int:
    from reconciler.aws.dynamodb import store_from_env
    from reconciler.cli import report
    from reconciler.plan import Action
    from reconciler.reconcile import make_plan, preview

    state = _state(args)
    catalog = _catalog(args)
    cfn = _reader(catalog)
    # Stacks are looked for in the stack files' regions and where the status table
    # records stacks, so a region's last stack removed still shows it as orphaned: only
    # the fields that say where a stack lives are read.
    store = store_from_env(create_if_missing=False)

    def records():
        return store.existing(only=PLACE_FIELDS)

    checks, plans = make_plan(state, cfn, catalog, records, _role(args))
    if args.change_set:
        plans = preview(plans, state, cfn)
    _tell(checks)
    if args.json:
        out(json.dumps({"stacks": [_with_gates(p, state) for p in plans]}, indent=2))
    elif args.markdown:
        out(_markdown(plans, checks, state.root, args.link_base))
    else:
        out(report.plan(plans, _gates(plans, state)))
    return EXIT_FAILED if any(p.action is Action.BLOCKED for p in plans) else EXIT_OK


def _gates(plans, state) -> dict[str, str]:
    """Per stack that would change: what change control will do with it (one line)."""
    from reconciler.change_control import expected_text

    found = {}
    for plan in plans:
        spec = state.stack(plan.stack_name)
        if spec is not None and plan.changes_stack and (text := expected_text(spec)):
            found[plan.stack_name] = text
    return found


def _with_gates(plan, state) -> dict:
    from reconciler.change_control import expected

    spec = state.stack(plan.stack_name)
    return {**plan.to_dict(), "change_control": expected(spec) if spec else {}}


def _markdown(plans, checks, root: Path, link_base: str | None) -> str:
    """The pull-request report; file links at the working copy's commit with --link-base."""
    from reconciler.report_markdown import Links, markdown_report
    from reconciler.source import local_revision

    revision = local_revision(root)
    sha = revision.split("+", 1)[0]
    if link_base and not sha:
        err(f"{root}: not a git working copy; the report has no file links")
    links = Links(link_base, sha) if link_base and sha else None
    return markdown_report(plans, checks, revision=revision, links=links).rstrip("\n")


def cmd_apply(args: argparse.Namespace) -> int:
    from reconciler.cli import report
    from reconciler.cli.follow import REVIEW, follow, operation_start
    from reconciler.reconcile import About, apply, finish
    from reconciler.source import GitSource, local_revision

    state = _state(args)
    if args.stack and not state.stack(args.stack):
        raise UnknownStackError(f"no stack file declares stack {args.stack!r}")
    services = _services(wait=600)
    services.catalog = _catalog(args)
    services.role = _role(args)
    err(f"status: {services.status.description}")
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    _acting(services)
    revision = local_revision(state.root) or "local"
    started = operation_start()

    def one_pass():
        return apply(
            state,
            revision,
            services,
            owner,
            only={args.stack} if args.stack else None,
            about=About(GitSource(str(state.root))),
        )

    result = one_pass()
    # A stack refactor CloudFormation is still validating or executing: the CLI may wait
    # (a Lambda never does: the next event picks it up).
    until = time.monotonic() + 600
    while args.wait and _refactoring(result) and time.monotonic() < until:
        err("a stack refactor is in progress; applying again in 5 seconds")
        time.sleep(5)
        result = one_pass()
    _tell(result.report)
    out(report.results(result.stacks))
    failed = not result.ok
    for item in result.stacks:
        if item.outcome not in ("executed", "tags-updated"):
            continue
        if args.wait:
            out(f"{item.stack_name}: following stack events")
            cfn = services.at(state.stack(item.stack_name), result.revision).cfn
            followed = follow(cfn, item.stack_name, item.region, out, since=started)
            if followed is not None and followed.status == REVIEW:
                failed = True  # follow said why; nothing to finish
                continue
        status = finish(item.stack_name, item.region, services)
        if status is None:
            continue
        if status.phase.value == "applying":
            out(
                f"{item.stack_name}: in progress; outputs are published when it completes "
                "(use --wait, or let the deployed reconciler's stack status handler do it)"
            )
        else:
            out(f"{item.stack_name}: {status.sync.value}, {status.health.value}: {status.message}")
            failed = failed or status.sync.value == "Failed"
    return EXIT_FAILED if failed else EXIT_OK


def _refactoring(result) -> bool:
    return any(s.action.value == "refactor" and s.outcome == "waiting" for s in result.stacks)


def cmd_status(args: argparse.Namespace) -> int:
    from reconciler.cli import report
    from reconciler.status import Health, StackStatus

    state = _state(args)
    services = _services()
    records = {s.stack_name: s for s in services.status.all()}
    for spec in state.stacks:
        records.setdefault(
            spec.stack_name,
            StackStatus(
                spec.stack_name,
                region=spec.region,
                account=spec.account,
                role_arn=spec.role_arn,
                health=Health.MISSING,
                message="never applied",
            ),
        )
    items = sorted(records.values(), key=lambda s: s.stack_name)
    if args.json:
        out(
            json.dumps(
                {
                    "table": services.status.description,
                    "stacks": [{k: str(v) for k, v in s.__dict__.items()} for s in items],
                },
                indent=2,
            )
        )
    else:
        err(f"status: {services.status.description}")
        out(report.status(items))
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    from reconciler.cli import report
    from reconciler.cli.follow import follow, operation_start, wait_for_detection
    from reconciler.drift_actions import pci_violations, read_drift, repair
    from reconciler.source import local_revision

    state = _state(args)
    if args.stack and not state.stack(args.stack):
        raise UnknownStackError(f"no stack file declares stack {args.stack!r}")
    specs = [s for s in state.stacks if not args.stack or s.stack_name == args.stack]
    services = _services()
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    if args.repair:
        _acting(services)
    results, remaining = [], False
    revision = local_revision(state.root)  # in the session name of an assumed role
    for spec in specs:
        there = services.at(spec, revision)  # every call in the stack's own account
        cfn = there.cfn
        if cfn.describe_stack(spec.stack_name, spec.region) is None:
            err(f"{spec.stack_name}: not deployed; nothing to check")
            continue
        wait_for_detection(cfn, spec.stack_name, spec.region)
        found = read_drift(spec, there)
        if args.repair and not found.in_sync:
            started = operation_start()
            outcome = repair(spec, found, there, owner)
            err(f"{spec.stack_name}: {outcome.message}")
            follow(cfn, spec.stack_name, spec.region, err, since=started)
            wait_for_detection(cfn, spec.stack_name, spec.region)
            found = read_drift(spec, there)
        violations = pci_violations(spec, there)
        remaining = remaining or not found.in_sync or any(v.severity == "error" for v in violations)
        results.append((found, violations))
    if args.json:
        out(json.dumps({"stacks": [report.drift_dict(r, v) for r, v in results]}, indent=2))
    else:
        out(report.drift([r for r, _ in results]))
        for _, violations in results:
            for violation in violations:
                out(f"PCI: {violation}")
    return EXIT_FAILED if remaining else EXIT_OK


def cmd_outputs(args: argparse.Namespace) -> int:
    from reconciler.outputs import parameter_name

    state = _state(args)
    spec = state.stack(args.stack)
    if spec is None:
        raise UnknownStackError(f"no stack file declares stack {args.stack!r}")
    home = _reader()

    def read(s) -> dict[str, str]:
        # In the stack's own account, where its outputs are published.
        found = home.at(s).outputs_for(s.region).read(s.outputs_path, s.stack_name)
        prefix = parameter_name(s.outputs_path, "")
        return {name.removeprefix(prefix): value for name, value in sorted(found.items())}

    mine = read(spec)
    for key, value in mine.items():
        out(f"{parameter_name(spec.outputs_path, key)} = {value}")
    if not mine:
        err(f"no outputs published under {spec.outputs_path} yet")
    if args.flat:
        flat = dict(mine)
        for other in state.stacks:
            if other is not spec:
                flat.update({f"{other.stack_name}.{k}": v for k, v in read(other).items()})
        path = Path(args.flat)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n")
        err(f"wrote {len(flat)} output(s) to {path}")
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from reconciler import change_rules_block
    from reconciler.cli import report
    from reconciler.iam_policy import bootstrap_policy, execution_policy, splice

    state = _state(args)
    if args.bootstrap:
        path = Path(args.bootstrap)
        try:
            text = path.read_text()
        except OSError as error:
            raise ReconcilerError(f"{path}: {error.strerror or error}") from None
        policy = bootstrap_policy(state)
        rules = change_rules_block.bootstrap_rules(state)
        path.write_text(change_rules_block.splice(splice(text, policy), rules))
        err(f"wrote the execution role's policy and the change rules to {path}")
        out(report.iam_policy_summary(policy))
        out(change_rules_block.summary(rules))
        return EXIT_OK
    policy = execution_policy(state, stack_prefix=args.prefix)
    if args.json:
        out(json.dumps(policy.to_dict(), indent=2))
    else:
        out(policy.to_text())
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reconciler", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
        c.set_defaults(func=func)
        return c

    offline = (
        "check engine versions against cfn-lint's shipped data instead of asking AWS, "
        "and skip IAM001 (the execution role's permissions)"
    )
    no_cache = (
        "parse and lint every file afresh, neither reading nor writing the validation "
        "cache (docs/validation-cache.md)"
    )
    c = command("validate", cmd_validate, "check stack files and templates; writes nothing")
    c.add_argument("--json", action="store_true", help="findings as JSON")
    c.add_argument("--offline", action="store_true", help=offline)
    c.add_argument("--no-cache", action="store_true", help=no_cache)
    c = command("plan", cmd_plan, "show what apply would do, per stack and resource")
    shape = c.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the plan as JSON (docs/plan-json.md)")
    shape.add_argument(
        "--markdown",
        action="store_true",
        help="the plan as a pull-request report (docs/previews.md)",
    )
    c.add_argument(
        "--link-base",
        metavar="URL",
        help="repository URL for file:line links in --markdown, e.g. https://github.com/o/r",
    )
    c.add_argument("--offline", action="store_true", help=offline)
    c.add_argument("--no-cache", action="store_true", help=no_cache)
    c.add_argument(
        "--change-set",
        action="store_true",
        help="confirm each update with a preview change set (created, described, deleted)",
    )
    c = command("apply", cmd_apply, "create, guard and execute change sets in depends-on order")
    c.add_argument("--offline", action="store_true", help=offline)
    c.add_argument("--no-cache", action="store_true", help=no_cache)
    c.add_argument("--stack", help="only this stack")
    c.add_argument("--wait", action="store_true", help="follow each stack to a stable status")
    c = command("drift", cmd_drift, "detect drift, show it (secrets masked), repair with --repair")
    c.add_argument("--stack", help="only this stack")
    c.add_argument("--repair", action="store_true", help="revert drift through a change set")
    c.add_argument("--json", action="store_true", help="drift as JSON")
    c = command("status", cmd_status, "sync, health and applied revision per stack")
    c.add_argument("--json", action="store_true", help="status as JSON")
    c = command(
        "iam-policy",
        cmd_iam_policy,
        "the CloudFormation execution role's policy for the templates the stack files use",
    )
    c.add_argument("--json", action="store_true", help="the policy document and its reasons")
    c.add_argument(
        "--prefix",
        default="pci-db-",
        help="managed stacks' name prefix, as bootstrap's --prefix (default: pci-db-)",
    )
    c.add_argument(
        "--bootstrap",
        metavar="FILE",
        help="rewrite the generated blocks of this bootstrap template (infra/bootstrap.yml): "
        "the execution role's policy and the change rules",
    )
    c = sub.add_parser("outputs", help="print a stack's outputs as published in SSM")
    c.add_argument("stack", help="stack name")
    c.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
    c.add_argument("--flat", metavar="FILE", help="also write all stacks' outputs as flat JSON")
    c.set_defaults(func=cmd_outputs)
    from reconciler.cli import bootstrap, control, history

    control.register(sub)
    history.register(sub)
    bootstrap.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # exits 2 on usage errors
    try:
        from reconciler.aws.session import aws_errors

        with aws_errors(), cache.bypassed() if getattr(args, "no_cache", False) else nullcontext():
            return args.func(args)
    except InvalidDesiredStateError as e:
        for finding in e.findings:
            err(str(finding))
        err(f"error: {e}")
        return EXIT_FAILED
    except ReconcilerError as e:
        err(f"error: {e}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("interrupted")
        return 130
