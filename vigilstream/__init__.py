"""vigilstream: an event-driven streaming monitor for wearables (see README.md)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vigilstream")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
