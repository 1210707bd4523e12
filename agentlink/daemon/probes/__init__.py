"""What the real agent learns of its server, probe by probe: block devices, the Lustre targets,
their statistics, LNet and the host, read from a tree of /proc and /sys files (the live machine
or a copy of one) and, on a live machine, from a few commands.

Layer: agentlink.daemon (standard library only: the agent ships without core, SQLAlchemy or
Qt). Thread: whoever calls; every probe is synchronous and reads small files. `source` finds and
reads files, reporting each that is missing, binary or malformed as a `ProbeProblem` while the
rest is still read; `parsers` turns the text of each file format into plain data; `devices`,
`lustre` and `host` build the inventory, the audit and the statistics; `report` assembles the
whole report `chroma-agent collect` prints and `LocalHost` pushes.
"""
