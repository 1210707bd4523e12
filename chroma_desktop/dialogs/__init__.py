"""Dialogs of the window: each asks one thing of the admin and says what will happen.

Layer: chroma_desktop. Thread: the GUI thread.
"""
