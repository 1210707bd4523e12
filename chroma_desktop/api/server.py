"""The API's HTTPS server: Twisted Web on the manager's reactor thread, bound to loopback, every
request checked for the bearer token before anything else is looked at.

Layer: chroma_desktop.api (no Qt). Thread: the reactor thread (`start`/`stop` are called from
others through `ReactorThread.call_and_wait`). A request's body is read (at most MAX_BODY
bytes), parsed as JSON and handed to `Api.handle`, whose Future completes on the database
worker; its response is written back from the reactor thread. Nothing here blocks the reactor.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from twisted.internet import ssl
from twisted.web import resource, server
from twisted.web.http import Request

from agentlink.daemon.pki import load_certificate, load_private_key
from chroma_desktop.api.credentials import ServerCredentials
from chroma_desktop.api.handlers import Api, ApiRequest, ApiResponse, error_response
from chroma_desktop.api.openapi import openapi_document
from chroma_desktop.api.schema import ApiError
from chroma_desktop.manager import Manager

if TYPE_CHECKING:
    from chroma_desktop.history import History

LOOPBACK = "127.0.0.1"
MAX_BODY = 1 << 20
ACTOR_HEADER = b"x-chroma-actor"
MAX_ACTOR = 64


class _ApiRoot(resource.Resource):
    isLeaf = True

    def __init__(self, api: Api, credentials: ServerCredentials, call: Any) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted is untyped here
        self.api = api
        self.credentials = credentials
        self._call_from_thread = call

    def render(self, request: Request) -> Any:
        try:
            api_request = self._parse(request)
        except ApiError as refused:
            self._write(request, error_response(refused))
            return server.NOT_DONE_YET  # already finished: nothing more is written
        answer = self.api.handle(api_request)
        cancelled = []
        request.notifyFinish().addErrback(lambda _: cancelled.append(True))

        def reply(done: Future[ApiResponse]) -> None:
            if not cancelled:
                self._write(request, done.result())

        answer.add_done_callback(lambda done: self._call_from_thread(lambda: reply(done)))
        return server.NOT_DONE_YET

    def _parse(self, request: Request) -> ApiRequest:
        offered = request.getHeader(b"authorization") or b""
        scheme, _, token = offered.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not self.credentials.accepts(token.strip()):
            raise ApiError(
                401,
                "Send the API token: Authorization: Bearer <token> (the `chroma` command "
                "reads it from the keyring).",
            )
        path = (request.path or b"").decode("utf-8", "replace")
        if not path.startswith("/api/") and path != "/api":
            raise ApiError(404, f"There is nothing at {path}; the API is under /api/.")
        query = request.uri.decode("utf-8", "replace").partition("?")[2]
        pairs = parse_qsl(query, keep_blank_values=True)
        names = [name for name, _ in pairs]
        repeated = next((name for name in names if names.count(name) > 1), None)
        if repeated is not None:
            raise ApiError(400, f"{repeated} is given twice.", field=repeated, rule="give once")
        body: object = None
        method = request.method.decode("ascii", "replace")
        if method in ("POST", "PUT", "DELETE"):
            assert request.content is not None
            raw = request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise ApiError(413, f"The request body is over {MAX_BODY} bytes.")
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as error:
                    raise ApiError(
                        400, f"The body is not JSON: {error}.", field="body", rule="send JSON"
                    ) from None
            elif method != "DELETE":
                raise ApiError(400, "Send a JSON body.", field="body", rule="send a JSON object")
        actor = (request.getHeader(ACTOR_HEADER) or b"api").decode("utf-8", "replace")
        return ApiRequest(
            method,
            path.removeprefix("/api").lstrip("/"),
            dict(pairs),
            body,
            actor=actor.strip()[:MAX_ACTOR] or "api",
        )

    @staticmethod
    def _write(request: Any, response: ApiResponse) -> None:  # Twisted's Request is untyped
        request.setResponseCode(response.status)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        if response.status == 401:
            request.setHeader(b"www-authenticate", b"Bearer")
        payload = (
            json.dumps(response.body, default=str).encode() if response.body is not None else b""
        )
        request.setHeader(b"content-length", str(len(payload)).encode())
        request.write(payload)
        request.finish()


class ApiServer:
    """Serves `manager` on a loopback port; `start` returns the port."""

    def __init__(
        self, manager: Manager, credentials: ServerCredentials, history: History | None = None
    ) -> None:
        self.manager = manager
        self.credentials = credentials
        self._port: Any = None
        document = openapi_document()
        self.api = Api(manager, lambda: document, history)

    def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:`port` (0: any free one); returns the port."""
        return self.manager.reactor_thread.call_and_wait(lambda: self._listen(port))

    def _listen(self, port: int) -> int:
        reactor = self.manager.reactor_thread.reactor
        options = ssl.CertificateOptions(
            # pyOpenSSL 26 takes cryptography objects (see agentlink/daemon/pki.py).
            privateKey=load_private_key(self.credentials.key_pem),  # type: ignore[arg-type]
            certificate=load_certificate(self.credentials.cert_pem),  # type: ignore[arg-type]
            raiseMinimumTo=ssl.TLSVersion.TLSv1_3,
        )
        options.getContext()  # a bad key fails here, not in the first handshake
        root = _ApiRoot(self.api, self.credentials, reactor.callFromThread)
        site = server.Site(root)  # type: ignore[no-untyped-call]
        site.displayTracebacks = False
        self._port = reactor.listenSSL(port, site, options, interface=LOOPBACK)
        return int(self._port.getHost().port)

    def stop(self) -> None:
        def close() -> Any:
            port, self._port = self._port, None
            return port.stopListening() if port is not None else None

        self.manager.reactor_thread.call_and_wait(close)
