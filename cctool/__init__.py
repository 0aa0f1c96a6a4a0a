"""cctool: a command-line operations toolkit for small call-center teams, on one SQLite file."""

from . import native

__version__ = "0.1.0"

native.guard()  # the compiled dialer core, or its sources when the build is stale (cctool/native.py)
