"""The ``lhsim`` command line: thin commands over the library."""

from sim.cli.main import main

__all__ = ["main"]
