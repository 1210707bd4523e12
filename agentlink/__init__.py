"""The link between the desktop and the agents on storage servers: wire, TLS, discovery, gateway.

Layer: agentlink (above core; Twisted lives here). Thread: the reactor thread, except where a
module says otherwise. `agentlink.daemon` is the agent itself and imports nothing of core.
"""
