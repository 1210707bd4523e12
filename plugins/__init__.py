"""Storage plugins: turn agents' device reports into volumes and HA pairs; the plugin API.

Layer: plugins (above core; no Qt, no Twisted). Thread: the database worker's. Built with the
plugins issue.
"""
