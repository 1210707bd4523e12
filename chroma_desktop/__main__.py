"""`python -m chroma_desktop`: the same program as `chroma-desktop`.

Layer: chroma_desktop. Thread: the main thread.
"""

from chroma_desktop.app import main

raise SystemExit(main())
