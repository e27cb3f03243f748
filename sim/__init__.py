"""lhsim: an agent-based model of how quality-of-care practices are learned and lost."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lhsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
