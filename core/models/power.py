"""Power control: PDUs and BMCs, their outlets, and which server each outlet feeds.

Layer: core. Thread: the database worker's. Passwords are never stored here: a device names the
secret-store key that holds its credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, SoftDeleted, enum_column, utcnow
from core.states import OutletState

if TYPE_CHECKING:
    from core.models.hosts import Host


class PowerControlType(Base):
    """A make and model of PDU or BMC and the fence agent that drives it."""

    __tablename__ = "power_control_types"
    __table_args__ = (UniqueConstraint("agent", "make", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    """The fence agent program, e.g. fence_ipmilan or fence_apc."""
    make: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    max_outlets: Mapped[int] = mapped_column(default=0)
    """0 for a BMC (one implicit outlet)."""
    default_port: Mapped[int] = mapped_column(default=23)
    default_username: Mapped[str] = mapped_column(String(64), default="")

    devices: Mapped[list[PowerControlDevice]] = relationship(back_populates="device_type")


class PowerControlDevice(SoftDeleted, Base):
    """One PDU or BMC on the network."""

    __tablename__ = "power_control_devices"
    __table_args__ = (UniqueConstraint("address", "port"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("power_control_types.id"))
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    username: Mapped[str] = mapped_column(String(64), default="")
    secret_key: Mapped[str | None] = mapped_column(String(255))
    """Key of the password in the secret store (the OS keyring)."""

    device_type: Mapped[PowerControlType] = relationship(back_populates="devices")
    outlets: Mapped[list[PowerOutlet]] = relationship(back_populates="device")


class PowerOutlet(Base):
    """An outlet of a device and the server it powers, if any."""

    __tablename__ = "power_outlets"
    __table_args__ = (UniqueConstraint("device_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("power_control_devices.id"))
    identifier: Mapped[str] = mapped_column(String(64))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))
    state: Mapped[OutletState] = enum_column(OutletState, default=OutletState.UNKNOWN)
    state_modified_at: Mapped[datetime] = mapped_column(default=utcnow)

    device: Mapped[PowerControlDevice] = relationship(back_populates="outlets")
    host: Mapped[Host | None] = relationship(back_populates="outlets")
