"""The local AWS server: in-process (`LocalAws`) and as `python -m localaws serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws import __main__ as cli
from localaws.server import LocalAws, env

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def _start_serve() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "localaws", "serve", "--port", str(_free_port())],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def serve_processes() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """One `python -m localaws serve` per signal under test, started together so that their
    imports of moto (~2 s each) overlap; killed if a test leaves one running."""
    processes = {name: _start_serve() for name in SIGNALS}
    yield processes
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


# --- python -m localaws serve ----------------------------------------------------------------


@pytest.mark.parametrize("signal_name", SIGNALS)
def test_serve_prints_its_endpoint_first_serves_clients_and_exits_0_on_signal(
    serve_processes: dict[str, subprocess.Popen[str]], signal_name: str
) -> None:
    """GIVEN `python -m localaws serve --port PORT` started on a free port
    WHEN its first line is used as a client's endpoint, then the process gets SIGTERM/SIGINT
    THEN line 1 is the endpoint URL, line 2 a shell `export` for it, the client is answered,
    and the process exits 0 with nothing on stderr (no per-request log lines)"""
    serve_process = serve_processes[signal_name]
    port = serve_process.args[-1]
    assert serve_process.stdout is not None
    first_line = serve_process.stdout.readline().rstrip("\n")
    second_line = serve_process.stdout.readline().rstrip("\n")

    identity = _client("sts", first_line).get_caller_identity()
    _client("s3", first_line).list_buckets()
    serve_process.send_signal(SIGNALS[signal_name])
    _, stderr = serve_process.communicate(timeout=10)

    assert first_line == f"http://127.0.0.1:{port}"
    assert second_line.startswith(f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port} ")
    assert identity["Account"] == "123456789012"
    assert serve_process.returncode == 0
    assert stderr == ""


def test_serve_reports_a_port_in_use_and_exits_1(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a port already taken by another server
    WHEN `serve --port` asks for it
    THEN it says so on stderr and exits 1 instead of waiting for ever"""
    returncode = cli.main(["serve", "--port", str(local_aws.port)])

    assert returncode == 1
    assert f"cannot listen on 127.0.0.1:{local_aws.port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["serve", "--port", "abc"], ["serve", "--port", "70000"], ["launch"], ["demo"]],
)
def test_bad_usage_exits_2_with_argparse_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a command line that is not `serve [--port N]` (`demo` included: the demo drives
    the reconciler, so it is `python -m harness demo`)
    WHEN it is parsed
    THEN it exits 2 with argparse's usage message"""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)

    assert exit_info.value.code == 2
    assert "usage: python -m localaws" in capsys.readouterr().err


# --- LocalAws in-process -----------------------------------------------------------------------


def test_start_is_fast_and_stop_leaves_no_thread_behind() -> None:
    """GIVEN no local AWS running
    WHEN one is started, used, and stopped
    THEN starting takes milliseconds and no thread outlives stop()"""
    threads_before = set(threading.enumerate())
    aws = LocalAws()

    started = time.perf_counter()
    aws.start()
    start_seconds = time.perf_counter() - started
    _client("sts", aws.endpoint_url).get_caller_identity()
    aws.stop()

    assert start_seconds < 0.5
    assert set(threading.enumerate()) - threads_before == set()


def test_context_manager_serves_on_the_given_port_and_stops() -> None:
    """GIVEN a free port
    WHEN LocalAws(port=PORT) is used as a context manager
    THEN it serves at that port inside the block and refuses connections after it"""
    port = _free_port()

    with LocalAws(port=port) as aws:
        assert aws.endpoint_url == f"http://127.0.0.1:{port}"
        _client("sts", aws.endpoint_url).get_caller_identity()

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_endpoint_url_of_a_stopped_server_is_an_error() -> None:
    """GIVEN a LocalAws that was never started
    WHEN its endpoint URL is asked for
    THEN it raises rather than inventing a port"""
    with pytest.raises(RuntimeError, match="not running"):
        _ = LocalAws().endpoint_url


def test_start_on_a_port_in_use_raises_at_once(local_aws: LocalAws) -> None:
    """GIVEN a port already taken
    WHEN a second LocalAws starts on it
    THEN start() raises OSError (moto's own server would wait for ever)"""
    with pytest.raises(OSError):
        LocalAws(port=local_aws.port).start()


def test_reset_forgets_every_resource(local_aws: LocalAws) -> None:
    """GIVEN a bucket in the local AWS
    WHEN reset() is called
    THEN the bucket is gone"""
    s3 = _client("s3", local_aws.endpoint_url)
    s3.create_bucket(Bucket="forgotten")

    local_aws.reset()

    assert s3.list_buckets()["Buckets"] == []


# --- env() ---------------------------------------------------------------------------------------


def test_env_is_all_a_default_boto3_client_needs(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the environment from env(endpoint) and nothing else about AWS
    WHEN a boto3 client is built with no arguments
    THEN it reaches the local AWS"""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in env(local_aws.endpoint_url).items():
        monkeypatch.setenv(name, value)

    identity = boto3.client("sts", config=NO_RETRIES).get_caller_identity()

    assert identity["Account"] == "123456789012"


def test_env_defaults_to_us_east_1_and_keeps_a_given_region() -> None:
    """GIVEN an endpoint URL, with and without a region
    WHEN env() builds the environment
    THEN the region is the given one, else us-east-1, in both region variables"""
    default = env("http://127.0.0.1:1")
    chosen = env("http://127.0.0.1:1", region="eu-west-1")

    assert default == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    assert (chosen["AWS_DEFAULT_REGION"], chosen["AWS_REGION"]) == ("eu-west-1", "eu-west-1")
