"""Chroma Desktop's domain: models, state machines, validation and ports; no Qt, no Twisted.

Layer: core (the bottom layer; imports nothing of the other packages). Thread: any; database
work is done through `core.dbworker` off the GUI thread.
"""
