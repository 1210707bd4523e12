"""Schema revisions, oldest first; see core.migrations."""
