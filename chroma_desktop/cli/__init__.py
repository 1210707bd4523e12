"""The `chroma` command line: a face of the same manager as the window, without Qt.

Layer: chroma_desktop (Qt-free by contract). Thread: the main thread.
"""
