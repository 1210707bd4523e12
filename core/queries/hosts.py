"""The servers the screens and the API list.

Layer: core. Thread: whichever thread holds the session (the database worker, or the API's).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Host


def live_hosts(session: Session) -> Sequence[Host]:
    """Every server not removed, by address."""
    return session.scalars(
        select(Host).where(Host.deleted_at.is_(None)).order_by(Host.address)
    ).all()
