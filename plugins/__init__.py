"""Storage plugins: turn agents' device and network reports into resources, volumes with their
HA pairs, and NIDs; the plugin API third parties build on.

Layer: plugins (above core; no Qt, no Twisted, no agentlink). Thread: the database worker's.
The manager calls `plugins.runner.apply_agent_report` once per agent push; `plugins.api` is what
a plugin imports; `plugins.registry` finds them through the entry-point group
`chroma.storage_plugins`.
"""
