"""What the log store holds and answers: stored lines, Lustre fields read from a
line, usage readouts, and the errors a person meets.

Layer: stats (no Qt, no Twisted). Thread: any (immutable values and pure functions).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from core.errors import ChromaError, ValidationError
from core.observations import SyslogSeverity


class MessageClass(enum.Enum):
    """How IML sorted lines for the Logs page ("Only Lustre messages")."""

    LUSTRE_ERROR = "LustreError"
    LUSTRE = "Lustre"
    NORMAL = "normal"


_TARGET = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z0-9_]{1,8}-(?:MDT|OST)[0-9a-fA-F]{4})(?![0-9a-fA-F])"
)
_NID = re.compile(
    r"(?<![\w.:])((?:\d{1,3}\.){3}\d{1,3}@(?:tcp|o2ib|gni|kfi|ptl|ptlf|ib|mxlnd)\d*|0@lo)(?!\w)"
)
_CLIENT_UUID = re.compile(
    r"(?:Client |[Cc]onnection (?:restored to|from) |evicting )"
    r"([0-9a-fA-F][0-9a-fA-F-]{7,35})(?=[\s@(])"
)
_EVICTED_NID = re.compile(r"evicting client at (\S+@\S+?)(?:\s|$)")
_ERROR_CODE = re.compile(r"\brc\s*(?:=|:)?\s*(-\d+)")
_MESSAGE_ID = re.compile(r"^LustreError: (\d+-\d+):")


@dataclass(frozen=True, slots=True)
class LustreFields:
    """Lustre fields read from one line; None (or empty) when the line does not name them."""

    message_class: MessageClass
    targets: tuple[str, ...]
    """Target names such as "scratch-OST0007", in order, without repeats."""
    nids: tuple[str, ...]
    """LNet NIDs such as "10.1.0.90@o2ib", in order, without repeats."""
    client: str | None
    """The client a connect, reconnect or eviction line is about: its UUID, else its NID."""
    error_code: int | None
    """The negative errno of an `rc = -N`, as Lustre prints failures."""
    message_id: str | None
    """The console message number of a `LustreError: 11-0:` line."""

    @property
    def target(self) -> str | None:
        return self.targets[0] if self.targets else None

    @property
    def nid(self) -> str | None:
        return self.nids[0] if self.nids else None


def parse_lustre(message: str) -> LustreFields:
    """The Lustre fields of one syslog message (target, NID, client, error code)."""
    if message.startswith("LustreError:"):
        message_class = MessageClass.LUSTRE_ERROR
    elif message.startswith("Lustre:"):
        message_class = MessageClass.LUSTRE
    else:
        message_class = MessageClass.NORMAL
    targets = tuple(dict.fromkeys(m.group(1) for m in _TARGET.finditer(message)))
    nids = tuple(dict.fromkeys(m.group(1) for m in _NID.finditer(message)))
    client_match = _CLIENT_UUID.search(message)
    client: str | None = client_match.group(1) if client_match else None
    if client is None:
        evicted = _EVICTED_NID.search(message)
        client = evicted.group(1) if evicted else None
    code = _ERROR_CODE.search(message)
    message_id = _MESSAGE_ID.search(message)
    return LustreFields(
        message_class=message_class,
        targets=targets,
        nids=nids,
        client=client,
        error_code=int(code.group(1)) if code else None,
        message_id=message_id.group(1) if message_id else None,
    )


@dataclass(frozen=True, slots=True)
class LogLine:
    """One stored syslog line. `seq` numbers lines in the order they were stored (1, 2, …) and
    is the live tail's cursor; `t` is the sender's time, kept to the microsecond."""

    seq: int
    t: float
    host: str
    severity: SyslogSeverity
    facility: str
    source: str
    message: str

    @property
    def lustre(self) -> LustreFields:
        return parse_lustre(self.message)


@dataclass(frozen=True, slots=True)
class TailPage:
    """Lines stored after a cursor, oldest first, and the cursor to ask with next time."""

    lines: tuple[LogLine, ...]
    cursor: int


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Keep lines at most `max_age_s` old and the store at most `max_bytes` on disk (either may
    be None: no limit)."""

    max_age_s: float | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_age_s is not None and not self.max_age_s > 0:
            raise ValidationError("log retention age", self.max_age_s, "give seconds above 0")
        if self.max_bytes is not None and self.max_bytes < MIN_RETENTION_BYTES:
            raise ValidationError(
                "log retention size",
                self.max_bytes,
                f"give at least {MIN_RETENTION_BYTES // 2**20} MiB",
            )


MIN_RETENTION_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class LogUsage:
    """The readout: what the store holds and what it takes on disk."""

    lines: int
    bytes_on_disk: int
    """The database file and its write-ahead log, as the filesystem counts them."""
    oldest_t: float | None
    newest_t: float | None
    policy: RetentionPolicy


@dataclass(frozen=True, slots=True)
class RetentionReport:
    removed_lines: int
    freed_bytes: int
    usage: LogUsage


class LogStoreError(ChromaError):
    """The log store cannot do what was asked; the message says what to do."""


class LogStoreFullError(LogStoreError):
    """The disk (or the configured size) is full: the lines of this call were not stored, and
    everything stored before is intact."""


class LogRecordError(ValidationError):
    """A record of a batch is malformed; none of the batch was stored."""

    def __init__(self, index: int, host: object, field: str, value: object, rule: str) -> None:
        self.index = index
        self.host = host
        super().__init__(f"log record {index} from host {host!r}: {field}", value, rule)
