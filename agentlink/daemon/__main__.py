"""`python -m agentlink.daemon`, the same as `chroma-agent`.

Layer: agentlink.daemon. Thread: the main thread.
"""

import sys

from agentlink.daemon.cli import main

if __name__ == "__main__":
    sys.exit(main())
