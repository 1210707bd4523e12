"""Simulated Lustre servers speaking the real agent protocol, for `make demo` and the tests.

Layer: agentlink. Thread: the reactor thread. Built with the agent-link issue.
"""
