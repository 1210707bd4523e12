"""The API's client, as the `chroma` CLI uses it: HTTPS to loopback, the server's certificate
pinned by its fingerprint, the bearer token sent with every request, JSON in and out.

Layer: chroma_desktop.api (no Qt, no Twisted: the standard library's http.client). Thread: the
caller's (blocking calls, each with a timeout). A refusal by the API becomes an `ApiRefused`
carrying the status and the server's message; a manager that cannot be reached becomes an
`ApiUnreachable` saying so. Neither is ever shown as a traceback.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from typing import Any
from urllib.parse import urlencode

from core.errors import ChromaError

TIMEOUT_S = 120.0


class ApiUnreachable(ChromaError):
    """The manager's API did not answer."""


class ApiRefused(ChromaError):
    """The API answered with an error: `status` and its body (`field`, `rule`, ...)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        message = str(body.get("error") or f"The API answered {status}.")
        super().__init__(message, hint=body.get("hint"))


class ApiClient:
    def __init__(
        self,
        port: int,
        token: str,
        fingerprint: str,
        *,
        host: str = "127.0.0.1",
        actor: str = "chroma",
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.host, self.port = host, port
        self.token = token
        self.fingerprint = fingerprint
        self.actor = actor
        self.timeout_s = timeout_s
        # The certificate is self-signed and pinned: checked below by its exact fingerprint,
        # which is stronger than a chain to a CA this client would otherwise have to trust.
        self._context = ssl.create_default_context()
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2

    def get(self, path: str, **query: object) -> Any:
        return self.request("GET", path, query=query)

    def put(self, path: str, body: object) -> Any:
        return self.request("PUT", path, body=body)

    def post(self, path: str, body: object) -> Any:
        return self.request("POST", path, body=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, object] | None = None,
        body: object = None,
    ) -> Any:
        """The decoded JSON body of a 2xx answer; ApiRefused for any other."""
        status, answer = self.exchange(method, path, query=query, body=body)
        if status >= 400:
            raise ApiRefused(status, answer if isinstance(answer, dict) else {})
        return answer

    def exchange(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, object] | None = None,
        body: object = None,
    ) -> tuple[int, Any]:
        """The status and decoded body of any answer (for tests of refusals, too)."""
        target = "/api/" + path.lstrip("/")
        wanted = {k: _query_text(v) for k, v in (query or {}).items() if v is not None}
        if wanted:
            target += "?" + urlencode(wanted)
        payload = None if body is None else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "X-Chroma-Actor": self.actor,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPSConnection(
            self.host, self.port, timeout=self.timeout_s, context=self._context
        )
        try:
            connection.connect()
            self._check_pin(connection)
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise ApiUnreachable(
                f"Chroma Desktop's API at {self.host}:{self.port} did not answer ({error}).",
                hint="Is Chroma Desktop (or `chroma-desktop --headless`) still running?",
            ) from error
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError as error:
            raise ApiUnreachable(
                f"The API answered {response.status} with something other than JSON."
            ) from error

    def _check_pin(self, connection: http.client.HTTPSConnection) -> None:
        sock = connection.sock
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        seen = "sha256:" + hashlib.sha256(der).hexdigest() if der else None
        if seen != self.fingerprint:
            raise ApiUnreachable(
                f"The server at {self.host}:{self.port} is not this Chroma Desktop: its "
                f"certificate is {seen}, not {self.fingerprint}.",
                hint="Another program may have taken the port; restart Chroma Desktop.",
            )


def _query_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
