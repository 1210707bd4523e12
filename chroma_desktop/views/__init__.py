"""One screen per module: <noun>.py holding <Noun>View(LiveView); `VIEW_CLASSES` is the
navigation's order.

Layer: chroma_desktop. Thread: the GUI thread.
"""

from __future__ import annotations

from chroma_desktop.views.base import LiveView
from chroma_desktop.views.servers import ServersView

VIEW_CLASSES: list[type[LiveView]] = [
    ServersView,
]
