"""moto's threaded server on a loopback port, with localaws's extensions installed first.

Everything that talks to it (the CLI, the handlers, boto3 in tests) only needs an endpoint
URL and fake credentials: `env()` gives exactly that environment.
"""

from __future__ import annotations

import socket
import urllib.request
from types import TracebackType

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from localaws import extensions

HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
# How often the serve loop checks for shutdown; werkzeug's default (0.5 s) makes stop() slow.
_POLL_INTERVAL_S = 0.05


class _QuietRequestHandler(MotoRequestHandler):
    """Drops werkzeug's per-request access line; errors are still logged."""

    # A client that connects and goes silent must not hold stop() up for ever.
    timeout = 10

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _QuietMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer serving on a socket bound by the caller, with a quiet request
    handler and a prompt, complete shutdown.

    Mirrors moto 5.2.5's `_server_entry`, changing the handler, the poll interval and the
    socket (none of them can be passed to ThreadedMotoServer). Binding in the caller's
    thread matters: when werkzeug binds a port in use inside the server thread, it calls
    sys.exit there and moto's `start()` waits for ever.
    """

    def __init__(self, listener: socket.socket) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(ip_address=host, port=port, verbose=False)
        self._listener = listener

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address,
            self._port,
            app,
            threaded=True,
            request_handler=_QuietRequestHandler,
            fd=self._listener.fileno(),
        )
        # Non-daemon request threads are joined when the server closes: stop() returns only
        # after in-flight requests are answered, and leaves no thread behind.
        self._server.daemon_threads = False
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=_POLL_INTERVAL_S)


class LocalAws:
    """A local AWS endpoint for one process: start it, point clients at it, stop it.

    `port=0` (the default) lets the OS pick a free port, so parallel runs never collide.
    State lives in moto's in-process backends and survives until `reset()` or exit.
    """

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._server: _QuietMotoServer | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalAws is not running; call start() first")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LocalAws:
        if self._server is not None:
            raise RuntimeError(f"LocalAws is already running at {self.endpoint_url}")
        extensions.install_all()
        listener = socket.create_server((HOST, self._requested_port))  # OSError if taken
        with listener:  # werkzeug serves on its own duplicate of the descriptor
            server = _QuietMotoServer(listener)
            server.start()
        self._server = server
        self._port = server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        """Stop serving and join the server thread; a no-op when not running."""
        server, self._server = self._server, None
        self._port = None
        if server is not None:
            server.stop()

    def reset(self) -> None:
        """Forget every resource in every service (moto's `/moto-api/reset`)."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def env(self, region: str | None = None) -> dict[str, str]:
        return env(self.endpoint_url, region)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint_url if self.running else "stopped"
        return f"LocalAws({where})"


def env(endpoint_url: str, region: str | None = None) -> dict[str, str]:
    """Environment variables that point boto3 (or the AWS CLI) at a local AWS endpoint.

    Credentials are moto's conventional fakes; they also stop botocore from reaching for a
    real profile. Retries are left to the caller's client configuration.
    """
    region = region or DEFAULT_REGION
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }
