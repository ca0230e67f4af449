"""Fan-out against one sequential pass: one commit changes N stacks, on the local AWS with
change sets that take L seconds to compute (docs/scale.md).

The local AWS runs in a process of its own (`python -m localaws serve`) with
LOCALAWS_CHANGE_SET_SECONDS = L: every change set stays CREATE_PENDING, then
CREATE_IN_PROGRESS, for L seconds after CreateChangeSet (`localaws.change_set_latency`).
For each N, N stacks of one SSM parameter each are created (fanned out, the quicker way),
then two commits each change every stack's parameter:

- sequential: one pass in one process applies every stack, as the CLI does (services
  without a work queue; `reconciler.triggers.reconcile_head`);
- fanned out: the push's pass puts one work item per stack on the region's SQS FIFO work
  queue (`services.queue`), and `harness.work_queues.WorkQueuePump`, standing in for
  Lambda's event source mapping with MaximumConcurrency = cap, hands them to the real
  stack worker (`handlers.stack_worker.handler`), each invocation in one of `cap` worker
  processes (`Containers`), as Lambda runs each in an environment of its own.

Each is timed from the start of the push's pass until the N-th ExecuteChangeSet returned
(moto completes the stack operation inside that call); the reconciler's AWS calls are
counted (the pump's own SQS polling is not). The target is ceil(N / cap) change-set
times. After each commit every stack is checked and its stack status event handled
(`reconcile.finish`, untimed), as CloudFormation's events would.

The reconciler waits for a change set with botocore's waiter, which describes it at once
and then every 2 s: a change set of L seconds costs ceil(L / 2) * 2 s plus the calls, so L
is best a multiple of 2. The server, the workers and the pass share this machine's cores;
on AWS each worker has CPU of its own, so here fan-out is bounded by CPU time / cores
too (the report prints both).

`python -m bench.fanout [--sizes 1,10,100,500] [--latency 2] [--cap 10]`; writes
docs/bench-fanout.png whatever the sizes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.in_process import handlers_environment
from bench.noop_reconcile import REGION, machine, point_at, stack_name, write_repo, write_stack_file
from bench.sizes import stack_sizes

if TYPE_CHECKING:
    from reconciler.reconcile import Services

SIZES = (1, 10, 100, 500)
LATENCY_S = 2.0  # a multiple of the waiter's 2 s (see above)
CAP = 10  # the spec's RegionConcurrency default
WAIT_S = 30  # change_set_wait_seconds, as services_from_env gives the Lambdas
PREFIX = "bench-work"  # WORK_QUEUE_PREFIX
WORKER = "gitops-reconciler-stack-worker"
HANDLER_ENV = {
    "DESIRED_STATE_BRANCH": "main",
    "POWERTOOLS_LOG_LEVEL": "ERROR",  # read when the handlers are imported
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
MODES = ("sequential", "fanned out")


class Server:
    """The local AWS in a process of its own (`python -m localaws serve`), so that moto's
    work does not share this process's interpreter lock with the workers; its change sets
    take `latency` seconds to compute. Duck-types the LocalAws the helpers take."""

    def __init__(self, latency: float) -> None:
        env = dict(os.environ, LOCALAWS_CHANGE_SET_SECONDS=str(latency))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localaws", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # moto's tracebacks of its own races (see docs)
            text=True,
        )
        assert self.process.stdout is not None
        self.endpoint_url = self.process.stdout.readline().strip()
        if not self.endpoint_url.startswith("http://"):
            self.stop()
            raise RuntimeError("python -m localaws serve did not start")

    def env(self, region: str | None = None) -> dict[str, str]:
        from localaws.server import env

        return env(self.endpoint_url, region)

    def reset(self) -> None:
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def peak_mb(self) -> int:
        """The server's peak resident memory (Linux /proc; 0 elsewhere)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        return int(status.split("VmHWM:")[1].split()[0]) // 1024 if "VmHWM:" in status else 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def process_cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, with its finished children's (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """This process's CPU time, with its finished children's (git)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass(frozen=True)
class Run:
    """One commit changing every stack, in one mode."""

    seconds: float  # push to the N-th ExecuteChangeSet returned
    first: float  # push to the first ExecuteChangeSet returned
    push: float  # the push's pass (fanned out: until every item was queued)
    calls: Counter[str]  # the reconciler's AWS calls, by operation
    cpu: float  # CPU seconds of this process (push pass, workers, git)
    server_cpu: float  # CPU seconds of the local AWS server
    retries: int = 0  # work items handed out again (fanned out)
    most_workers: int = 0  # most stack workers running at once (fanned out)


@dataclass(frozen=True)
class Row:
    stacks: int
    sequential: Run
    fanned: Run

    def target(self, cap: int, latency: float) -> float:
        return math.ceil(self.stacks / cap) * latency


@dataclass
class Calls:
    """Every AWS call the reconciler's clients make (the session's before-call event), and
    when each ExecuteChangeSet returned (after-call, on the cached CloudFormation client)."""

    counted: Counter[str] = field(default_factory=Counter)
    executed: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self) -> None:
        from reconciler.aws import session

        session.on_every_call(self._count)
        cfn = session.client("cloudformation", REGION)
        cfn.meta.events.register("after-call.cloudformation.ExecuteChangeSet", self._executed)

    def reset(self) -> None:
        with self.lock:
            self.counted.clear()
            self.executed.clear()

    def merge(self, counted: dict[str, int], executed: list[float]) -> None:
        with self.lock:
            self.counted.update(counted)
            self.executed.extend(executed)

    def _count(self, model: Any, **_: Any) -> None:
        with self.lock:
            self.counted[model.name] += 1

    def _executed(self, http_response: Any, **_: Any) -> None:
        if http_response.status_code < 300:
            with self.lock:
                self.executed.append(time.monotonic())


class Containers:
    """The stack worker as Lambda runs it: each invocation at once in an execution
    environment of its own, here `cap` processes (warm after their first item), so that
    workers do not share one interpreter lock. Called by the pump's threads; the AWS calls
    each invocation made come back with its answer."""

    def __init__(self, cap: int, calls: Calls) -> None:
        self.calls = calls
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=cap,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_container_start,
            initargs=(dict(os.environ),),
        )

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        result, counted, executed = self.pool.submit(_container_invoke, event, context).result()
        self.calls.merge(counted, executed)
        return result

    def cpu_seconds(self) -> float:
        processes = getattr(self.pool, "_processes", None) or {}
        return sum(process_cpu_seconds(pid) for pid in list(processes))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_CONTAINER_CALLS = Calls()


def _container_start(env: dict[str, str]) -> None:
    """A container's cold start: its environment, the handler imported, calls counted."""
    os.environ.clear()
    os.environ.update(env)
    sys.stdout = sys.stderr  # before the handler's logger binds it: the report stays clean
    import handlers.stack_worker  # noqa: F401

    _CONTAINER_CALLS.attach()


