"""The installed version of Chroma Desktop, read from the package metadata (pyproject.toml).

Layer: core. Thread: any.
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "chroma-desktop"


def installed_version() -> str:
    """The installed distribution's version, or '0+unknown' when run from a bare tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
