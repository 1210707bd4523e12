"""Chroma Desktop's application: the window, the manager that wires the layers, the CLI and API.

Layer: chroma_desktop (the top layer; the only one that imports Qt). Thread: the GUI thread,
except chroma_desktop.cli and chroma_desktop.api, which never load Qt.
"""
