"""Typed errors that a person can meet, each carrying a message they can act on.

Layer: core. Thread: any. The GUI and the CLI show `str(error)` of a `ChromaError` as it is and
never a traceback; anything else escaping is a bug.
"""

from __future__ import annotations


class ChromaError(Exception):
    """Base of every error meant for an administrator's eyes."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} {hint}")


class ValidationError(ChromaError):
    """A value breaks a rule; `field` names the input and `rule` states what is allowed."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field} {value!r} is not valid: {rule}.")


class ConflictError(ChromaError):
    """The request is valid on its own but clashes with what already exists."""


class NotFoundError(ChromaError):
    """The request names an object that does not exist (or was removed)."""


class InvalidTransitionError(ChromaError):
    """An object was asked to reach a state that no sequence of jobs leads to."""


class DatabaseError(ChromaError):
    """The database cannot be opened or upgraded; nothing in it has been changed."""


class DatabaseTooNewError(DatabaseError):
    """The database was written by a newer Chroma Desktop than this one."""


class DatabaseCorruptError(DatabaseError):
    """The database file is not a readable SQLite database."""


class DatabaseUnreadableError(DatabaseError):
    """The database file exists but this user may not read or write it."""


class NotAChromaDatabaseError(DatabaseError):
    """The database holds tables, but not Chroma Desktop's."""


class SecretStoreUnavailableError(ChromaError):
    """No usable keyring exists to keep credentials and keys in."""


class ReadOnlyDatabaseError(DatabaseError):
    """A database opened read-only (an offline archive's) was asked to change."""
