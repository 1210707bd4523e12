"""The agent that runs on storage servers (`chroma-agent`): actions, device and Lustre reports.

Layer: agentlink.daemon. It imports nothing of core, SQLAlchemy or Qt, so that it installs on a
server with only Twisted and its own dependencies. Thread: the agent's reactor thread.
"""

DEFAULT_PORT = 7450
"""The agent's TCP port unless told otherwise (`chroma-agent serve --port`, `host:port`)."""
