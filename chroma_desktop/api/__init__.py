"""The local REST API: the running manager (the window's or `chroma-desktop --headless`) served
over HTTPS on loopback, for the `chroma` CLI and scripts.

Layer: chroma_desktop (imports no Qt: an import-linter contract says so). Threads: the HTTP
server runs on the reactor thread (server.py); every request's work runs on the manager's
"chroma-db" worker; the client (client.py) runs on its caller's thread. See handlers.py for the
resources, openapi.py for the document served at /api/openapi.json.
"""
