"""The stats store: time series of Lustre and server metrics, rolled up and queried for charts.

Layer: stats (above core; no Qt, no Twisted). Thread: the database worker's. Built with the
history issue.
"""
