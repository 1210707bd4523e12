"""The desktop bundle's entry point: one frozen executable that is `chroma-desktop`, or the
`chroma` command line when started through the `chroma` link installed beside it.

Layer: packaging (PyInstaller freezes this script with the packages it imports). Thread: the
main thread.
"""

import sys
from pathlib import Path


def main() -> int:
    if Path(sys.argv[0]).name == "chroma":
        from chroma_desktop.cli.main import main as chroma

        return chroma()
    from chroma_desktop.app import main as chroma_desktop

    return chroma_desktop()


if __name__ == "__main__":
    raise SystemExit(main())
