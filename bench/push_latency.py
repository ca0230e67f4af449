"""Push-to-outputs latency through the local event path, and where the time goes.

A "Git Push" event is put on the local AWS's default bus; `harness.router.EventRouter`
delivers it to the real push handler, and the stack status events that follow to the real
stack status handler, which publishes the stack's outputs to SSM. Timed from the PutEvents
to the end of the handler invocation after which the outputs are readable at their new
value (checked after each invocation; the check's own time is left out), for a first
deploy, an update (a parameter change, committed and pushed) and the same push again (a
no-op: until the push handler returns every stack unchanged); with 1 stack in the
repository, then 10 (the update changes one).

Each round starts from an empty local AWS and a warm reconciler (tables made and clients
built by a push of an empty desired state), as in a warm Lambda container; one untimed
round first warms the process. moto completes a stack operation inside the API call, so
this measures the reconciler's own path (bus, router, handlers, SSM), not CloudFormation's
deploy time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.import_time import machine
from bench.in_process import handlers_environment
from tests.repo import STACK, commit, git
from tests.repo import TEMPLATE as REPO_TEMPLATE

ROUNDS = 5
STACK_COUNTS = (1, 10)
SCENARIOS = ("first deploy", "update", "no-op")
PREFIX = "app-"  # the router follows the stack events of app-*
# tests/repo.py's template and an output following its Greeting parameter, so that an
# update is seen in SSM as a new value.
TEMPLATE = REPO_TEMPLATE + "  Greeting:\n    Value: !Ref Greeting\n"
HANDLER_ENV = {
    "DESIRED_STATE_BRANCH": "main",
    "POWERTOOLS_LOG_LEVEL": "WARNING",  # read when the handlers are imported
    "POWERTOOLS_METRICS_DISABLED": "true",
}

# Whether the push's work is visible after a handler invocation: (handler, its result).
Wanted = Callable[[str, Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Call:
    """One handler invocation as the router made it."""

    handler: str
    started: float
    ended: float
    check_s: float  # the readiness check after it (not the handler's time)
    ready: bool  # the push's work was visible right after it


@dataclass(frozen=True)
class Sample:
    """One push, in seconds: from the PutEvents to the outputs readable, split by who
    spent it."""

    total: float
    push: float  # the push handler's time before the outputs were ready
    stack_status: float  # the stack status handler's, likewise
    router: float  # the rest: PutEvents, the bus, queues, the router's polling
    idle: float  # from the PutEvents until the router had nothing left to deliver
    deliveries: int  # handler invocations until the outputs were ready


@dataclass
class TimedHandlers:
    """The real handlers, each wrapped to record its invocations and, after each, whether
    the push's work is visible yet (`wanted`, set per push)."""

    wanted: Wanted = lambda handler, result: False
    calls: list[Call] = field(default_factory=list)

    def functions(self) -> dict[str, Callable[[dict[str, Any], Any], Any]]:
        from harness.router import real_handlers

        return {name: self._timed(name, fn) for name, fn in real_handlers().items()}

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            started = time.perf_counter()
            result = function(event, context)
            ended = time.perf_counter()
            ready = self.wanted(name, result if isinstance(result, Mapping) else {})
            self.calls.append(Call(name, started, ended, time.perf_counter() - ended, ready))
            return result

        return handler


