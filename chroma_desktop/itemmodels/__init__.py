"""Qt item models over plain frozen records: tables never hold a widget per row.

Layer: chroma_desktop. Thread: the GUI thread.
"""
