"""Servers and their networking: server profiles, hosts, interfaces, LNet and NIDs.

Layer: core. Thread: the database worker's.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, SoftDeleted, Stateful, enum_column, unique_where
from core.states import HostState, LNetState

if TYPE_CHECKING:
    from core.models.lustre import ClientMount, TargetMount
    from core.models.power import PowerOutlet
    from core.models.storage import VolumeNode


class ServerProfile(Base):
    """What a server is for (managed storage server, monitor-only, client) and what setup does."""

    __tablename__ = "server_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    ui_name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(1024), default="")
    managed: Mapped[bool] = mapped_column(default=True)
    """Chroma Desktop formats, starts and stops targets on such servers."""
    worker: Mapped[bool] = mapped_column(default=False)
    """A client or HSM worker node rather than a storage server."""
    default: Mapped[bool] = mapped_column(default=False)
    packages: Mapped[list[str]] = mapped_column(JSON, default=list)

    hosts: Mapped[list[Host]] = relationship(back_populates="profile")


class Host(SoftDeleted, Stateful, Base):
    """A Lustre server running our agent (or a client node)."""

    __tablename__ = "hosts"
    __table_args__ = (
        unique_where("uq_hosts_address_live", "address"),
        unique_where("uq_hosts_fqdn_live", "fqdn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(255))
    """How we reach the agent: host name or IP, with an optional :port."""
    fqdn: Mapped[str | None] = mapped_column(String(255))
    """Reported by the agent when it pairs."""
    nodename: Mapped[str | None] = mapped_column(String(255))
    """`uname -n`, as HA software prints it."""
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("server_profiles.id"))
    state: Mapped[HostState] = enum_column(HostState, default=HostState.UNCONFIGURED)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    """The paired agent's identity (the CN of its certificate)."""
    cert_fingerprint: Mapped[str | None] = mapped_column(String(95))
    """SHA-256 of the agent's certificate, pinned at pairing."""
    agent_version: Mapped[str | None] = mapped_column(String(64))
    records_delivered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The number of the newest record of the agent's journal taken in (stats and syslog): a
    restarted desktop fetches what came after it, never the same lines twice."""
    boot_time: Mapped[datetime | None]
    last_contact: Mapped[datetime | None]

    profile: Mapped[ServerProfile | None] = relationship(back_populates="hosts")
    interfaces: Mapped[list[NetworkInterface]] = relationship(
        back_populates="host", cascade="all, delete-orphan"
    )
    lnet: Mapped[LNetConfiguration | None] = relationship(
        back_populates="host", cascade="all, delete-orphan"
    )
    volume_nodes: Mapped[list[VolumeNode]] = relationship(back_populates="host")
    target_mounts: Mapped[list[TargetMount]] = relationship(back_populates="host")
    client_mounts: Mapped[list[ClientMount]] = relationship(back_populates="host")
    outlets: Mapped[list[PowerOutlet]] = relationship(back_populates="host")

    @property
    def label(self) -> str:
        name = self.fqdn or self.address
        return name.removesuffix(".localdomain")


class NetworkInterface(Base):
    """A network interface of a host as its agent reported it."""

    __tablename__ = "network_interfaces"
    __table_args__ = (UniqueConstraint("host_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"))
    name: Mapped[str] = mapped_column(String(64))
    mac_address: Mapped[str | None] = mapped_column(String(64))
    inet4_address: Mapped[str | None] = mapped_column(String(64))
    inet6_address: Mapped[str | None] = mapped_column(String(64))
    network_type: Mapped[str] = mapped_column(String(16), default="tcp")
    """The LNet network type this interface carries: tcp or o2ib."""
    is_up: Mapped[bool] = mapped_column(default=False)

    host: Mapped[Host] = relationship(back_populates="interfaces")
    nids: Mapped[list[Nid]] = relationship(back_populates="interface")


class LNetConfiguration(Base):
    """A host's LNet: its own state machine, separate from the host's lifecycle."""

    __tablename__ = "lnet_configurations"

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"), unique=True)
    state: Mapped[LNetState] = enum_column(LNetState, default=LNetState.UNKNOWN)
    state_modified_at: Mapped[datetime | None]
    networks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Module options as configured, e.g. {"networks": "tcp0(eth0)"}."""

    host: Mapped[Host] = relationship(back_populates="lnet")
    nids: Mapped[list[Nid]] = relationship(
        back_populates="lnet_configuration", cascade="all, delete-orphan"
    )

    @property
    def nids_known(self) -> bool:
        return bool(self.nids)


class Nid(Base):
    """One LNet network identifier of a host, stored normalised (`10.0.0.1@tcp0`)."""

    __tablename__ = "nids"
    __table_args__ = (UniqueConstraint("lnet_configuration_id", "nid_string"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lnet_configuration_id: Mapped[int] = mapped_column(ForeignKey("lnet_configurations.id"))
    interface_id: Mapped[int | None] = mapped_column(ForeignKey("network_interfaces.id"))
    nid_string: Mapped[str] = mapped_column(String(128))

    lnet_configuration: Mapped[LNetConfiguration] = relationship(back_populates="nids")
    interface: Mapped[NetworkInterface | None] = relationship(back_populates="nids")