class Round:
    """One round's world: an empty local AWS, a router with timed handlers, a fresh
    desired-state repository, and a reconciler warmed by a push of no stacks."""

    def __init__(self, aws: Any, workdir: Path) -> None:
        import boto3

        from handlers import idempotency, runtime
        from harness.router import EventRouter

        aws.reset()
        self.repo = workdir / "desired"
        self.repo.mkdir()
        git(self.repo, "init", "-q", "--initial-branch=main")
        os.environ["DESIRED_STATE_REPOSITORY"] = str(self.repo)
        runtime.services.cache_clear()  # their tables went with the reset
        runtime.source.cache_clear()
        idempotency.reset()
        self.timed = TimedHandlers()
        self.router = EventRouter(
            aws.endpoint_url, stack_prefix=PREFIX, handlers=self.timed.functions()
        )
        self.events = boto3.client("events")
        self.ssm = boto3.client("ssm")
        self.commit(
            {"desired-state/README.md": "stack files go here\n", "templates/app.yml": TEMPLATE}
        )
        self.push(lambda handler, result: handler == "push")

    def commit(self, files: Mapping[str, str]) -> None:
        commit(self.repo, dict(files))

    def push(self, wanted: Wanted) -> Sample:
        """Put a Git Push of the head on the bus and run the router until it is idle."""
        detail = {"repository": str(self.repo), "ref": "refs/heads/main"}
        detail["after"] = git(self.repo, "rev-parse", "HEAD")
        entry = {"Source": "gitops.git", "DetailType": "Git Push", "Detail": json.dumps(detail)}
        self.timed.wanted, self.timed.calls = wanted, []
        started = time.perf_counter()
        self.events.put_events(Entries=[entry])
        self.router.run_until_idle()
        idle = time.perf_counter() - started
        calls = self.timed.calls
        ready = next((i for i, call in enumerate(calls) if call.ready), None)
        if ready is None:
            lines = "; ".join(d.line() for d in self.router.deliveries[-len(calls) :])
            raise RuntimeError(f"the push's work never became visible: {lines}")
        before = calls[: ready + 1]
        total = before[-1].ended - started
        spent = {"push": 0.0, "stack_status": 0.0}
        for call in before:
            spent[call.handler] = spent.get(call.handler, 0.0) + call.ended - call.started
        checks = sum(call.check_s for call in before[:-1])  # the last came after the end
        router = total - sum(spent.values()) - checks
        return Sample(total, spent["push"], spent["stack_status"], router, idle, len(before))

    def outputs_are(self, values: Mapping[str, str]) -> Wanted:
        """Ready when every parameter named is readable at its value."""

        def wanted(handler: str, result: Mapping[str, Any]) -> bool:
            found = self.ssm.get_parameters(Names=list(values))["Parameters"]
            return {p["Name"]: p["Value"] for p in found} == dict(values)

        return wanted


def unchanged(handler: str, result: Mapping[str, Any]) -> bool:
    """A no-op push is done when the push handler reports every stack unchanged."""
    stacks = result.get("stacks", [])
    return handler == "push" and bool(stacks) and all(s["outcome"] == "unchanged" for s in stacks)


def suffixes(count: int) -> list[str]:
    """app-dev, then app-s01, app-s02, ..."""
    return ["dev", *(f"s{i:02d}" for i in range(1, count))]


def stack_files(count: int, greeting: str = "") -> dict[str, str]:
    """The stack files of `count` stacks of the template; app-dev's Greeting when given."""
    files = {}
    for suffix in suffixes(count):
        parameters = f"  EnvironmentSuffix: {suffix}\n"
        if suffix == "dev" and greeting:
            parameters += f"  Greeting: {greeting}\n"
        text = STACK.replace("  EnvironmentSuffix: dev\n", parameters)
        files[f"desired-state/app-{suffix}.yml"] = text.replace("app-dev", f"app-{suffix}")
    return files


def one_round(aws: Any, count: int, number: int) -> dict[str, Sample]:
    """A first deploy of `count` stacks, an update of app-dev, the same push again."""
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        world = Round(aws, Path(tmp))
        world.commit(stack_files(count))
        greetings = {f"/app-{suffix}/Greeting": "hello" for suffix in suffixes(count)}
        deploy = world.push(world.outputs_are(greetings))
        greeting = f"round-{number}"
        world.commit(stack_files(count, greeting))
        update = world.push(world.outputs_are({"/app-dev/Greeting": greeting}))
        noop = world.push(unchanged)
    return dict(zip(SCENARIOS, (deploy, update, noop), strict=True))


