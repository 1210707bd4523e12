"""One screen per module: <noun>.py holding <Noun>View(QWidget). Built with the desktop issue.

Layer: chroma_desktop. Thread: the GUI thread.
"""