def _container_invoke(event: dict[str, Any], context: Any) -> tuple[Any, dict, list]:
    from handlers import stack_worker

    _CONTAINER_CALLS.reset()
    result = stack_worker.handler(event, context)
    with _CONTAINER_CALLS.lock:
        return result, dict(_CONTAINER_CALLS.counted), list(_CONTAINER_CALLS.executed)


class World:
    """One size's stacks on an emptied local AWS: a desired-state repository of N stacks
    (git, as the workers clone it), the reconciler's services with and without the work
    queue, and the work queue with its pump."""

    def __init__(self, aws: Server, n: int, root: Path, cap: int) -> None:
        import boto3

        from handlers import idempotency, runtime
        from reconciler.aws.services import services_from_env
        from reconciler.source import GitSource
        from tests.repo import git

        aws.reset()
        point_at(aws)  # fresh clients: cached ones would keep the last size's tables
        os.environ["DESIRED_STATE_REPOSITORY"] = str(root)
        os.environ["WORK_QUEUE_PREFIX"] = PREFIX
        runtime.services.cache_clear()
        runtime.source.cache_clear()
        idempotency.reset()
        self.aws, self.n, self.root, self.git = aws, n, root, git
        self.cpu = (0.0, 0.0)
        write_repo(root, n)
        git(root, "init", "-q", "--initial-branch=main")
        self._commit("stacks")
        self.calls = Calls()
        self.calls.attach()
        self.containers = Containers(cap, self.calls)
        self.source = GitSource(str(root), "main")
        self.sequential: Services = services_from_env(change_set_wait_seconds=WAIT_S, fan_out=False)
        self.fanned: Services = services_from_env(change_set_wait_seconds=WAIT_S)
        sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, region_name=REGION)
        self.pump = self._pump(sqs, cap)

    def _commit(self, message: str) -> None:
        self.git(self.root, "add", "-A")
        self.git(self.root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", message)

    def _pump(self, sqs: Any, cap: int) -> Any:
        from harness.work_queues import SqsMapping, WorkQueuePump

        queue = f"{PREFIX}-{REGION}.fifo"
        url = sqs.create_queue(
            QueueName=queue,
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "VisibilityTimeout": "1440",  # as infra/bootstrap.yml's WorkQueue
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        mapping = SqsMapping(
            queue_url=url,
            queue_arn=arn["Attributes"]["QueueArn"],
            function=self.containers,
            function_name=WORKER,
            max_concurrency=cap,
        )
        return WorkQueuePump(lambda region: sqs, [mapping])

    def deploy(self) -> None:
        """Create the N stacks (fanned out: the quicker way), and record them in sync."""
        self._fan_out()
        self._check("v")

    def change_every_stack(self, value: str) -> None:
        for i in range(self.n):
            write_stack_file(self.root, i, value)
        self._commit(f"every stack's Value = {value}")

    def run_sequential(self) -> Run:
        from reconciler.triggers import reconcile_head

        self.change_every_stack("seq")
        started = self._start()
        outcome = reconcile_head(self.source, self.sequential, "bench-sequential")
        pushed = time.monotonic() - started
        _expect(outcome.stacks, "executed", self.n, "the sequential pass")
        return self._ran(started, pushed, "seq")

    def run_fanned(self) -> Run:
        self.change_every_stack("fan")
        started = self._start()
        pushed, retries, workers = self._fan_out()
        return self._ran(started, pushed, "fan", retries, workers)

    def _start(self) -> float:
        self.calls.reset()
        self.cpu = (cpu_seconds() + self.containers.cpu_seconds(), self.aws.cpu_seconds())
        return time.monotonic()

    def _fan_out(self) -> tuple[float, int, int]:
        """The push's pass puts the work items; the pump runs the stack workers until the
        queue is empty. (seconds of the push's pass, items handed out again, most workers
        at once)."""
        from reconciler.triggers import reconcile_head

        for name in self.pump.max_in_flight:
            self.pump.max_in_flight[name] = 0
        started = time.monotonic()
        outcome = reconcile_head(self.source, self.fanned, "bench-push")
        pushed = time.monotonic() - started
        _expect(outcome.stacks, "queued", self.n, "the push pass")
        retries = 0
        while True:
            ended, _ = self.pump.step()
            retries += sum(1 for invocation in ended if invocation.status != "done")
            idle = self.pump.in_flight == 0 and not self.pump.has_ended()
            if idle and not self.pump.waiting():
                break
            self.pump.wait(0.05)
        self.pump.rest()
        return pushed, retries, max(self.pump.max_in_flight.values())

    def _ran(
        self, started: float, pushed: float, value: str, retries: int = 0, workers: int = 0
    ) -> Run:
        with self.calls.lock:
            executed, calls = list(self.calls.executed), Counter(self.calls.counted)
        mine = cpu_seconds() + self.containers.cpu_seconds()
        cpu = (mine - self.cpu[0], self.aws.cpu_seconds() - self.cpu[1])
        if len(executed) != self.n:
            raise RuntimeError(f"{len(executed)} change sets executed, not {self.n}")
        self._check(value)
        ended, first = max(executed) - started, min(executed) - started
        return Run(ended, first, pushed, calls, cpu[0], cpu[1], retries, workers)

    def _check(self, value: str) -> None:
        """Every stack has the parameter value; then each stack's stack status event, as
        CloudFormation would send it (untimed)."""
        from reconciler.reconcile import finish

        for i in range(self.n):
            live = self.sequential.cfn.describe_stack(stack_name(i), REGION)
            if live is None or live.parameters.get("Value") != value:
                raise RuntimeError(f"{stack_name(i)} does not have Value = {value}")
            finish(stack_name(i), REGION, self.sequential)

    def close(self) -> None:
        self.pump.close()
        self.containers.close()


def _expect(stacks: Sequence[dict[str, str]], outcome: str, n: int, what: str) -> None:
    found = Counter(s.get("outcome", "") for s in stacks)
    if found != Counter({outcome: n}):
        details = "; ".join(
            f"{s['stack_name']}: {s.get('message', '')}"
            for s in stacks
            if s.get("outcome") != outcome
        )
        raise RuntimeError(f"{what}: {dict(found)}, expected {n} {outcome} ({details[:500]})")


def measure(aws: Server, sizes: Sequence[int], cap: int, log: Any = sys.stderr) -> list[Row]:
    """One row per size, each on freshly deployed stacks. The environment and clients are
    put back as they were afterwards."""
    rows = []
    with (
        handlers_environment(HANDLER_ENV),  # before the handlers are imported
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp,
    ):
        warm = World(aws, 1, Path(tmp) / "warm", cap)  # one-time costs (waiter models, ...)
        try:
            warm.deploy()
            warm.run_sequential()
            warm.run_fanned()
        finally:
            warm.close()
        for n in sizes:
            world = World(aws, n, Path(tmp) / f"n{n}", cap)
            try:
                world.deploy()
                sequential = world.run_sequential()
                print(f"  N={n}: sequential {sequential.seconds:.1f} s", file=log, flush=True)
                fanned = world.run_fanned()
                print(f"  N={n}: fanned out {fanned.seconds:.1f} s", file=log, flush=True)
            finally:
                world.close()
            rows.append(Row(n, sequential, fanned))
    return rows


# --- report ---------------------------------------------------------------------------


def report(rows: Sequence[Row], latency: float, cap: int) -> list[str]:
    lines = [
        f"one commit changes N stacks; change sets take L = {latency:g} s to compute; "
        f"cap = {cap} stack workers ({machine()})",
        f"{'stacks':>6} {'sequential s':>12} {'fanned out s':>12} {'fan/seq':>7} {'speed-up':>8}"
        f" {'target s':>8} {'fan/target':>10} | {'push s':>6} {'1st exec s':>10}"
        f" {'workers':>7} {'retries':>7} | {'CPU s seq':>9} {'CPU s fan':>9} {'floor s':>7}"
        f" | {'calls seq':>9} {'calls fan':>9}",
    ]
    cores = os.cpu_count() or 1
    for r in rows:
        seq, fan = r.sequential, r.fanned
        target = r.target(cap, latency)
        fan_cpu = fan.cpu + fan.server_cpu
        lines.append(
            f"{r.stacks:>6} {seq.seconds:>12.1f} {fan.seconds:>12.1f}"
            f" {fan.seconds / seq.seconds:>7.2f} {seq.seconds / fan.seconds:>7.1f}x"
            f" {target:>8.0f} {fan.seconds / target:>10.2f} | {fan.push:>6.1f} {fan.first:>10.1f}"
            f" {fan.most_workers:>7} {fan.retries:>7} | {seq.cpu + seq.server_cpu:>9.1f}"
            f" {fan_cpu:>9.1f} {fan_cpu / cores:>7.1f} | {sum(seq.calls.values()):>9}"
            f" {sum(fan.calls.values()):>9}"
        )
    lines += [
        "seconds: from the start of the push's pass to the N-th ExecuteChangeSet returned;",
        "fan/seq: fanned out against the sequential pass of the same run; target:",
        "ceil(N / cap) * L. Fanned out: push s, the push's pass (until every item was queued);",
        "1st exec s, to the first ExecuteChangeSet; workers, most stack workers at once;",
        "retries, work items handed out again. CPU s: the pass, the worker processes and git,",
        f"plus the local AWS server; floor s: fanned out CPU s / {cores} cores, a floor for its",
        "wall time on this machine (on AWS each worker has CPU of its own). calls: the",
        "reconciler's AWS calls (push pass and workers), not the pump's SQS polling.",
        "",
        "calls per stack changed, by operation (at the largest N):",
    ]
    big = rows[-1]
    for mode, run in zip(MODES, (big.sequential, big.fanned), strict=True):
        per = ", ".join(f"{op} {c / big.stacks:.2f}" for op, c in sorted(run.calls.items()))
        lines.append(f"  {mode}: {per}")
    return lines


def write_plot(rows: Sequence[Row], latency: float, cap: int) -> Path:
    from bench import plot

    sizes = [float(r.stacks) for r in rows]
    cores = os.cpu_count() or 1
    return plot.lines(
        "bench-fanout.png",
        f"One commit changes N stacks (change sets of {latency:g} s, cap {cap})",
        "stacks changed (N)",
        "seconds until every change set executed",
        {
            "sequential (one pass, as the CLI)": (sizes, [r.sequential.seconds for r in rows]),
            f"fanned out (SQS FIFO, {cap} stack workers)": (
                sizes,
                [r.fanned.seconds for r in rows],
            ),
            "target: ceil(N / cap) x L": (sizes, [r.target(cap, latency) for r in rows]),
            f"fanned out CPU / {cores} cores (this machine's floor)": (
                sizes,
                [(r.fanned.cpu + r.fanned.server_cpu) / cores for r in rows],
            ),
        },
        logx=True,
        logy=True,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes", type=stack_sizes, default=SIZES, help="stack counts, e.g. 1,10,100"
    )
    parser.add_argument("--latency", type=float, default=LATENCY_S, help="change-set seconds")
    parser.add_argument("--cap", type=int, default=CAP, help="stack workers at once (2..1000)")
    return parser


def main(argv: Sequence[str] = ()) -> int:
    args = _parser().parse_args(list(argv))
    if not 2 <= args.cap <= 1000 or not 0 < args.latency <= 60:
        print("python -m bench.fanout: --cap is 2..1000 and --latency 0..60 s", file=sys.stderr)
        return 2
    started = time.monotonic()
    aws = Server(args.latency)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the handlers' log lines, if any
            rows = measure(aws, args.sizes, args.cap)
        peak = aws.peak_mb()
    finally:
        aws.stop()
    print("\n".join(report(rows, args.latency, args.cap)))
    print(f"the local AWS server's peak memory: {peak} MB")
    path = write_plot(rows, args.latency, args.cap)
    print(f"wrote {path}; ran in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
