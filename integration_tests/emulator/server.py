"""HTTP plumbing for the HubSpot emulator: a ThreadingHTTPServer in a daemon thread."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .data import build_dataset
from .handlers import handle_request
from .http_types import EXTRA_REASON_PHRASES, Request, Response
from .state import EmulatorState


class _EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        super().__init__(address, _RequestHandler)
        self.state = state
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    """Parse each request into a `Request`, pass it to `handle_request`, and send the JSON."""

    server: _EmulatorHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the server quiet: no line on stderr per request."""

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
            base_url=self.server.base_url,
        )
        self._send(handle_request(self.server.state, request))

    def _read_body(self) -> bytes:
        """Read a body framed by Content-Length or by chunked transfer encoding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        if response.drop:
            self._reset_connection()
            return
        payload = response.encode_body()
        self.send_response(response.status, EXTRA_REASON_PHRASES.get(response.status))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset_connection(self) -> None:
        """Close the connection with a TCP reset, so the client gets no response at all.

        A zero linger time makes close() send RST instead of FIN. The socket server's own
        shutdown and close of the request socket then find it closed and do nothing.
        """
        self.close_connection = True
        linger_off = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_off)
        self.connection.close()


class EmulatorServer:
    """A local HubSpot emulator for partner clients, served from a daemon thread.

    `port=0` picks a free port, so read the address from `.url` after `start()`.
    `settings` (names as in `Settings`) replace the defaults that every `reset()` restores.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        count: int = 3000,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self._address = (host, port)
        self._state = EmulatorState(build_dataset(count), settings)
        self._httpd: _EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Bind the socket, serve from a daemon thread, and return self for chaining."""
        if self._httpd is not None:
            raise RuntimeError(f"Emulator already running at {self.url}")
        self._httpd = _EmulatorHTTPServer(self._address, self._state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="hubspot-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Calling it on a stopped server does nothing."""
        if self._httpd is None:
            return
        self._state.release_waits()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL such as http://127.0.0.1:54321, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("Emulator is not running; call start() first")
        return self._httpd.base_url

    @property
    def state(self) -> EmulatorState:
        """The data set, settings and log, for tests that call the handlers directly."""
        return self._state

    def requests(self) -> list[dict[str, Any]]:
        """Return a copy of the request log, oldest first."""
        return self._state.log_snapshot()

    def reset(self, **settings: Any) -> None:
        """Restore the base settings except `settings`. Clear the log, tokens and rate limits.

        `faults` and `fault_seed` set the fault plan, which faults.py describes.

        Raise TypeError or ValueError for an unknown setting or an invalid value.
        """
        self._state.reset(settings)

    def issued_access_tokens(self) -> list[str]:
        """Return the OAuth access tokens issued since the last reset, oldest first.

        Tests use them to check that no access token reaches the connector's output.
        """
        return self._state.issued_access_tokens()

    def ids(self, archived: bool = False) -> list[str]:
        """Return the ids of all archived or all non-archived partner clients, in id order."""
        return [client["id"] for client in self._state.clients_by_archived[archived]]