def measure(rounds: int = ROUNDS) -> dict[int, dict[str, list[Sample]]]:
    """Samples by stack count and scenario. The handlers' environment is set for the run
    and put back after it; the handlers' log lines on stdout are dropped."""
    samples: dict[int, dict[str, list[Sample]]] = {}
    with handlers_environment(HANDLER_ENV):
        from localaws.server import LocalAws

        with LocalAws() as aws, contextlib.redirect_stdout(io.StringIO()):
            os.environ.update(aws.env())
            one_round(aws, 1, -1)  # warms the process: loaded models, compiled patterns
            for count in STACK_COUNTS:
                samples[count] = {scenario: [] for scenario in SCENARIOS}
                for number in range(rounds):
                    for scenario, sample in one_round(aws, count, number).items():
                        samples[count][scenario].append(sample)
    return samples


def _ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def report(samples: dict[int, dict[str, list[Sample]]], rounds: int) -> None:
    print(f"push-to-outputs latency on the local event path, {rounds} rounds ({machine()})")
    print(
        "moto completes stack operations inside the API call: this measures the reconciler's\n"
        "own path (bus, router, push handler, stack status handler, SSM), not CloudFormation."
    )
    print(
        f"{'stacks':>6} {'push':<12} {'median ms':>9} {'min':>6} {'max':>6} {'x 1 stk':>7}"
        f" | {'push h.':>7} {'status h.':>9} {'router':>6} | {'idle ms':>7} {'deliv.':>6}"
    )
    base = {scenario: _ms([s.total for s in runs]) for scenario, runs in samples[1].items()}
    for count, by_scenario in samples.items():
        for scenario, runs in by_scenario.items():
            totals = [s.total * 1000 for s in runs]
            median = statistics.median(totals)
            parts = [_ms([s.push for s in runs]), _ms([s.stack_status for s in runs])]
            parts.append(_ms([s.router for s in runs]))
            print(
                f"{count:>6} {scenario:<12} {median:>9.0f} {min(totals):>6.0f} {max(totals):>6.0f}"
                f" {median / base[scenario]:>7.2f} | {parts[0]:>7.0f} {parts[1]:>9.0f}"
                f" {parts[2]:>6.0f} | {_ms([s.idle for s in runs]):>7.0f}"
                f" {statistics.median(s.deliveries for s in runs):>6.0f}"
            )
    print(
        "median/min/max: PutEvents to the outputs readable in SSM (no-op: to the push handler's\n"
        "'unchanged'); x 1 stk: the median against the same push with 1 stack. Then medians:\n"
        "the push handler's time, the stack status handlers', the router and bus (the rest);\n"
        "the time until the router was idle, and the deliveries until the outputs were ready.\n"
        "The router's share includes the stand-in's polling of CloudFormation for stack events\n"
        "(one DescribeStackEvents per stack per pump), which grows with the stacks; on AWS,\n"
        "CloudFormation puts those events on the bus itself."
    )


def plot(samples: dict[int, dict[str, list[Sample]]]) -> Path:
    """Stacked bars: each push's median total, split into its parts' medians."""
    import matplotlib

    from bench.plot import DOCS

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(count, scenario) for count in samples for scenario in SCENARIOS]
    labels = [f"{scenario}\n{count} stack{'s' if count > 1 else ''}" for count, scenario in groups]
    parts: dict[str, Callable[[Sample], float]] = {
        "push handler": lambda s: s.push,
        "stack status handler": lambda s: s.stack_status,
        "router and bus": lambda s: s.router,
    }
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    bottoms = [0.0] * len(groups)
    for label, part in parts.items():
        heights = [_ms([part(s) for s in samples[c][scenario]]) for c, scenario in groups]
        axes.bar(labels, heights, bottom=bottoms, label=label)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axes.set(title="Push to outputs in SSM on the local event path (medians)", ylabel="ms")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = DOCS / "bench-push-latency.png"
    figure.savefig(path, format="png")
    plt.close(figure)
    return path


def main() -> int:
    started = time.perf_counter()
    samples = measure()
    report(samples, ROUNDS)
    print(f"wrote {plot(samples)}; ran in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
