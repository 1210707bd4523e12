"""Help → About Chroma Desktop: the version (the one of pyproject.toml, as `--version` and the
agent link's hello report it), what it runs on, and where this installation keeps its data.

Layer: chroma_desktop. Thread: the GUI thread. "Copy details" puts the same facts on the
clipboard as plain text, for a bug report.
"""

from __future__ import annotations

import html
import platform
import sys

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agentlink.protocol import SUPPORTED_VERSIONS
from chroma_desktop.qtapp import app_icon
from core.paths import app_paths
from core.version import installed_version

ICON_SIZE = 64


def about_details() -> list[tuple[str, str]]:
    """What the About box lists, in order: label and value."""
    paths = app_paths()
    frozen = getattr(sys, "frozen", False)
    return [
        ("Version", installed_version()),
        ("Installed as", "a bundle" if frozen else f"a Python package ({sys.prefix})"),
        ("Agent protocol", ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("Data", str(paths.data_dir)),
        ("Settings", str(paths.config_dir)),
        ("Logs", str(paths.log_dir)),
    ]


def details_text() -> str:
    return "\n".join(f"{label}: {value}" for label, value in about_details())


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Chroma Desktop")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(ICON_SIZE, ICON_SIZE))
        title = QLabel(f"<h2>Chroma Desktop {installed_version()}</h2>")
        blurb = QLabel("Set up, run and watch Lustre filesystems from your workstation.")
        header = QHBoxLayout()
        header.addWidget(logo)
        heading = QVBoxLayout()
        heading.addWidget(title)
        heading.addWidget(blurb)
        header.addLayout(heading, 1)
        self.details = QLabel(
            "<table>"
            + "".join(
                f"<tr><td><b>{label}</b>&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>"
                for label, value in about_details()
            )
            + "</table>"
        )
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy details")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.details)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(details_text())
