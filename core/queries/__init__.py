"""Read models for the window, the CLI and the API: functions that take a session and return
frozen records (never ORM rows), one module per area.

Layer: core. Thread: the caller's session's (the database worker in the desktop).
"""
