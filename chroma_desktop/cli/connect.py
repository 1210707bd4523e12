"""How `chroma` reaches a manager: the running one of this CHROMA_HOME (the window's or
`chroma-desktop --headless`), found through the data directory; when none runs, one started in
this process for the duration of the command and stopped after it.

Layer: chroma_desktop.cli (no Qt). Thread: the main thread. The token comes from the keyring and
the certificate's fingerprint from the config directory (see chroma_desktop/api/credentials.py);
the discovery file only says which port to try.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from chroma_desktop.api.client import ApiClient
from chroma_desktop.api.credentials import load_client_credentials
from chroma_desktop.api.discovery import find_running_manager
from core.paths import app_paths

LINK_WAIT_S = 15.0
"""How long a manager started for one command waits for its links before it acts."""


@contextmanager
def connect(*, quiet: bool = False, needs_links: bool = False) -> Iterator[ApiClient]:
    """A client of the running manager, or of one started here until the block ends (which,
    with `needs_links`, first waits up to LINK_WAIT_S for its links to the paired servers)."""
    from agentlink.secrets import KeyringSecretStore

    paths = app_paths()
    secrets = KeyringSecretStore()
    running = find_running_manager(paths.data_dir)
    if running is not None:
        credentials = load_client_credentials(secrets, paths.config_dir)
        yield ApiClient(running.port, credentials.token, credentials.fingerprint, actor=_actor())
        return
    from chroma_desktop.api.service import LocalManager  # the whole manager loads only here

    if not quiet:
        print(
            "chroma: no Chroma Desktop is running here; running one for this command.",
            file=sys.stderr,
        )
    local = LocalManager.open(headless=False, secrets=secrets)
    try:
        down = local.manager.wait_for_links(LINK_WAIT_S) if needs_links else ()
        if down:
            print(f"chroma: no link yet to {', '.join(down)}.", file=sys.stderr)
        credentials = load_client_credentials(secrets, paths.config_dir)
        running = local.api.running
        assert running is not None
        yield ApiClient(running.port, credentials.token, credentials.fingerprint, actor=_actor())
    finally:
        local.close()


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "chroma"
