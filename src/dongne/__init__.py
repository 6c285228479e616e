"""dongne (동네): data-driven city policy from any city's area boundaries and tables."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dongne")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+unknown"

__all__ = ["__version__"]
