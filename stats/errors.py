"""Errors the stats store can show an administrator, each saying what to do about it.

Layer: stats (built on core.errors). Thread: any.
"""

from __future__ import annotations

from core.errors import ChromaError


class StatsError(ChromaError):
    """Base of the stats store's errors."""


class StatsDiskFullError(StatsError):
    """A write found no space; the store keeps what it had and the failed data stays queued."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        super().__init__(
            f"The statistics store at {path} ran out of disk space while {what}.",
            hint=(
                "Nothing stored so far is damaged. Free space on that filesystem or lower the "
                "statistics size budget in the settings; new samples are refused until then."
            ),
        )


class StatsCorruptError(StatsError):
    """A stored file does not decode: it was changed outside Chroma Desktop or the disk failed."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The statistics store holds damaged data: {detail}.",
            hint="Restore the statistics folder from a backup, or delete it to start afresh.",
        )


class StatsVersionError(StatsError):
    """The store was laid out by another version of Chroma Desktop."""

    def __init__(self, path: str, found: int, reads: int) -> None:
        self.path = path
        newer = found > reads
        super().__init__(
            f"The statistics store at {path} was written by "
            f"{'a newer' if newer else 'an older'} Chroma Desktop "
            f"(layout {found}; this one reads layout {reads}).",
            hint=(
                "Upgrade Chroma Desktop to read it."
                if newer
                else "Open it with the version that made it to export what you need, "
                "or move the folder aside and Chroma Desktop starts a new one."
            ),
        )


class StatsLockedError(StatsError):
    """Another process has the store open."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"The statistics store at {path} is in use by another Chroma Desktop process.",
            hint="Close the other instance (or its --headless service) and try again.",
        )


class StatsInputError(StatsError):
    """A caller passed malformed arguments (shapes, unknown series); a programming error to fix."""


class StatsReadOnlyError(StatsError):
    """A store opened read-only (an offline archive) was asked to change."""

    def __init__(self, path: str, doing: str) -> None:
        self.path = path
        super().__init__(
            f"The statistics store at {path} is open read-only, so it cannot {doing}.",
            hint="It is an offline archive: open the live site to record new statistics.",
        )
