"""The code location (every domain's definitions in one place) and the `narr-platform` command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("narr-platform")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"
