"""Offline archives: a site's history of a time range exported to one file and opened read-only
elsewhere; what comes back, what is refused, and how a damaged file is reported."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.database import Database
from core.errors import ReadOnlyDatabaseError
from core.models import AuditRecord, Command, Event, Host, Job, Step
from core.queries.commands import command_detail, job_steps, list_commands
from core.queries.events import list_events
from core.states import RunState
from stats.archive import (
    MANIFEST,
    MODEL,
    ArchiveError,
    DirectStores,
    OpenedArchive,
    export_archive,
    open_archive,
    read_manifest,
)
from stats.errors import StatsReadOnlyError
from stats.logs import LogStore, LogStoreError
from stats.store import DAY, SeriesKind, StatsStore, StoreConfig
from tests.core.cluster import build_small_filesystem

T0 = 1_700_006_400  # midnight UTC, in the past of any test run
START = T0 + DAY
END = T0 + 2 * DAY
NOW = float(T0 + 3 * DAY)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class LiveSite:
    database: Database
    stats: StatsStore
    logs: LogStore
    gauge: int
    counter: int


@pytest.fixture
def live(database: Database, tmp_path: Path) -> Iterator[LiveSite]:
    """A site with three days of history: a filesystem, a command each day with its output,
    events and audit records each day, two series sampled every minute, log lines each hour."""
    with database.session(actor="alice") as session:
        build_small_filesystem(session)
        gone = session.scalars(select(Host).where(Host.address == "oss2.lab")).one()
        gone.deleted_at = at(T0 + 10)
        for day in range(3):
            noon = T0 + day * DAY + DAY // 2
            job = Job(kind="StartTargetJob", description=f"Start fs1-OST000{day}")
            job.steps.append(
                Step(
                    index=0,
                    description="mount",
                    state=RunState.SUCCEEDED,
                    stdout=f"mounted on day {day}\n",
                    stderr="",
                )
            )
            session.add(
                Command(
                    message=f"Start fs1 (day {day})",
                    actor="alice",
                    state=RunState.SUCCEEDED,
                    created_at=at(noon),
                    finished_at=at(noon + 60),
                    jobs=[job],
                )
            )
            session.add(Event(created_at=at(noon), kind="job", message=f"day {day} happened"))
            session.add(
                AuditRecord(
                    at=at(noon), actor="alice", action="update", object_kind="host", object_id=1
                )
            )
    stats = StatsStore.open(tmp_path / "live-stats", StoreConfig(clock=lambda: NOW))
    gauge = stats.series_id("fs1-OST0000", "kbytesfree")
    counter = stats.series_id("fs1-OST0000", "write_bytes", SeriesKind.COUNTER)
    ts = T0 + 60 * np.arange(1, 3 * DAY // 60 + 1)
    values = np.column_stack([1e6 + 1000 * np.sin(ts / 5000.0), 4096.0 * (ts - T0)])
    stats.ingest_block(ts, [gauge, counter], values)
    logs = LogStore(tmp_path / "live-logs" / "logs.sqlite", block_lines=16)
    for hour in range(72):
        t = T0 + hour * 3600 + 30
        logs.append(
            "oss1",
            [
                {
                    "t": t,
                    "severity": "err" if hour % 2 else "info",
                    "facility": "kern",
                    "source": "kernel",
                    "message": f"Lustre: fs1-OST0000: hour {hour} of the test",
                }
            ],
        )
    yield LiveSite(database, stats, logs, gauge, counter)
    stats.close()
    logs.close()


def export(live: LiveSite, path: Path) -> None:
    export_archive(
        path,
        live.database,
        at(START),
        at(END),
        stores=DirectStores(live.stats, live.logs),
        source="test site",
    )


@pytest.fixture
def archive_file(live: LiveSite, tmp_path: Path) -> Path:
    path = tmp_path / "site.chroma-archive"
    export(live, path)
    return path


@pytest.fixture
def opened(archive_file: Path) -> Iterator[OpenedArchive]:
    with open_archive(archive_file) as archive:
        yield archive


def test_the_history_of_the_range_comes_back_and_nothing_outside_it(
    live: LiveSite, opened: OpenedArchive
) -> None:
    assert opened.manifest.source == "test site"
    assert opened.describe().startswith(f"Offline archive {opened.name}, 2023-11-16 00:00 UTC")
    assert opened.manifest.counts["commands"] == 1
    with opened.database.session() as session:
        # the model as it was, soft-deleted rows too
        hosts = {h.address: h.deleted_at for h in session.scalars(select(Host))}
        assert set(hosts) == {"mds1.lab", "mds2.lab", "oss1.lab", "oss2.lab"}
        assert hosts["oss2.lab"] == at(T0 + 10)
        rows = list_commands(session, at(NOW)).commands
        assert [row.message for row in rows] == ["Start fs1 (day 1)"]
        detail = command_detail(session, rows[0].id, at(NOW))
        assert detail is not None
        outputs = [step.stdout for job in detail.jobs for step in job_steps(session, job.id)]
        assert outputs == ["mounted on day 1\n"]
        assert [e.message for e in list_events(session).events] == ["day 1 happened"]
        audit_times = [r.at for r in session.scalars(select(AuditRecord))]
        assert audit_times == [at(START + DAY // 2)]

    stats = opened.open_stats()
    try:
        keys = {(s.object, s.metric, s.kind) for s in stats.series_list()}
        assert keys == {
            ("fs1-OST0000", "kbytesfree", SeriesKind.GAUGE),
            ("fs1-OST0000", "write_bytes", SeriesKind.COUNTER),
        }
        gauge = stats.series_id("fs1-OST0000", "kbytesfree")
        counter = stats.series_id("fs1-OST0000", "write_bytes")
        for bucket in (60, 300, 3600):  # raw, 1-min rows, then rollups of them
            mine = stats.fetch(gauge, START, END, bucket)
            theirs = live.stats.fetch(live.gauge, START, END, bucket)
            np.testing.assert_array_equal(mine.avg, theirs.avg)
            np.testing.assert_array_equal(mine.max, theirs.max)
        rates = stats.fetch(counter, START, END, 600)
        assert np.allclose(rates.avg[1:], 4096.0 / 1.0 * 1.0)
        wider = stats.fetch(gauge, START - DAY, END + DAY, 3600)
        inside = (wider.ts > START) & (wider.ts <= END)
        assert np.isfinite(wider.avg[inside]).all()
        assert np.isnan(wider.avg[~inside]).all()  # the range is honoured
        assert stats.latest([gauge])[0][0] == END
    finally:
        stats.close()

    logs = opened.open_logs()
    try:
        found = logs.search("lustre hour", limit=1000)
        expected = live.logs.search("lustre hour", since=START, until=END, limit=1000)
        assert [line.message for line in found] == [line.message for line in expected]
        assert len(found) == 24
        assert logs.count("", severities=["err"]) == 12
        assert logs.hosts() == ("oss1",)
    finally:
        logs.close()


def test_nothing_in_an_opened_archive_can_be_changed_and_the_file_stays_as_it_was(
    archive_file: Path,
) -> None:
    before = hashlib.sha256(archive_file.read_bytes()).hexdigest()
    with open_archive(archive_file) as opened:
        with pytest.raises(ReadOnlyDatabaseError, match="read-only"):  # noqa: SIM117
            with opened.database.session() as session:
                session.add(Event(kind="job", message="tampering"))
        with opened.database.session() as session:
            assert session.scalar(select(Event).where(Event.message == "tampering")) is None
        stats = opened.open_stats()
        with pytest.raises(StatsReadOnlyError, match="read-only"):
            stats.ingest(END, [1], [1.0])
        with pytest.raises(StatsReadOnlyError):
            stats.series_id("new", "metric")
        stats.close()
        logs = opened.open_logs()
        with pytest.raises(LogStoreError, match="read-only"):
            logs.append("oss1", [{"t": END, "severity": "info", "facility": "kern",
                                  "source": "k", "message": "x"}])  # fmt: skip
        logs.close()
        extracted = opened.directory
        assert extracted.is_dir()
    assert not extracted.exists()  # the private copy is removed on close
    assert hashlib.sha256(archive_file.read_bytes()).hexdigest() == before


def test_export_leaves_the_live_stores_working(live: LiveSite, tmp_path: Path) -> None:
    before = live.stats.fetch(live.gauge, T0, END + DAY, 3600)
    export(live, tmp_path / "a.chroma-archive")
    after = live.stats.fetch(live.gauge, T0, END + DAY, 3600)
    np.testing.assert_array_equal(before.avg, after.avg)
    assert live.stats.ingest(NOW + 60, [live.gauge], [5.0]).accepted == 1
    assert live.logs.append("oss1", [{"t": NOW, "severity": "info", "facility": "kern",
                                      "source": "k", "message": "after"}]) == 73  # fmt: skip


# --- damaged files ------------------------------------------------------------------------------


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:") as tar:
        return tar.getmembers()


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 1.0])
def test_a_truncated_archive_names_the_member_cut_short(archive_file: Path, keep: float) -> None:
    last = members(archive_file)[-1]
    data = archive_file.read_bytes()
    # 1.0: all but the last byte of the last member (the tar padding after it holds no data)
    archive_file.write_bytes(data[: int((last.offset_data + last.size - 1) * keep)])
    with pytest.raises(ArchiveError) as caught:
        open_archive(archive_file)
    assert caught.value.member is not None
    assert str(archive_file) in str(caught.value)
    assert caught.value.member in str(caught.value)
    assert "truncated" in str(caught.value) or "not a tar file" in str(caught.value)


@pytest.mark.parametrize("prefix", [MODEL, "logs/", "stats/seg/", "stats/catalogue"])
def test_a_flipped_byte_in_a_member_is_found_by_its_checksum(
    archive_file: Path, prefix: str
) -> None:
    member = next(m for m in members(archive_file) if m.name.startswith(prefix))
    data = bytearray(archive_file.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0x10
    archive_file.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="checksum does not match") as caught:
        open_archive(archive_file)
    assert caught.value.member == member.name
    assert member.name in str(caught.value)


def rewrite(path: Path, *, manifest: bytes | None = None, skip_manifest: bool = False) -> None:
    """The archive again with its manifest replaced or left out."""
    with tarfile.open(path, "r:") as tar:
        entries = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in entries:
            if member.name == MANIFEST:
                if skip_manifest:
                    continue
                data = manifest if manifest is not None else data
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_an_archive_without_its_manifest_is_refused(archive_file: Path) -> None:
    rewrite(archive_file, skip_manifest=True)
    with pytest.raises(ArchiveError, match="does not start with one") as caught:
        open_archive(archive_file)
    assert caught.value.member == MANIFEST


def test_an_archive_of_a_future_format_asks_for_an_upgrade(archive_file: Path) -> None:
    with tarfile.open(archive_file, "r:") as tar:
        document = json.load(tar.extractfile(MANIFEST))  # type: ignore[arg-type]
    document["format_version"] = 2
    rewrite(archive_file, manifest=json.dumps(document).encode())
    with pytest.raises(ArchiveError, match=r"newer Chroma Desktop.*upgrade Chroma Desktop"):
        open_archive(archive_file)


@pytest.mark.parametrize(
    "content", [b"", b"hello, not an archive\n" * 100, b"\x1f\x8b\x08\x00" + bytes(600)]
)
def test_a_file_that_is_no_archive_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.chroma-archive"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match="not a Chroma Desktop archive"):
        open_archive(path)
    assert not list((tmp_path / "home" / "cache" / "archives").glob("*"))  # nothing left behind


def test_what_a_dead_process_left_extracted_is_removed_at_the_next_open(
    archive_file: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    child = subprocess.Popen(["true"])
    child.wait()
    left = cache / "archive-left"
    left.mkdir(parents=True)
    (left / ".owner-pid").write_text(str(child.pid))
    (left / MODEL).write_bytes(b"stale")
    with open_archive(archive_file, cache_dir=cache) as opened:
        assert not left.exists()
        assert opened.directory.parent == cache


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no such file"):
        open_archive(tmp_path / "gone.chroma-archive")


# --- the manifest reader ------------------------------------------------------------------------

VALID = {
    "format": "chroma-desktop-archive",
    "format_version": 1,
    "app_version": "0.1.0",
    "schema_revision": "0004",
    "created_at": "2026-01-01T00:00:00+00:00",
    "source": "site",
    "range": {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
    "stats_tiers": [
        {"name": "raw", "step": 0, "retention": 86400, "build_every": 3600, "stored": True}
    ],
    "counts": {"events": 1},
    "members": [
        {"name": name, "size": 1, "sha256": "0" * 64}
        for name in ("model.sqlite", "logs/logs.sqlite", "stats/catalogue.sqlite")
    ],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_the_manifest_reader_refuses_any_bytes_with_an_archive_error(data: bytes) -> None:
    with pytest.raises(ArchiveError):
        read_manifest(data)


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(VALID)),
    st.sampled_from(["replace", "delete"]),
    json_values,
)
def test_a_damaged_field_of_a_valid_manifest_is_an_archive_error(
    key: str, how: str, value: object
) -> None:
    document = json.loads(json.dumps(VALID))
    if how == "delete":
        del document[key]
    else:
        document[key] = value
    refused: ArchiveError | None = None
    try:
        manifest = read_manifest(json.dumps(document).encode())
    except ArchiveError as error:
        refused = error
    if refused is not None:
        assert refused.member == MANIFEST
    else:  # only a harmless value can pass, and it is read as given
        assert manifest.format_version == 1
        assert manifest.end - manifest.start == timedelta(days=1)


def test_a_valid_manifest_reads_back() -> None:
    manifest = read_manifest(json.dumps(VALID).encode())
    assert manifest.tiers[0].retention == 86400
    assert read_manifest(manifest.to_json()) == manifest
