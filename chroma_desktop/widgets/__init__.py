"""Widgets shared by several screens.

Layer: chroma_desktop. Thread: the GUI thread.
"""
