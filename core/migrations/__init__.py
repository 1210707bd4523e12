"""Alembic migrations of Chroma Desktop's schema, shipped inside the package and run at start.

Layer: core. Thread: the thread that opens the database. Each revision in versions/ has a test.
"""
